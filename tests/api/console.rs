//! The clerks' console through its HTTP interface, for every role × page × insurer: what an
//! operator and an auditor of one insurer get from the queue, a case, a resolution and a claim,
//! for their insurer's case and for another insurer's; and what nobody signed in gets.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use verify_identity::{
    config::{ConsoleUserConfig, Role, hash_password},
    contract::pb,
};

use crate::helpers::{Backend, hold_request, register_request, spawn_app_with_console};

on_both_backends!(
    every_role_page_and_insurer_gets_what_its_grpc_twin_would,
    a_resolution_from_the_console_keeps_the_clerks_cause,
    the_stats_page_counts_the_clerks_insurers_only_and_names_the_field_to_fix,
    a_session_opened_on_one_replica_works_on_another_and_a_sign_out_ends_it_on_both,
    the_queue_filters_by_the_clerks_own_claims_and_by_nobodys,
    a_case_shows_its_subjects_history_and_a_requery_is_chosen_from_the_later_verifications,
);

const INSURER: &str = "32130011";
const OTHER: &str = "32130029";
const PASSWORD: &str = "a long test password";

/// One answer: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    exchange(stream, addr, method, path, cookie, form).await
}

/// A browser reaching the console over TLS, with or without a client certificate.
struct TlsBrowser {
    addr: SocketAddr,
    tls: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
}

impl TlsBrowser {
    /// A new TLS connection to the console.
    async fn connect(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let stream = self.connect().await;
        exchange(stream, self.addr, "GET", path, cookie, None).await
    }

    async fn post(&self, path: &str, form: &str) -> Answer {
        let stream = self.connect().await;
        exchange(stream, self.addr, "POST", path, None, Some(form)).await
    }
}

/// Writes one request on `stream` and reads the whole answer (the server closes).
async fn exchange(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Site: same-origin\r\n"
    );
    if let Some(c) = cookie {
        request.push_str(&format!("Cookie: {c}\r\n"));
    }
    let body = form.unwrap_or("");
    if form.is_some() {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify after a whole answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => panic!("reading the answer: {e}"),
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Signs in; the session cookie and the session's CSRF token (read from the queue page).
async fn sign_in(addr: SocketAddr, name: &str) -> (String, String) {
    let answer = http(
        addr,
        "POST",
        "/signin",
        None,
        Some(&format!("name={name}&password=a+long+test+password")),
    )
    .await;
    assert_eq!(answer.status, 303, "{name} signs in");
    let cookie = answer
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let queue = http(addr, "GET", "/holds", Some(&cookie), None).await;
    let csrf = queue
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

fn user(name: &str, insurer: &str, role: Role) -> ConsoleUserConfig {
    ConsoleUserConfig {
        name: name.into(),
        password_argon2id: hash_password(PASSWORD),
        client_cert_sha256: None,
        client_cert_cn: None,
        insurers: vec![insurer.into()],
        roles: vec![role],
    }
}

async fn every_role_page_and_insurer_gets_what_its_grpc_twin_would(backend: Backend) {
    let (app, console) = spawn_app_with_console(backend, |s| {
        s.console_users = vec![
            user("operator", INSURER, Role::Operator),
            user("auditor", INSURER, Role::Auditor),
        ];
    })
    .await;
    let verify = |insurer: &str, id: &str| {
        let mut r = hold_request(id);
        r.insurer_number = insurer.into();
        let mut client = app.client.clone();
        async move { client.verify(r).await.unwrap().into_inner().verification_id }
    };
    let own = verify(INSURER, "h-own").await;
    let other = verify(OTHER, "h-other").await;

    // Nobody signed in: every page sends to the sign-in page, every action too.
    for (method, path) in [
        ("GET", "/holds".to_owned()),
        ("GET", format!("/holds/{INSURER}/{own}")),
        ("POST", format!("/holds/{INSURER}/{own}/resolve")),
        ("POST", format!("/holds/{INSURER}/{own}/assign")),
    ] {
        let form = (method == "POST").then_some("csrf=x");
        let answer = http(console, method, &path, None, form).await;
        assert_eq!(answer.status, 303, "{method} {path}");
        assert_eq!(answer.header("location"), Some("/signin"));
        assert!(answer.header("content-security-policy").is_some());
    }

    for (name, may_act) in [("operator", true), ("auditor", false)] {
        let (cookie, csrf) = sign_in(console, name).await;
        let c = Some(cookie.as_str());
        // The queue: own insurer's holds only; another insurer's queue is not found.
        let queue = http(console, "GET", "/holds", c, None).await;
        assert_eq!(queue.status, 200);
        assert_eq!(queue.header("cache-control"), Some("no-store"));
        assert!(
            queue.body.contains(&own) && !queue.body.contains(&other),
            "{name}"
        );
        let foreign = http(console, "GET", &format!("/holds?insurer={OTHER}"), c, None).await;
        assert_eq!(foreign.status, 404, "{name}");
        // A case: own is shown (with the form only for an operator), another's is 404.
        let case = http(console, "GET", &format!("/holds/{INSURER}/{own}"), c, None).await;
        assert_eq!(case.status, 200);
        assert_eq!(case.body.contains("/resolve\""), may_act, "{name}");
        assert_eq!(case.body.contains("/assign\""), may_act, "{name}");
        let theirs = http(console, "GET", &format!("/holds/{OTHER}/{other}"), c, None).await;
        assert_eq!(theirs.status, 404, "{name}");
        // Actions on another insurer's case: 404, as for a case that does not exist.
        for action in ["resolve", "assign"] {
            let form = format!("csrf={csrf}&action=claim&resolution=withdrawn&confirm=1");
            let path = format!("/holds/{OTHER}/{other}/{action}");
            let answer = http(console, "POST", &path, c, Some(&form)).await;
            assert_eq!(answer.status, 404, "{name} {action} another insurer's case");
            // A wrong token is refused before anything else.
            let path = format!("/holds/{INSURER}/{own}/{action}");
            let answer = http(console, "POST", &path, c, Some("csrf=wrong&action=claim")).await;
            assert_eq!(answer.status, 403, "{name} {action} with a forged token");
        }
        // Claim, then resolve, on the own case: an operator may, an auditor is refused.
        let claim = http(
            console,
            "POST",
            &format!("/holds/{INSURER}/{own}/assign"),
            c,
            Some(&format!("csrf={csrf}&action=claim")),
        )
        .await;
        assert_eq!(
            claim.status,
            if may_act { 303 } else { 403 },
            "{name} claims"
        );
        if !may_act {
            let resolve = http(
                console,
                "POST",
                &format!("/holds/{INSURER}/{own}/resolve"),
                c,
                Some(&format!("csrf={csrf}&resolution=withdrawn&confirm=1")),
            )
            .await;
            assert_eq!(resolve.status, 403, "an auditor resolves");
        }
    }
    // The operator's claim and nothing else happened: the record says who, and it is open.
    let record = app
        .client
        .clone()
        .get_verification(pb::GetVerificationRequest {
            verification_id: own.clone(),
            insurer_number: INSURER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.assignee, "operator");
    assert_eq!(record.state(), pb::VerificationState::Held);
    // The operator resolves it; a second resolution is refused as already closed.
    let (cookie, csrf) = sign_in(console, "operator").await;
    let form = format!("csrf={csrf}&resolution=withdrawn&note=%3Cscript%3E&confirm=1");
    let path = format!("/holds/{INSURER}/{own}/resolve");
    let done = http(console, "POST", &path, Some(&cookie), Some(&form)).await;
    assert_eq!(done.status, 303);
    let case = http(
        console,
        "GET",
        &format!("/holds/{INSURER}/{own}"),
        Some(&cookie),
        None,
    )
    .await;
    assert!(case.body.contains("&lt;script&gt;") && !case.body.contains("<script>"));
    let again = http(console, "POST", &path, Some(&cookie), Some(&form)).await;
    assert_eq!(again.status, 409);
    // A post from another site is refused whoever sends it.
    let mut stream = TcpStream::connect(console).await.unwrap();
    let body = format!("csrf={csrf}&action=release");
    let forged = format!(
        "POST /holds/{INSURER}/{own}/assign HTTP/1.1\r\nHost: {console}\r\nConnection: close\r\n\
         Sec-Fetch-Site: cross-site\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(forged.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
    app.finish().await;
}

/// The clerk's cause chosen on the case page is the one the record keeps (and the statistics
/// count); a cause this release does not know is refused naming the field, and nothing is
/// recorded.
async fn a_resolution_from_the_console_keeps_the_clerks_cause(backend: Backend) {
    let (app, console) = spawn_app_with_console(backend, |s| {
        s.console_users = vec![user("operator", INSURER, Role::Operator)];
    })
    .await;
    let mut client = app.client.clone();
    let held = client
        .verify(hold_request("h-cause"))
        .await
        .unwrap()
        .into_inner()
        .verification_id;
    let (cookie, csrf) = sign_in(console, "operator").await;
    let path = format!("/holds/{INSURER}/{held}/resolve");
    let case = http(
        console,
        "GET",
        &format!("/holds/{INSURER}/{held}"),
        Some(&cookie),
        None,
    )
    .await;
    assert!(case.body.contains("name=\"cause\"") && case.body.contains("表記ゆれ・異体字"));

    let unknown = format!("csrf={csrf}&resolution=withdrawn&cause=guess&confirm=1");
    let refused = http(console, "POST", &path, Some(&cookie), Some(&unknown)).await;
    assert_ne!(refused.status, 303);
    assert!(
        refused.body.contains("原因は一覧から選ぶか"),
        "{}",
        refused.body
    );
    let record = |client: &mut pb::verify_identity_client::VerifyIdentityClient<_>| {
        let request = pb::GetVerificationRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
        };
        let mut client = client.clone();
        async move { client.get_verification(request).await.unwrap().into_inner() }
    };
    assert_eq!(
        record(&mut client).await.state(),
        pb::VerificationState::Held
    );

    let chosen = format!("csrf={csrf}&resolution=withdrawn&cause=notation_or_variant&confirm=1");
    let done = http(console, "POST", &path, Some(&cookie), Some(&chosen)).await;
    assert_eq!(done.status, 303);
    let resolved = record(&mut client).await;
    assert_eq!(
        resolved.resolution.unwrap().cause(),
        pb::HoldCause::NotationOrVariant
    );
    let case = http(
        console,
        "GET",
        &format!("/holds/{INSURER}/{held}"),
        Some(&cookie),
        None,
    )
    .await;
    assert!(case.body.contains("notation_or_variant"));
    app.finish().await;
}

/// The figure of the tile `id` on a statistics page.
fn tile(body: &str, id: &str) -> String {
    let marker = format!("<li data-figure=\"{id}\"><span class=\"n\">");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no tile {id} in {body}"));
    body[at + marker.len()..]
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

/// 統計 for each role and insurer: an operator and an auditor of one insurer see the same
/// counts of their insurer's holds (the other insurer's hold in neither), the other insurer's
/// page is not found, the empty states say so, and a period that cannot be read is answered
/// with the field to fix. No personal value of the requests is on any of these pages.
async fn the_stats_page_counts_the_clerks_insurers_only_and_names_the_field_to_fix(
    backend: Backend,
) {
    let (app, console) = spawn_app_with_console(backend, |s| {
        s.console_users = vec![
            user("operator", INSURER, Role::Operator),
            user("auditor", INSURER, Role::Auditor),
            user("other", OTHER, Role::Auditor),
        ];
    })
    .await;
    let (cookie, _) = sign_in(console, "operator").await;
    let empty = http(console, "GET", "/stats", Some(&cookie), None).await;
    assert_eq!(empty.status, 200);
    assert!(
        empty
            .body
            .contains("この期間に保留になった案件はありません")
    );
    assert!(
        empty.body.contains("href=\"/stats\""),
        "the navigation links the page"
    );

    let mut client = app.client.clone();
    let mut held = Vec::new();
    for id in ["st-1", "st-2", "st-3"] {
        held.push(client.verify(hold_request(id)).await.unwrap().into_inner());
    }
    let mut theirs = hold_request("st-other");
    theirs.insurer_number = OTHER.into();
    client.verify(theirs).await.unwrap();
    for (verification, cause) in [
        (&held[0], pb::HoldCause::NotationOrVariant),
        (&held[1], pb::HoldCause::DifferentPerson),
    ] {
        client
            .resolve_hold(pb::ResolveHoldRequest {
                verification_id: verification.verification_id.clone(),
                insurer_number: INSURER.into(),
                resolution: pb::Resolution::Withdrawn.into(),
                operator_id: "operator".into(),
                cause: cause.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    for name in ["operator", "auditor"] {
        let (cookie, _) = sign_in(console, name).await;
        let c = Some(cookie.as_str());
        let page = http(console, "GET", "/stats", c, None).await;
        assert_eq!(page.status, 200, "{name}");
        assert_eq!(page.header("cache-control"), Some("no-store"));
        let figures: Vec<String> = ["holds", "closed", "open", "resolve_median_h"]
            .iter()
            .map(|id| tile(&page.body, id))
            .collect();
        assert_eq!(figures[..3], ["3", "2", "1"], "{name}");
        assert_ne!(
            figures[3], "—",
            "{name}: closed holds have a time to resolve"
        );
        // The charts are inline SVG with names; the causes in the clerks' words.
        assert!(page.body.contains("<svg"), "{name}");
        assert!(page.body.contains("<title>結末</title>"), "{name}");
        assert!(page.body.contains(">表記ゆれ・異体字</text>"), "{name}");
        assert!(
            page.body.contains("data-cause=\"different_person\">1<"),
            "{name}"
        );
        assert!(page.body.contains("提案はありません"), "{name}");
        for personal in [
            "高橋",
            "髙橋",
            "一朗",
            "タカハシ",
            "1234-567-01",
            "402718593027",
        ] {
            assert!(
                !page.body.contains(personal),
                "{personal} on the page of {name}"
            );
        }
        // The other insurer's statistics: not found, as its queue.
        let foreign = http(console, "GET", &format!("/stats?insurer={OTHER}"), c, None).await;
        assert_eq!(foreign.status, 404, "{name}");
        // The same insurer by name, and a period before any hold: nothing held then.
        let named = http(
            console,
            "GET",
            &format!("/stats?insurer={INSURER}"),
            c,
            None,
        )
        .await;
        assert_eq!(tile(&named.body, "holds"), "3");
        let before = "/stats?from=2001-01-01&to=2001-01-31";
        let before = http(console, "GET", before, c, None).await;
        assert_eq!(before.status, 200);
        assert!(
            before
                .body
                .contains("この期間に保留になった案件はありません")
        );
        // A period that cannot be read: the field is named, the page is not a success.
        let bad = http(console, "GET", "/stats?from=2026-13-01", c, None).await;
        assert_eq!(bad.status, 400, "{name}");
        assert!(bad.body.contains("開始日が読めません"), "{}", bad.body);
        assert!(
            bad.body.contains("id=\"s-from\" type=\"text\" name=\"from\" value=\"2026-13-01\" aria-invalid=\"true\""),
            "{}",
            bad.body
        );
        let reversed = "/stats?from=2026-12-02&to=2026-12-01&min=0";
        let reversed = http(console, "GET", reversed, c, None).await;
        assert_eq!(reversed.status, 400);
        assert!(reversed.body.contains("終了日を開始日と同じ日か"));
        assert!(reversed.body.contains("提案に必要な解決件数は"));
    }
    // The other insurer's auditor sees its one hold, open: no hold closed yet, said plainly.
    let (cookie, _) = sign_in(console, "other").await;
    let page = http(console, "GET", "/stats", Some(&cookie), None).await;
    assert_eq!(tile(&page.body, "holds"), "1");
    assert_eq!(tile(&page.body, "open"), "1");
    assert!(page.body.contains("まだ1件も解決していません"));
    let mine = http(
        console,
        "GET",
        &format!("/stats?insurer={INSURER}"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(mine.status, 404);
    app.finish().await;
}

/// The console over plain HTTP on an address other than loopback does not start; with the
/// service's certificate it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_needs_tls_anywhere_but_on_loopback() {
    use verify_identity::server::{self, StartError};

    use crate::{
        access::{scratch, tls},
        helpers::{TestDatabase, settings_for},
        pki::Pki,
    };

    let dir = scratch();
    let pki = Pki::generate(&dir);
    for with_tls in [false, true] {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let mut settings = settings_for(&db);
        let console = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        settings.console_listen = Some(console.local_addr().unwrap());
        settings.console_users = vec![user("operator", INSURER, Role::Operator)];
        if with_tls {
            settings.tls = Some(tls(&pki, false));
        }
        let app = server::build(&settings)
            .await
            .unwrap()
            .with_console_listener(console);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // If it starts, it stops at once.
        let result = server::run(listener, app, async {}).await;
        if with_tls {
            result.expect("served over TLS");
        } else {
            let err = result.expect_err("refused");
            assert!(
                matches!(&err, StartError::Exposed(m) if m.contains("console") && m.contains("tls_cert")),
                "{err}"
            );
        }
        db.drop().await;
    }
    std::fs::remove_dir_all(dir).unwrap();
}

async fn a_session_opened_on_one_replica_works_on_another_and_a_sign_out_ends_it_on_both(
    backend: Backend,
) {
    let users = || vec![user("operator", INSURER, Role::Operator)];
    let (first, a) = spawn_app_with_console(backend, |s| s.console_users = users()).await;
    let (mut second, b) = first
        .spawn_console_replica(|s| s.console_users = users())
        .await;
    let (cookie, csrf) = sign_in(a, "operator").await;
    let on_b = http(b, "GET", "/holds", Some(&cookie), None).await;
    assert_eq!(on_b.status, 200, "the other replica accepts the session");
    assert!(on_b.body.contains(&csrf), "with the same CSRF token");

    // Signed out on b (the token checked there), refused on a at once.
    let out = http(
        b,
        "POST",
        "/signout",
        Some(&cookie),
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(out.status, 303);
    for addr in [a, b] {
        let after = http(addr, "GET", "/holds", Some(&cookie), None).await;
        assert_eq!(after.status, 303, "signed out everywhere");
        assert_eq!(after.header("location"), Some("/signin"));
    }
    second.stop().await;
    first.finish().await;
}

async fn the_queue_filters_by_the_clerks_own_claims_and_by_nobodys(backend: Backend) {
    let (app, console) = spawn_app_with_console(backend, |s| {
        s.console_users = vec![
            user("operator", INSURER, Role::Operator),
            user("other", INSURER, Role::Operator),
        ];
    })
    .await;
    let mut client = app.client.clone();
    let mut held = Vec::new();
    for n in 1..=3 {
        let id = client
            .verify(hold_request(&format!("h-mine-{n}")))
            .await
            .unwrap()
            .into_inner()
            .verification_id;
        held.push(id);
    }
    let (cookie, csrf) = sign_in(console, "operator").await;
    let (other_cookie, other_csrf) = sign_in(console, "other").await;
    let claim = |id: &str| format!("/holds/{INSURER}/{id}/assign");
    let form = format!("csrf={csrf}&action=claim");
    let claimed = http(
        console,
        "POST",
        &claim(&held[0]),
        Some(&cookie),
        Some(&form),
    )
    .await;
    assert_eq!(claimed.status, 303);
    let form = format!("csrf={other_csrf}&action=claim");
    let claimed = http(
        console,
        "POST",
        &claim(&held[1]),
        Some(&other_cookie),
        Some(&form),
    )
    .await;
    assert_eq!(claimed.status, 303);
    let listed = |filter: &'static str, cookie: String| async move {
        let page = http(
            console,
            "GET",
            &format!("/holds?insurer={INSURER}&assigned={filter}"),
            Some(&cookie),
            None,
        )
        .await;
        assert_eq!(page.status, 200, "{filter}");
        page.body
    };
    let mine = listed("me", cookie.clone()).await;
    assert!(mine.contains(&held[0]) && !mine.contains(&held[1]) && !mine.contains(&held[2]));
    // The filter stays in the form, so the link can be shared and the page reloaded.
    assert!(mine.contains("<option value=\"me\" selected>"), "{mine}");
    let theirs = listed("me", other_cookie.clone()).await;
    assert!(theirs.contains(&held[1]) && !theirs.contains(&held[0]));
    let nobody = listed("none", cookie.clone()).await;
    assert!(nobody.contains(&held[2]) && !nobody.contains(&held[0]) && !nobody.contains(&held[1]));
    let everyone = listed("", cookie.clone()).await;
    assert!(held.iter().all(|id| everyone.contains(id.as_str())));
    let bad = http(
        console,
        "GET",
        &format!("/holds?insurer={INSURER}&assigned=sato"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    app.finish().await;
}

/// Under mutual TLS a clerk whose browser presents the certificate the settings pin signs in
/// with it, without a password, recorded as signed in by client certificate; a browser without
/// it sees only the password form and is refused the certificate sign-in; another site cannot
/// sign the certificate in; the certificate-only clerk has no password to guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_signs_in_by_the_client_certificate_the_settings_name() {
    use verify_identity::{
        audit::{NewEvent, SignInMethod},
        server,
    };

    use crate::{
        access::{scratch, tls},
        helpers::{TestDatabase, settings_for},
        pki::Pki,
    };

    let dir = scratch();
    let pki = Pki::generate(&dir);
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = settings_for(&db);
    let console = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = console.local_addr().unwrap();
    settings.console_listen = Some(addr);
    settings.tls = Some(tls(&pki, true));
    let mut by_certificate = user("sato", INSURER, Role::Operator);
    by_certificate.password_argon2id = String::new();
    by_certificate.client_cert_sha256 = Some(pki.client_cert_sha256.clone());
    settings.console_users = vec![by_certificate, user("suzuki", INSURER, Role::Auditor)];
    let app = server::build(&settings)
        .await
        .unwrap()
        .with_console_listener(console);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server::run(listener, app, async {
        let _ = stopped.await;
    }));
    let with_card = TlsBrowser {
        addr,
        tls: pki.rustls_client(true),
    };
    let without = TlsBrowser {
        addr,
        tls: pki.rustls_client(false),
    };

    let form = with_card.get("/signin", None).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("証明書でサインイン"), "{}", form.body);
    assert!(form.body.contains("<strong>sato</strong>"), "{}", form.body);
    let signed = with_card.post("/signin/certificate", "").await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.header("location"), Some("/holds"));
    let cookie = signed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-"), "{cookie}");
    let queue = with_card.get("/holds", Some(&cookie)).await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("sato"));

    // Without the certificate: the password form only, and no certificate sign-in.
    let plain = without.get("/signin", None).await;
    assert_eq!(plain.status, 200);
    assert!(!plain.body.contains("証明書でサインイン"));
    let refused = without.post("/signin/certificate", "").await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .body
            .contains("この端末の証明書ではサインインできません")
    );
    // The certificate-only clerk has no password; the other clerk still signs in with theirs.
    let guess = "name=sato&password=a+long+test+password";
    let wrong = without.post("/signin", guess).await;
    assert_eq!(wrong.status, 401);
    let other = "name=suzuki&password=a+long+test+password";
    let password = without.post("/signin", other).await;
    assert_eq!(password.status, 303);

    // Another site cannot sign the certificate in (the browser would present it anyway).
    let mut stream = with_card.connect().await;
    let forged = format!(
        "POST /signin/certificate HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Sec-Fetch-Site: cross-site\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(forged.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let head = String::from_utf8_lossy(&raw);
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");

    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let store = verify_identity::audit::connect(&db.url).await.unwrap();
    let sign_ins: Vec<_> = store
        .read_chains()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            NewEvent::ConsoleSignedIn(i) => Some((i.caller, i.method)),
            _ => None,
        })
        .collect();
    store.close().await;
    assert_eq!(
        sign_ins,
        [
            ("sato".to_owned(), SignInMethod::ClientCertificate),
            ("suzuki".to_owned(), SignInMethod::Password),
        ]
    );
    db.drop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// The radio input of the replacement picker for `id` on a case page, if any.
fn picker_input(body: &str, id: &str) -> Option<String> {
    let marker = format!("name=\"replaced_by\" value=\"{id}\"");
    let at = body.find(&marker)?;
    let start = body[..at].rfind('<')?;
    let end = at + body[at..].find('>')?;
    Some(body[start..=end].to_owned())
}

/// The case page shows the subject's history at the clerk's insurer (never another
/// insurer's), to operators and auditors alike; an operator's re-query is chosen from the
/// subject's verifications, those decided before the hold shown but not choosable (and
/// refused if posted anyway); afterwards the history shows the resolution.
async fn a_case_shows_its_subjects_history_and_a_requery_is_chosen_from_the_later_verifications(
    backend: Backend,
) {
    let (app, console) = spawn_app_with_console(backend, |s| {
        s.console_users = vec![
            user("operator", INSURER, Role::Operator),
            user("auditor", INSURER, Role::Auditor),
            user("other-operator", OTHER, Role::Operator),
        ];
    })
    .await;
    let verify = |insurer: &str, request: pb::VerifyRequest| {
        let mut r = request;
        r.insurer_number = insurer.into();
        let mut client = app.client.clone();
        async move { client.verify(r).await.unwrap().into_inner().verification_id }
    };
    let earlier = verify(INSURER, register_request("r-earlier")).await;
    let held = verify(INSURER, hold_request("h-held")).await;
    let later = verify(INSURER, register_request("r-later")).await;
    // The same subject id at another insurer: none of its history shows at ours.
    let theirs = verify(OTHER, hold_request("h-theirs")).await;
    let case_path = format!("/holds/{INSURER}/{held}");

    for (name, may_act) in [("operator", true), ("auditor", false)] {
        let (cookie, _) = sign_in(console, name).await;
        let case = http(console, "GET", &case_path, Some(&cookie), None).await;
        assert_eq!(case.status, 200, "{name}");
        let body = &case.body;
        assert!(body.contains("この記号番号の履歴"), "{name}");
        for id in [&earlier, &held, &later] {
            assert!(body.contains(id.as_str()), "{name}: {id} in the history");
        }
        assert!(!body.contains(theirs.as_str()), "{name}: another insurer's");
        // Only an operator gets the picker: the later one choosable, the earlier one not.
        let later_input = picker_input(body, &later);
        let earlier_input = picker_input(body, &earlier);
        assert_eq!(later_input.is_some(), may_act, "{name}");
        if may_act {
            assert!(!later_input.unwrap().contains("disabled"));
            assert!(earlier_input.unwrap().contains("disabled"));
            assert!(body.contains("保留より前の照会のため選べません"));
        } else {
            assert!(earlier_input.is_none());
        }
        // English too, by the language switch's cookie.
        let cookie_en = format!("{cookie}; vi_lang=en");
        let english = http(console, "GET", &case_path, Some(&cookie_en), None).await;
        assert!(
            english
                .body
                .contains("Every verification of this subject at this insurer"),
            "{name}"
        );
        if may_act {
            assert!(
                english
                    .body
                    .contains("Decided before the hold: cannot replace it")
            );
        }
    }
    // Another insurer's clerk: the case is not found, history and all.
    let (cookie, _) = sign_in(console, "other-operator").await;
    let answer = http(console, "GET", &case_path, Some(&cookie), None).await;
    assert_eq!(answer.status, 404);

    let (cookie, csrf) = sign_in(console, "operator").await;
    let resolve = |replaced_by: &str| {
        format!("csrf={csrf}&resolution=requeried&replaced_by={replaced_by}&confirm=1")
    };
    let path = format!("{case_path}/resolve");
    // The earlier one, posted although it cannot be chosen: refused, nothing recorded.
    let refused = http(
        console,
        "POST",
        &path,
        Some(&cookie),
        Some(&resolve(&earlier)),
    )
    .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("保留の後に行った照会を選んでください")
    );
    // The later one: recorded, and the history says so.
    let done = http(
        console,
        "POST",
        &path,
        Some(&cookie),
        Some(&resolve(&later)),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let record = app
        .client
        .clone()
        .get_verification(pb::GetVerificationRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        record.resolution.unwrap().replaced_by_verification_id,
        later
    );
    for name in ["operator", "auditor"] {
        let (cookie, _) = sign_in(console, name).await;
        let case = http(console, "GET", &case_path, Some(&cookie), None).await;
        let history = case.body.split("id=\"history\"").nth(1).unwrap();
        assert!(
            history.contains("保留の解決") && history.contains("再照会済"),
            "{name}"
        );
        assert!(history.contains(later.as_str()));
    }
    app.finish().await;
}
