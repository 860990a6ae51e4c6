"""The clerks' console in a real browser: Debian's chromium driven by Playwright, against the
real binary (VERIFY_IDENTITY_BIN) on a fresh SQLite store.

The service runs in open gRPC mode on loopback (no [[callers]]): the held cases are made with
`verify-identity verify`, as an integrator would make them. Clerks are added with
`verify-identity console-user add --password-stdin`. Screenshots of each page are written to
$CONSOLE_SCREENSHOTS (default target/console-screenshots).
"""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import http.server

import pytest
from playwright.sync_api import sync_playwright, expect

BIN = os.environ.get("VERIFY_IDENTITY_BIN", "target/debug/verify-identity")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = pathlib.Path(os.environ.get("CONSOLE_SCREENSHOTS", "target/console-screenshots"))
EXAMPLE = json.loads(pathlib.Path("examples/hold.json").read_text(encoding="utf-8"))
INSURER = "32130011"
OTHER_INSURER = "32130029"
# The insurer of the statistics test: its holds are made and closed by that test alone.
STATS_INSURER = "32130045"
PASSWORD = "correct horse battery staple"
# Every personal value of the requests: none may appear on any page.
PERSONAL = [
    "鈴木", "智子", "知子", "スズキ", "トモコ", "梅田", "大阪", "平成2年", "H2.4.10",
    "518302649170",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_user(config, name, role, insurer=INSURER):
    subprocess.run(
        [BIN, "console-user", "add", "--config", config, "--name", name,
         "--insurer", insurer, "--role", role, "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
    )


def verify(server, request, tmp):
    path = pathlib.Path(tmp) / (request["requestId"] + ".json")
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run(
        [BIN, "verify", "--server", server, str(path)], capture_output=True, text=True,
    )
    assert out.returncode in (0, 3), out.stderr
    return json.loads(out.stdout)["verificationId"]


def hold(request_id, subject, received_at, insurer=INSURER):
    r = json.loads(json.dumps(EXAMPLE))
    r["requestId"] = request_id
    r["subjectId"] = subject
    r["receivedAt"] = received_at
    r["insurerNumber"] = insurer
    return r


@pytest.fixture(scope="module")
def service():
    tmp = tempfile.mkdtemp(prefix="console-browser-")
    config = os.path.join(tmp, "settings.toml")
    add_user(config, "sato", "operator")
    add_user(config, "tanaka", "operator")
    add_user(config, "kansa", "auditor")
    add_user(config, "tokei", "auditor", STATS_INSURER)
    grpc_port, console_port = free_port(), free_port()
    proc = subprocess.Popen(
        [BIN, "serve", "--config", config, "--database", f"sqlite:{tmp}/audit.sqlite",
         "--listen", f"127.0.0.1:{grpc_port}", "--console-listen", f"127.0.0.1:{console_port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "serve.log"), "w"),
    )
    base = f"http://127.0.0.1:{console_port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", console_port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    server = f"http://127.0.0.1:{grpc_port}"
    now = time.gmtime()
    today = time.strftime("%Y-%m-%dT00:00:00Z", now)
    # A verification of the fresh hold's subject made before the hold: listed by the re-query
    # picker, but not choosable (a replacement must be later than the hold).
    before = hold("b-before", "2222-222-02", today)
    before["candidates"][0]["fields"] = dict(before["declared"])
    ids = {
        "before": verify(server, before, tmp),
        "overdue": verify(server, hold("b-overdue", "1111-111-01", "2026-01-05T09:00:00Z"), tmp),
        "fresh": verify(server, hold("b-fresh", "2222-222-02", today), tmp),
        "other": verify(server, hold("b-other", "3333-333-03", today, OTHER_INSURER), tmp),
    }
    # A later verification of the fresh hold's subject: the re-query that replaces it.
    requery = hold("b-requery", "2222-222-02", today)
    requery["candidates"][0]["fields"] = dict(requery["declared"])
    ids["requery"] = verify(server, requery, tmp)
    yield {"base": base, "ids": ids, "tmp": tmp, "server": server}
    proc.terminate()
    proc.wait(timeout=20)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def sign_in(browser, base, name, lang="ja-JP"):
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/holds")
    expect(page).to_have_url(base + "/signin")
    page.get_by_label("名前" if lang.startswith("ja") else "Name").fill(name)
    page.get_by_label("パスワード" if lang.startswith("ja") else "Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("サインイン|Sign in")).click()
    expect(page).to_have_url(re.compile(r"/holds$"))
    return context, page


def no_personal_values(page):
    text = page.content()
    for value in PERSONAL:
        assert value not in text, f"a personal value is on {page.url}"


def every_control_has_a_name(page):
    unnamed = page.evaluate(
        """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                           && !(e.tagName === 'BUTTON' && e.textContent.trim()))
              .map(e => e.outerHTML)"""
    )
    assert unnamed == [], unnamed


def test_every_answer_carries_the_security_headers(service, browser):
    context = browser.new_context()
    response = context.request.get(service["base"] + "/signin")
    h = response.headers
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "script-src 'self'" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    context.close()


def test_a_wrong_password_is_refused_in_japanese(service, browser):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(service["base"] + "/signin")
    page.get_by_label("名前").fill("sato")
    page.get_by_label("パスワード").fill("not the password")
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("alert")).to_contain_text("名前またはパスワードが違います")
    every_control_has_a_name(page)
    page.screenshot(path=str(SHOTS / "signin-error.png"), full_page=True)
    context.close()


def test_the_queue_puts_overdue_first_and_filters_by_url(service, browser):
    context, page = sign_in(browser, service["base"], "sato")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    first = rows.nth(0)
    expect(first).to_have_class(re.compile("overdue"))
    expect(first).to_contain_text("1111-111-01")
    expect(first).to_contain_text("超過")
    expect(page.locator("ul.counts")).to_contain_text("2件 保留中")
    expect(page.locator("ul.counts")).to_contain_text("1件 期限超過")
    # Times in JST, Japanese form.
    expect(first).to_contain_text("2026年1月10日(土) 24:00")
    expect(first).to_contain_text(re.compile(r"\d{4}年\d+月\d+日 \d\d:\d\d"))
    assert service["ids"]["other"] not in page.content()
    no_personal_values(page)
    every_control_has_a_name(page)
    page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
    page.get_by_label("期限超過のみ").check()
    page.get_by_role("button", name="絞り込む").click()
    expect(page).to_have_url(re.compile(r"overdue=1"))
    expect(rows).to_have_count(1)
    context.close()


def test_a_case_says_no_personal_values_are_shown_and_what_to_do(service, browser):
    context, page = sign_in(browser, service["base"], "sato")
    page.goto(f"{service['base']}/holds/{INSURER}/{service['ids']['fresh']}")
    expect(page.locator(".privacy")).to_contain_text("個人の値は表示しません")
    expect(page.locator(".privacy")).to_contain_text("記号番号")
    expect(page.locator("table.grid")).to_contain_text("不一致")
    expect(page.locator("table.grid")).to_contain_text("漢字氏名")
    expect(page.locator("ol.steps")).to_contain_text("項目がJ-LISと相違")
    # The subject's history: the verification before the hold, the hold, the re-query.
    history = page.locator("table.history")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history).to_contain_text("照合の判定")
    no_personal_values(page)
    every_control_has_a_name(page)
    page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
    context.close()


def test_resolving_says_what_to_fix_then_records_once_and_a_second_clerk_cannot(service, browser):
    base, ids = service["base"], service["ids"]
    case = f"{base}/holds/{INSURER}/{ids['fresh']}"
    other_context, other = sign_in(browser, base, "tanaka")
    other.goto(case)
    context, page = sign_in(browser, base, "sato")
    page.goto(case)
    # Without the confirmation and without the re-query's id: both named, in Japanese.
    page.get_by_role("radio", name=re.compile("再照会済")).check()
    page.get_by_role("button", name="記録する").click()
    expect(page.get_by_role("alert")).to_contain_text("チェックしてください")
    page.get_by_role("radio", name=re.compile("再照会済")).check()
    page.get_by_label(re.compile("記録する内容を確認しました")).check()
    page.get_by_role("button", name="記録する").click()
    expect(page.get_by_role("alert")).to_contain_text("再照会の照合ID")
    page.screenshot(path=str(SHOTS / "resolve-error.png"), full_page=True)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.get_by_role("radio", name=re.compile("再照会済")).check()
    # The re-query is chosen from the subject's verifications: the one decided before the hold
    # is listed but cannot be chosen; the later one can.
    picker = page.get_by_role("group", name=re.compile("再照会の照合"))
    expect(picker.get_by_role("radio", name=re.compile(ids["before"]))).to_be_disabled()
    expect(picker).to_contain_text("保留より前の照会のため選べません")
    later = picker.get_by_role("radio", name=re.compile(ids["requery"]))
    expect(later).to_be_enabled()
    later.check()
    every_control_has_a_name(page)
    page.locator("#replacement").screenshot(path=str(SHOTS / "resolve-picker.png"))
    page.get_by_label(re.compile("メモ")).fill("<script>alert('x')</script> 本人に電話で確認")
    page.get_by_label(re.compile("記録する内容を確認しました")).check()
    page.get_by_role("button", name="記録する").click()
    expect(page.get_by_role("status")).to_contain_text("解決を記録しました")
    expect(page.locator("dd.note")).to_have_text("<script>alert('x')</script> 本人に電話で確認")
    assert dialogs == []
    # The subject's history shows the resolution, with the re-query that replaced the hold.
    history = page.locator("table.history")
    expect(history).to_contain_text("保留の解決")
    expect(history).to_contain_text("再照会済")
    expect(history.locator("tr", has_text="保留の解決")).to_contain_text(ids["requery"])
    expect(history.locator("tr.this")).to_have_count(2)
    no_personal_values(page)
    page.screenshot(path=str(SHOTS / "case-resolved.png"), full_page=True)
    # The second clerk's page is stale: the case is closed, and not closed twice.
    other.get_by_role("radio", name=re.compile("取下げ")).check()
    other.get_by_label(re.compile("記録する内容を確認しました")).check()
    other.get_by_role("button", name="記録する").click()
    expect(other.get_by_role("alert")).to_contain_text("すでに解決しています")
    expect(other.locator("dl.header").first).to_contain_text("解決済")
    context.close()
    other_context.close()


def test_a_clerk_claims_a_case_the_queue_shows_it_and_the_clerk_releases_it(service, browser):
    base, ids = service["base"], service["ids"]
    context, page = sign_in(browser, base, "sato")
    page.goto(f"{base}/holds/{INSURER}/{ids['overdue']}")
    expect(page.locator("dd.assignee")).to_contain_text("未割当")
    page.get_by_role("button", name="自分が担当する").click()
    expect(page.locator("dd.assignee")).to_contain_text("sato")
    other_context, other = sign_in(browser, base, "tanaka")
    row = other.locator("table.queue tbody tr", has_text="1111-111-01")
    expect(row.locator("td.assignee")).to_have_text("sato")
    other.goto(f"{base}/holds/{INSURER}/{ids['overdue']}")
    expect(other.get_by_role("button", name="担当を引き継ぐ")).to_be_visible()
    page.screenshot(path=str(SHOTS / "case-claimed.png"), full_page=True)
    page.get_by_role("button", name="担当を外す").click()
    expect(page.locator("dd.assignee")).to_contain_text("未割当")
    other_context.close()
    context.close()


def test_the_compare_page_marks_differing_characters_and_keeps_nothing(service, browser):
    context, page = sign_in(browser, service["base"], "kansa")
    page.get_by_role("link", name="照合の確認").click()
    expect(page.locator(".privacy")).to_contain_text("保存しません")
    values = {
        "a_kanji_name": "髙橋　智子", "b_kanji_name": "高橋 知子",
        "a_kana_name": "タカハシ トモコ", "b_kana_name": "ﾀｶﾊｼ ﾄﾓｺ",
        "a_birth_date": "昭和50年1月1日", "b_birth_date": "1975-01-01",
        "a_sex": "2", "b_sex": "女",
        "a_address": "東京都千代田区千代田一丁目1番1号", "b_address": "東京都千代田区千代田1-1-2",
    }
    for name, value in values.items():
        page.locator(f"input[name={name}]").fill(value)
    page.get_by_role("button", name="比較する").click()
    rows = page.locator("table.grid tbody tr")
    expect(rows.nth(0)).to_contain_text("不一致")
    expect(rows.nth(0).locator("mark")).to_have_text(["智", "知"])
    expect(rows.nth(1)).to_contain_text("表記ゆれ")
    expect(rows.nth(2)).to_contain_text("表記ゆれ")
    expect(rows.nth(2).locator("mark")).to_have_count(0)
    expect(rows.nth(4).locator("mark")).to_have_text(["1", "2"])
    expect(rows.nth(4)).to_contain_text("不一致")
    every_control_has_a_name(page)
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    context.close()
    log = pathlib.Path(service["tmp"], "serve.log").read_text(encoding="utf-8")
    database = pathlib.Path(service["tmp"], "audit.sqlite").read_bytes()
    # The short codes (2, 女) are in any log; the names, dates and addresses must not be.
    for value in (v for v in values.values() if len(v) > 2):
        assert value not in log
        assert value.encode() not in database


def test_an_auditor_reads_without_actions(service, browser):
    context, page = sign_in(browser, service["base"], "kansa")
    page.goto(f"{service['base']}/holds/{INSURER}/{service['ids']['overdue']}")
    expect(page.locator(".readonly")).to_contain_text("閲覧のみ")
    expect(page.locator("form[action$='/resolve']")).to_have_count(0)
    expect(page.locator("form[action$='/assign']")).to_have_count(0)
    # A POST made by hand with the auditor's own session and token is refused too.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(
        f"{service['base']}/holds/{INSURER}/{service['ids']['overdue']}/resolve",
        form={"csrf": token, "resolution": "withdrawn", "confirm": "1"},
        headers={"Origin": service["base"]},
    )
    assert response.status == 403
    context.close()


def test_another_insurers_case_is_not_found(service, browser):
    context, page = sign_in(browser, service["base"], "sato")
    response = page.goto(f"{service['base']}/holds/{OTHER_INSURER}/{service['ids']['other']}")
    assert response.status == 404
    missing = page.goto(f"{service['base']}/holds/{INSURER}/00000000-0000-7000-8000-000000000000")
    assert missing.status == 404
    assert page.content().count("見つかりません") >= 1
    context.close()


def test_a_cross_site_form_post_is_refused(service, browser):
    base, ids = service["base"], service["ids"]
    target = f"{base}/holds/{INSURER}/{ids['overdue']}/resolve"
    evil = (
        "<!doctype html><form id=f method=post action='" + target + "'>"
        "<input name=resolution value=withdrawn><input name=confirm value=1>"
        "<input name=csrf value=guess></form><script>document.getElementById('f').submit()</script>"
    ).encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *args):
            pass

    site = http.server.HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    context, page = sign_in(browser, base, "sato")
    with page.expect_response(target) as answer:
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
    assert answer.value.status == 403
    site.shutdown()
    page.goto(f"{base}/holds/{INSURER}/{ids['overdue']}")
    expect(page.locator("dl.header").first).to_contain_text("保留中")
    context.close()


def test_english_by_the_switch_and_sign_out_ends_the_session(service, browser):
    context, page = sign_in(browser, service["base"], "sato")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_contain_text("Held cases")
    page.screenshot(path=str(SHOTS / "queue-en.png"), full_page=True)
    page.get_by_role("link", name="日本語").click()
    expect(page.locator("h1")).to_contain_text("保留一覧")
    page.get_by_role("button", name="サインアウト").click()
    expect(page).to_have_url(service["base"] + "/signin")
    page.goto(service["base"] + "/holds")
    expect(page).to_have_url(service["base"] + "/signin")
    context.close()


def test_the_daily_flow_works_by_keyboard_alone(service, browser):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(service["base"] + "/signin")
    # The name field takes the focus by `autofocus`, which the browser applies once the page has
    # loaded; typing before that loses the first letters (CI saw it), so wait for it as a person
    # waits to see the cursor.
    expect(page.locator("#name")).to_be_focused()
    page.keyboard.type("sato")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/holds$"))
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("案件")
    context.close()


def resolve(server, verification_id, resolution, cause=None, replaced_by=None):
    args = [BIN, "holds", "--server", server, "resolve", "--insurer", STATS_INSURER,
            "--verification-id", verification_id, "--resolution", resolution, "--operator", "tokei"]
    if cause:
        args += ["--cause", cause]
    if replaced_by:
        args += ["--replaced-by", replaced_by]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_stats_page_counts_a_known_sequence_and_suggests_only_by_hand(service, browser):
    """Four holds of one insurer made and closed through the real service: one re-queried
    with the same number back, two closed as 表記ゆれ・異体字, one still open."""
    server, tmp = service["server"], service["tmp"]
    today = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
    held = [
        verify(server, hold(f"t-{i}", f"5555-555-0{i}", today, STATS_INSURER), tmp)
        for i in range(1, 5)
    ]
    again = hold("t-1-again", "5555-555-01", today, STATS_INSURER)
    again["candidates"][0]["fields"] = dict(again["declared"])
    resolve(server, held[0], "requeried", replaced_by=verify(server, again, tmp))
    resolve(server, held[1], "withdrawn", cause="notation_or_variant")
    resolve(server, held[2], "number-from-person", cause="表記ゆれ・異体字")

    context, page = sign_in(browser, service["base"], "tokei")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.get_by_role("link", name="統計").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("統計")
    tiles = page.get_by_role("list", name="合計")
    expect(tiles.locator("[data-figure=holds] .n")).to_have_text("4")
    expect(tiles.locator("[data-figure=closed] .n")).to_have_text("3")
    expect(tiles.locator("[data-figure=open] .n")).to_have_text("1")
    expect(tiles.locator("[data-figure=same_number_back] .n")).to_have_text("1")
    # The charts: inline SVG, named, drawn with no script.
    expect(page.get_by_role("img", name="結末")).to_be_visible()
    expect(page.get_by_role("img", name="解決の原因")).to_contain_text("表記ゆれ・異体字")
    expect(page.get_by_role("img", name="何で保留になったか")).to_contain_text("漢字氏名")
    totals = page.locator("table.causes tfoot")
    expect(totals.locator("[data-cause=notation_or_variant]")).to_have_text("2")
    # Under the default threshold (50 closed holds) nothing is suggested.
    expect(page.locator("section.suggestions")).to_contain_text("提案はありません")
    every_control_has_a_name(page)
    no_personal_values(page)

    # Three closed holds suffice when the link says so: the suggestion, and that only a person
    # changes the policy. The period and threshold are in the URL.
    page.get_by_label("提案に必要な解決件数").fill("3")
    page.get_by_role("button", name="表示する").click()
    expect(page).to_have_url(re.compile(r"/stats\?.*min=3"))
    suggestions = page.locator("section.suggestions")
    expect(suggestions).to_contain_text("3件のうち3件（100.0%）は同じ人でした")
    expect(suggestions).to_contain_text("方針の設定では通せません")
    expect(suggestions).to_contain_text("方針ファイルは担当者が手で変更し")
    no_personal_values(page)
    page.screenshot(path=str(SHOTS / "stats.png"), full_page=True)
    # Nothing refused by the Content-Security-Policy, no script error, no warning.
    assert problems == [], problems

    # A period that cannot be read: the field to fix is named and marked.
    page.goto(service["base"] + "/stats?from=2026-02-30")
    expect(page.get_by_role("alert")).to_contain_text("開始日が読めません")
    expect(page.get_by_label("開始日")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("開始日")).to_have_value("2026-02-30")
    page.screenshot(path=str(SHOTS / "stats-error.png"), full_page=True)
    # Another insurer's statistics: not found.
    missing = page.goto(f"{service['base']}/stats?insurer={INSURER}")
    assert missing.status == 404
    # Only the two refusals themselves were reported (no policy violation).
    assert [p for p in problems if "status of 40" not in p] == [], problems
    context.close()
