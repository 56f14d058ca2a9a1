//! Domain types and rules of firebreak.
//!
//! This crate decides; it does no I/O, reads no clock (every rule takes `now`) and knows no wire
//! format. The types here are deliberately not `Serialize`: the crates that own a format (`api`,
//! `store`, `ingest`) convert to and from it explicitly.

mod catalog;
mod incident;

pub use catalog::{Link, NAME_CHARS_MAX, Service, Team, User, validate_name};
pub use incident::{
    AssignRole, Command, Incident, IncidentError, Kind, NOTE_CHARS_MAX, NewIncident, Severity, Status,
    TITLE_CHARS_MAX, TimelineEntry, TimelineEvent, validate_note, validate_title,
};

/// Identifier of a team, user, service or incident: a positive integer assigned by the store.
pub type Id = i64;
