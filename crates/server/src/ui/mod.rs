//! The web UI: server-rendered HTML pages and plain HTML forms, no build step. This file only
//! assembles the routes; each page lives in the module of its capability, and what pages share in
//! shared modules: the one page shell, its security headers and the session in [`page`], what
//! forms share in [`forms`], and the parts of pages that keep themselves up to date in [`live`]
//! (with the one script, a file of this crate; no page needs it to work).
//!
//! Pages: incident list (live), incident page (with actions, the pages sent, and a live timeline),
//! service catalog and service page, who is on call now, schedules and escalation policies,
//! people (teams, users and their contact methods), the status of the paging channels, the log-in
//! page, and the pages of signed acknowledge and resolve links. Every object but an incident is
//! created, edited and deleted with forms: each posts with the session's form token and is
//! answered with a redirect, or with the form again, as it was typed, and the application's
//! message, with a 4xx status.

mod account;
mod chart;
mod format;
mod forms;
mod heartbeats;
mod incidents;
mod links;
mod live;
mod login;
mod oncall;
mod page;
mod people;
mod roster;
mod services;
mod silences;
mod status;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::state::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .merge(login::routes())
        .merge(account::routes())
        .merge(incidents::routes())
        .merge(services::routes())
        .merge(oncall::routes())
        .merge(people::routes())
        .merge(links::routes())
        .merge(live::routes())
        .merge(status::routes())
        .merge(silences::routes())
        .merge(heartbeats::routes())
}
