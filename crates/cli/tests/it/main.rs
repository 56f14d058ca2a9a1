//! End-to-end tests of the `firebreak` binary: real processes, real HTTP, real databases, and a
//! real headless Chromium for the web UI.

mod alertmanager;
mod browser;
mod crash;
mod golden;
mod ingest_http;
mod oncall;
mod support;
mod walk;
