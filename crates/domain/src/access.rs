//! Who may do what, on which object: the one decision table ([`decide`]).
//!
//! A person holds [`Grants`]: whether they administer the installation, and a [`Role`] in each of
//! their teams. An object is in a [`Scope`]: owned by a team (a service, its incidents, a schedule
//! or policy of the team), belonging to one person (their contact methods, rules, tokens,
//! password), or installation-wide (teams and users themselves, the audit log, unowned schedules
//! and policies). Reading is installation-wide for anyone who holds a role anywhere; acting and
//! editing are by team.

use std::collections::BTreeMap;
use std::fmt;

use crate::Id;

/// A role in a team, from the least to the most it allows; each allows what the ones below it do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads incidents and their status updates, and subscribes; acts on nothing.
    Stakeholder,
    /// Reads incidents and configuration.
    Viewer,
    /// Acts on the team's incidents: acknowledge, resolve, note, assign, snooze, page by hand;
    /// silences the team's alerts.
    Responder,
    /// Edits the team: its services, schedules, escalation policies, members and signals.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Stakeholder, Role::Viewer, Role::Responder, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Stakeholder => "stakeholder",
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most a token may do: the role it was created with. A token never does more than the person
/// (or team) it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// Whatever its owner may do, administration included.
    Admin,
    /// At most this role in each of its owner's teams; never administration.
    Team(Role),
}

impl Cap {
    pub fn as_str(self) -> &'static str {
        match self {
            Cap::Admin => "admin",
            Cap::Team(role) => role.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<Cap> {
        if text == "admin" { Some(Cap::Admin) } else { Role::parse(text).map(Cap::Team) }
    }
}

/// What one person (or one token) may do: administration, and a role per team.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// The person acting, when it is a person (a token of a person acts as them).
    pub user: Option<Id>,
    pub admin: bool,
    pub teams: BTreeMap<Id, Role>,
}

impl Grants {
    /// An administrator who is nobody in particular: a token made on the database for bootstrap,
    /// or firebreak itself.
    pub fn installation_admin() -> Grants {
        Grants { user: None, admin: true, teams: BTreeMap::new() }
    }

    /// What is left of these grants under `cap`.
    #[must_use]
    pub fn capped(mut self, cap: Cap) -> Grants {
        if let Cap::Team(most) = cap {
            self.admin = false;
            for role in self.teams.values_mut() {
                *role = (*role).min(most);
            }
        }
        self
    }

    /// Whether `cap` is no more than these grants: admin only for an administrator, a team role
    /// only up to the highest role held.
    pub fn allow_cap(&self, cap: Cap) -> bool {
        match cap {
            Cap::Admin => self.admin,
            Cap::Team(role) => self.admin || self.teams.values().any(|held| *held >= role),
        }
    }

    /// The role held in `team`, if any.
    pub fn role_in(&self, team: Id) -> Option<Role> {
        self.teams.get(&team).copied()
    }

    /// The highest role held in any team.
    pub fn highest_role(&self) -> Option<Role> {
        self.teams.values().copied().max()
    }
}

/// What someone wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read incidents, their timelines and alerts, services, teams, people's names, who is on call.
    ReadIncidents,
    /// Subscribe to an incident's status updates.
    Subscribe,
    /// Read configuration: schedules, escalation policies, silences, contact methods and rules.
    ReadConfiguration,
    /// Act on an incident (acknowledge, resolve, note, assign, snooze, reassign, escalate, declare),
    /// silence alerts, send samples.
    Respond,
    /// Page someone by hand about an incident.
    Page,
    /// Change configuration: services, schedules, policies, members, signals; one's own profile,
    /// contact methods, rules, password and tokens.
    Configure,
    /// Installation-wide administration: create teams and users, grant administration, read the
    /// audit log, manage other people's tokens.
    Administer,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::ReadIncidents,
        Action::Subscribe,
        Action::ReadConfiguration,
        Action::Respond,
        Action::Page,
        Action::Configure,
        Action::Administer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReadIncidents => "read incidents",
            Action::Subscribe => "subscribe",
            Action::ReadConfiguration => "read configuration",
            Action::Respond => "respond",
            Action::Page => "page",
            Action::Configure => "configure",
            Action::Administer => "administer",
        }
    }
}

/// Where the object acted on belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Nobody's in particular: the installation.
    Installation,
    /// Owned by a team: a service and its incidents, alerts, signals and silences; a team's
    /// schedule or escalation policy; the team itself.
    Team(Id),
    /// One person's: their profile, contact methods, notification rules, password, tokens.
    Person(Id),
}

/// What was missing for a refusal: the role to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Administration of the installation.
    Admin,
    /// At least this role in this team.
    TeamRole(Id, Role),
    /// At least this role in some team.
    AnyRole(Role),
    /// Being this person (or an administrator).
    Person(Id),
}

/// The least role that allows `action` in a team.
fn least_role(action: Action) -> Option<Role> {
    match action {
        Action::ReadIncidents | Action::Subscribe => Some(Role::Stakeholder),
        Action::ReadConfiguration => Some(Role::Viewer),
        Action::Respond | Action::Page => Some(Role::Responder),
        Action::Configure => Some(Role::Owner),
        Action::Administer => None,
    }
}

/// Whether `grants` allow `action` on an object in `scope`; the refusal says what is missing.
///
/// An administrator may do everything. Otherwise: reading (incidents, and configuration) and
/// subscribing need that role in any team, since firebreak is read across teams; responding,
/// paging and configuring a team's objects need that role in the owning team; a person's own
/// objects are theirs to read and configure; installation-wide objects are for administrators,
/// except reading.
pub fn decide(grants: &Grants, action: Action, scope: Scope) -> Result<(), Missing> {
    if grants.admin {
        return Ok(());
    }
    let Some(least) = least_role(action) else {
        return Err(Missing::Admin);
    };
    let reads = matches!(action, Action::ReadIncidents | Action::Subscribe | Action::ReadConfiguration);
    let anywhere = grants.highest_role().is_some_and(|held| held >= least);
    match scope {
        Scope::Person(user) if grants.user == Some(user) => {
            if action == Action::Page {
                Err(Missing::AnyRole(Role::Responder))
            } else {
                Ok(())
            }
        }
        _ if reads => {
            if anywhere {
                Ok(())
            } else {
                Err(Missing::AnyRole(least))
            }
        }
        Scope::Team(team) => match grants.role_in(team) {
            Some(held) if held >= least => Ok(()),
            _ => Err(Missing::TeamRole(team, least)),
        },
        Scope::Person(user) => Err(Missing::Person(user)),
        Scope::Installation => Err(Missing::Admin),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use expect_test::expect;

    use super::*;

    const OURS: Id = 1;
    const THEIRS: Id = 2;
    const ME: Id = 10;
    const SOMEONE: Id = 11;

    /// Every role, action and object (owned by the principal's team or not, the principal's own or
    /// someone else's, installation-wide) as one table: `yes`, or what is missing.
    #[test]
    fn the_decision_table() {
        let mut principals: Vec<(String, Grants)> = vec![
            ("nobody".to_owned(), Grants { user: Some(ME), ..Grants::default() }),
            ("admin".to_owned(), Grants { user: Some(ME), admin: true, teams: BTreeMap::new() }),
        ];
        for role in Role::ALL {
            principals.push((
                role.as_str().to_owned(),
                Grants { user: Some(ME), admin: false, teams: BTreeMap::from([(OURS, role)]) },
            ));
        }
        let scopes = [
            ("our team", Scope::Team(OURS)),
            ("their team", Scope::Team(THEIRS)),
            ("mine", Scope::Person(ME)),
            ("someone's", Scope::Person(SOMEONE)),
            ("installation", Scope::Installation),
        ];
        let mut table = String::new();
        for (name, grants) in &principals {
            writeln!(table, "{name}:").unwrap();
            for action in Action::ALL {
                let cells: Vec<String> = scopes
                    .iter()
                    .map(|(scope_name, scope)| {
                        let cell = match decide(grants, action, *scope) {
                            Ok(()) => "yes".to_owned(),
                            Err(Missing::Admin) => "admin".to_owned(),
                            Err(Missing::TeamRole(team, role)) => format!("{role}@{team}"),
                            Err(Missing::AnyRole(role)) => format!("{role}@any"),
                            Err(Missing::Person(user)) => format!("user {user}"),
                        };
                        format!("{scope_name}={cell}")
                    })
                    .collect();
                writeln!(table, "  {:<18} {}", action.as_str(), cells.join(" ")).unwrap();
            }
        }
        expect![[r#"
            nobody:
              read incidents     our team=stakeholder@any their team=stakeholder@any mine=yes someone's=stakeholder@any installation=stakeholder@any
              subscribe          our team=stakeholder@any their team=stakeholder@any mine=yes someone's=stakeholder@any installation=stakeholder@any
              read configuration our team=viewer@any their team=viewer@any mine=yes someone's=viewer@any installation=viewer@any
              respond            our team=responder@1 their team=responder@2 mine=yes someone's=user 11 installation=admin
              page               our team=responder@1 their team=responder@2 mine=responder@any someone's=user 11 installation=admin
              configure          our team=owner@1 their team=owner@2 mine=yes someone's=user 11 installation=admin
              administer         our team=admin their team=admin mine=admin someone's=admin installation=admin
            admin:
              read incidents     our team=yes their team=yes mine=yes someone's=yes installation=yes
              subscribe          our team=yes their team=yes mine=yes someone's=yes installation=yes
              read configuration our team=yes their team=yes mine=yes someone's=yes installation=yes
              respond            our team=yes their team=yes mine=yes someone's=yes installation=yes
              page               our team=yes their team=yes mine=yes someone's=yes installation=yes
              configure          our team=yes their team=yes mine=yes someone's=yes installation=yes
              administer         our team=yes their team=yes mine=yes someone's=yes installation=yes
            stakeholder:
              read incidents     our team=yes their team=yes mine=yes someone's=yes installation=yes
              subscribe          our team=yes their team=yes mine=yes someone's=yes installation=yes
              read configuration our team=viewer@any their team=viewer@any mine=yes someone's=viewer@any installation=viewer@any
              respond            our team=responder@1 their team=responder@2 mine=yes someone's=user 11 installation=admin
              page               our team=responder@1 their team=responder@2 mine=responder@any someone's=user 11 installation=admin
              configure          our team=owner@1 their team=owner@2 mine=yes someone's=user 11 installation=admin
              administer         our team=admin their team=admin mine=admin someone's=admin installation=admin
            viewer:
              read incidents     our team=yes their team=yes mine=yes someone's=yes installation=yes
              subscribe          our team=yes their team=yes mine=yes someone's=yes installation=yes
              read configuration our team=yes their team=yes mine=yes someone's=yes installation=yes
              respond            our team=responder@1 their team=responder@2 mine=yes someone's=user 11 installation=admin
              page               our team=responder@1 their team=responder@2 mine=responder@any someone's=user 11 installation=admin
              configure          our team=owner@1 their team=owner@2 mine=yes someone's=user 11 installation=admin
              administer         our team=admin their team=admin mine=admin someone's=admin installation=admin
            responder:
              read incidents     our team=yes their team=yes mine=yes someone's=yes installation=yes
              subscribe          our team=yes their team=yes mine=yes someone's=yes installation=yes
              read configuration our team=yes their team=yes mine=yes someone's=yes installation=yes
              respond            our team=yes their team=responder@2 mine=yes someone's=user 11 installation=admin
              page               our team=yes their team=responder@2 mine=responder@any someone's=user 11 installation=admin
              configure          our team=owner@1 their team=owner@2 mine=yes someone's=user 11 installation=admin
              administer         our team=admin their team=admin mine=admin someone's=admin installation=admin
            owner:
              read incidents     our team=yes their team=yes mine=yes someone's=yes installation=yes
              subscribe          our team=yes their team=yes mine=yes someone's=yes installation=yes
              read configuration our team=yes their team=yes mine=yes someone's=yes installation=yes
              respond            our team=yes their team=responder@2 mine=yes someone's=user 11 installation=admin
              page               our team=yes their team=responder@2 mine=responder@any someone's=user 11 installation=admin
              configure          our team=yes their team=owner@2 mine=yes someone's=user 11 installation=admin
              administer         our team=admin their team=admin mine=admin someone's=admin installation=admin
        "#]]
        .assert_eq(&table);
    }

    #[test]
    fn a_capped_token_never_does_more_than_its_cap_or_its_owner() {
        let owner = Grants { user: Some(ME), admin: true, teams: BTreeMap::from([(OURS, Role::Owner)]) };
        let viewer = owner.clone().capped(Cap::Team(Role::Viewer));
        assert!(!viewer.admin);
        assert_eq!(viewer.role_in(OURS), Some(Role::Viewer));
        assert_eq!(
            decide(&viewer, Action::Respond, Scope::Team(OURS)),
            Err(Missing::TeamRole(OURS, Role::Responder))
        );
        assert_eq!(owner.clone().capped(Cap::Admin), owner);

        let responder =
            Grants { user: Some(ME), admin: false, teams: BTreeMap::from([(OURS, Role::Responder)]) };
        assert!(responder.allow_cap(Cap::Team(Role::Viewer)));
        assert!(responder.allow_cap(Cap::Team(Role::Responder)));
        assert!(!responder.allow_cap(Cap::Team(Role::Owner)));
        assert!(!responder.allow_cap(Cap::Admin));
        // Capping never raises a role.
        assert_eq!(responder.clone().capped(Cap::Team(Role::Owner)).role_in(OURS), Some(Role::Responder));
    }

    #[test]
    fn roles_and_caps_read_back_what_they_write() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(Cap::parse(role.as_str()), Some(Cap::Team(role)));
        }
        assert_eq!(Cap::parse("admin"), Some(Cap::Admin));
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Owner"), None);
    }
}
