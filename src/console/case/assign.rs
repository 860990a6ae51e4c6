//! 担当: a clerk claims a case (or takes it over) and releases it, so that two clerks do not
//! call the same person — through AssignHold's parsing and use case, under the same checks as
//! every case action.

use std::sync::Arc;

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    contract::{parse, pb},
    verification::{VerificationError, VerificationRecord},
    words::Lang,
};

use super::{Problems, ResolveForm, action_refused, again, refusal};
use crate::console::{
    Console, Peer, errors,
    layout::{Signed, urlencode},
};

/// Claim (or take over) and release, next to the assignee.
pub(super) fn assign_form(lang: Lang, signed: &Signed, record: &VerificationRecord) -> Markup {
    let d = &record.decided;
    let me = signed.session.user.name.as_str();
    let action = format!(
        "/holds/{}/{}/assign",
        urlencode(&d.insurer_number),
        urlencode(&d.verification_id)
    );
    html! {
        form.inline.assign method="post" action=(action) {
            input type="hidden" name="csrf" value=(signed.session.csrf);
            @match record.assignee.as_deref() {
                Some(a) if a == me => {
                    input type="hidden" name="action" value="release";
                    button type="submit" { (lang.pick("担当を外す", "Release")) }
                },
                Some(_) => {
                    input type="hidden" name="action" value="claim";
                    button type="submit" { (lang.pick("担当を引き継ぐ", "Take over")) }
                },
                None => {
                    input type="hidden" name="action" value="claim";
                    button type="submit" accesskey="c" { (lang.pick("自分が担当する", "Claim")) }
                },
            }
        }
    }
}

/// The claim and release form.
#[derive(Deserialize)]
pub(in crate::console) struct AssignForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
    /// `claim` or `release`.
    #[serde(default)]
    action: String,
}

/// `POST /holds/{insurer}/{id}/assign`: claims the case for the signed-in clerk, or releases
/// it, through AssignHold's parsing and use case.
pub(in crate::console) async fn assign(
    State(console): State<Arc<Console>>,
    axum::Extension(Peer(peer)): axum::Extension<Peer>,
    signed: Signed,
    Path((insurer, id)): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Response {
    let lang = signed.lang;
    let user = &signed.session.user;
    if let Some(refused) =
        action_refused(&console, peer, &signed, &insurer, &form.csrf, "AssignHold")
    {
        return refused;
    }
    let request = pb::AssignHoldRequest {
        verification_id: id.clone(),
        insurer_number: insurer.clone(),
        assignee: if form.action == "release" {
            String::new()
        } else {
            user.name.clone()
        },
    };
    let Ok(parsed) = parse::parse_assign_hold(&request) else {
        return errors::not_found_in(lang);
    };
    match console.verifications.assign_hold(parsed, &user.name).await {
        Ok(_) => Redirect::to(&format!(
            "/holds/{}/{}",
            urlencode(&insurer),
            urlencode(&id)
        ))
        .into_response(),
        Err(VerificationError::Refused { reason, .. }) => {
            let Ok(record) = console.verifications.get(&insurer, &id).await else {
                return errors::not_found_in(lang);
            };
            let problems = Problems::Refused(refusal(reason, lang).to_owned());
            let form = ResolveForm::default();
            again(
                &console,
                &signed,
                &record,
                StatusCode::CONFLICT,
                problems,
                &form,
            )
            .await
        }
        Err(e) => errors::failure(lang, &e),
    }
}
