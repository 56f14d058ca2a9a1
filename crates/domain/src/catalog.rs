//! The service catalog: teams, users and the services they own.

use jiff::Timestamp;

use crate::Id;

/// Longest name accepted for a team, user or service.
pub const NAME_CHARS_MAX: usize = 100;

/// A team: owns services ("you built it, you own it") and, later, schedules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub id: Id,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

/// A person who responds to incidents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: Id,
    pub name: String,
    pub email: String,
    /// IANA time zone name, such as `Europe/Lisbon`.
    pub time_zone: String,
    pub created_at: Timestamp,
}

/// A documentation link of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub title: String,
    pub url: String,
}

/// A service: what it does, who owns it, how to run it, and what it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: Id,
    pub name: String,
    /// The owner team. Every service has exactly one.
    pub team_id: Id,
    pub description: String,
    /// Markdown.
    pub documentation: String,
    /// Markdown.
    pub runbook: String,
    pub links: Vec<Link>,
    /// Services this one depends on, by id.
    pub dependencies: Vec<Id>,
    pub created_at: Timestamp,
}

/// Checks a name of a team, user or service: not blank, at most [`NAME_CHARS_MAX`] characters,
/// no control characters, and not purely numeric (numbers are ids in every reference).
///
/// Returns the trimmed name, or a message saying what is wrong with it.
pub fn validate_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("name must not be empty".to_owned());
    }
    if name.chars().count() > NAME_CHARS_MAX {
        return Err(format!("name is longer than {NAME_CHARS_MAX} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters".to_owned());
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "name {name:?} is a number; names must contain a non-digit so they cannot be mistaken for ids"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: Result<&str, &str>) {
        assert_eq!(validate_name(name), expected.map_err(str::to_owned), "{name:?}");
    }

    #[test]
    fn names() {
        check("checkout", Ok("checkout"));
        check("  payments api ", Ok("payments api"));
        check("", Err("name must not be empty"));
        check("   ", Err("name must not be empty"));
        check("a\nb", Err("name must not contain control characters"));
        check(
            "42",
            Err("name \"42\" is a number; names must contain a non-digit so they cannot be mistaken for ids"),
        );
        check(&"x".repeat(101), Err("name is longer than 100 characters"));
        check(&"é".repeat(100), Ok(&"é".repeat(100)));
    }
}
