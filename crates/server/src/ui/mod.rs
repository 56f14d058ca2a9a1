//! The web UI: server-rendered HTML pages, no scripts, no build step. This file only assembles the
//! routes; each page lives in the module of its capability, and what pages share (the one page
//! shell, its security headers, the session) in [`page`].
//!
//! Pages: incident list, incident page (with actions and the pages sent), service catalog and
//! service page, who is on call now, schedules and escalation policies, the status of the paging
//! channels, the log-in page, and the pages of signed acknowledge and resolve links.

mod chart;
mod format;
mod incidents;
mod links;
mod login;
mod oncall;
mod page;
mod roster;
mod services;
mod status;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::state::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .merge(login::routes())
        .merge(incidents::routes())
        .merge(services::routes())
        .merge(oncall::routes())
        .merge(links::routes())
        .merge(status::routes())
}
