//! Tests of the HTTP API and the web UI, in-process: the router over a fresh store, a manual clock
//! and a recording transport (see `support`). Behaviour across processes (crashes, restarts,
//! replicas, real clients, a real browser) is tested on the binary, in the `firebreak` crate.

mod access;
mod api;
mod connections;
mod editing;
mod forms;
mod guides;
mod heartbeats;
mod hostile;
mod ingest;
mod oncall;
mod outcomes;
mod phones;
mod signals;
mod support;
mod ui;
