//! Tests of the application layer over a real store: the escalation driver in simulated time,
//! changes made in one transaction, machine-made signals through the alert path, and the workers'
//! shutdown.

mod catalog;
mod paging;
mod signals;
mod support;
mod workers;
