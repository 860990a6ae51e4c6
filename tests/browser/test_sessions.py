"""Console sessions in a real browser, each test on a server of its own: an idle session
expires (a 3-second idle timeout from the settings file), a session survives a restart of the
binary, the sign-in form refuses a forged cross-site POST, and the whole daily flow (sign in,
queue, a case, claim, resolve, sign out) works with the keyboard alone."""

import http.server
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from test_console import (
    BIN, CHROMIUM, INSURER, PASSWORD, add_user, every_control_has_a_name, free_port, hold,
    verify,
)


class Service:
    """The real binary on a fresh SQLite store, which a restart keeps."""

    def __init__(self, settings=""):
        self.tmp = tempfile.mkdtemp(prefix="console-sessions-")
        self.config = os.path.join(self.tmp, "settings.toml")
        # Top-level keys first: `console-user add` appends [[console_users]] tables after them.
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(settings)
        add_user(self.config, "sato", "operator")
        self.grpc_port, self.console_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.console_port}"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config,
             "--database", f"sqlite:{self.tmp}/audit.sqlite",
             "--listen", f"127.0.0.1:{self.grpc_port}",
             "--console-listen", f"127.0.0.1:{self.console_port}"],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.tmp, "serve.log"), "a"),
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.console_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the console did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def hold(self, request_id, subject):
        today = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
        return verify(f"http://127.0.0.1:{self.grpc_port}", hold(request_id, subject, today),
                      self.tmp)

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def sign_in(browser, base):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(base + "/signin")
    page.get_by_label("名前").fill("sato")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page).to_have_url(re.compile(r"/holds$"))
    return context, page


def test_an_idle_session_expires_and_a_busy_one_does_not(browser):
    service = Service('console_idle_timeout = "3s"\n')
    try:
        context, page = sign_in(browser, service.base)
        for _ in range(3):
            time.sleep(1.5)
            page.goto(service.base + "/holds")
            expect(page).to_have_url(service.base + "/holds")
        time.sleep(3.5)
        page.goto(service.base + "/holds")
        expect(page).to_have_url(service.base + "/signin")
        every_control_has_a_name(page)
        context.close()
    finally:
        service.close()


def test_a_session_survives_a_restart_of_the_binary(browser):
    service = Service()
    try:
        context, page = sign_in(browser, service.base)
        service.stop()
        service.start()
        page.goto(service.base + "/holds")
        expect(page).to_have_url(service.base + "/holds")
        expect(page.locator("h1")).to_contain_text("保留一覧")
        # Signed out after the restart: ended for good, on the restarted process too.
        page.get_by_role("button", name="サインアウト").click()
        expect(page).to_have_url(service.base + "/signin")
        page.goto(service.base + "/holds")
        expect(page).to_have_url(service.base + "/signin")
        context.close()
    finally:
        service.close()


def test_a_forged_cross_site_sign_in_is_refused(browser):
    service = Service()
    target = service.base + "/signin"
    evil = (
        "<!doctype html><form id=f method=post action='" + target + "'>"
        "<input name=name value=sato><input name=password value='" + PASSWORD + "'></form>"
        "<script>document.getElementById('f').submit()</script>"
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
    try:
        context = browser.new_context(locale="ja-JP")
        page = context.new_page()
        # Even with the right password, a sign-in posted by another site opens no session.
        with page.expect_response(target) as answer:
            page.goto(f"http://localhost:{site.server_address[1]}/")
        assert answer.value.status == 403
        assert "set-cookie" not in answer.value.headers
        assert context.cookies(service.base) == []
        page.goto(service.base + "/holds")
        expect(page).to_have_url(service.base + "/signin")
        context.close()
    finally:
        site.shutdown()
        service.close()


def tab_to(page, selector, limit=80):
    """Presses Tab until the focused element matches `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_whole_daily_flow_by_keyboard_alone(browser):
    service = Service()
    case = service.hold("k-1", "4444-444-04")
    try:
        context = browser.new_context(locale="ja-JP")
        page = context.new_page()
        page.goto(service.base + "/signin")
        # Sign in: the name field has the focus (autofocus), or Tab reaches it.
        if not page.evaluate("document.activeElement.id === 'name'"):
            tab_to(page, "input#name")
        page.keyboard.type("sato")
        tab_to(page, "input#password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/holds$"))
        every_control_has_a_name(page)
        # The queue: Tab to the case's link, Enter opens it.
        tab_to(page, f"table.queue a[href$='{case}']")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(case))
        every_control_has_a_name(page)
        # Claim.
        tab_to(page, "form[action$='/assign'] button")
        page.keyboard.press("Enter")
        expect(page.locator("dd.assignee")).to_contain_text("sato")
        # Resolve: withdrawn (Space selects a radio and ticks a box), a note, confirmed.
        tab_to(page, "input[name=resolution]")
        while not page.evaluate("document.activeElement.value === 'withdrawn'"):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Space")
        tab_to(page, "textarea[name=note]")
        page.keyboard.type("本人に電話で確認")
        tab_to(page, "input[name=confirm]")
        page.keyboard.press("Space")
        tab_to(page, "form[action$='/resolve'] button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("解決を記録しました")
        # Sign out.
        tab_to(page, "form[action='/signout'] button")
        page.keyboard.press("Enter")
        expect(page).to_have_url(service.base + "/signin")
        context.close()
    finally:
        service.close()
