//! End-to-end tests of the `firebreak` binary: real processes, real HTTP, real databases, and a
//! real headless Chromium for the web UI.

mod alertmanager;
mod browser;
mod cli_catalog;
mod cli_oncall;
mod crash;
mod golden;
mod guides;
mod heartbeats;
mod ical;
mod ingest_http;
mod logs;
mod oidc;
mod outcomes_prometheus;
mod paging;
mod replicas;
mod scan;
mod secrets;
mod support;
mod tour;
mod walk;
