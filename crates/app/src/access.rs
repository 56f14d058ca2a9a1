//! Access: who is acting ([`Principal`]), what they may do (the decision table of
//! [`firebreak_domain::decide`], asked by [`App::authorize`] before every change), API tokens,
//! passwords, browser sessions, and the audit log.
//!
//! Tokens are stored hashed; the application keeps the records in memory and compares hashes in
//! constant time. A token it does not know triggers a reload (at most once per
//! [`RELOAD_INTERVAL`]), and the records are reloaded anyway when older than [`CACHE_TTL`], so a
//! token revoked on another replica stops working within it (on this one, at once). A person's
//! roles are cached for as long.
//!
//! Sessions are rows whose id is the SHA-256 of a random secret held only by the browser's cookie;
//! they end when idle for [`SESSION_IDLE`], at [`SESSION_MAX`] whatever happens, or at logout.
//! Logging in is slowed per account and per address ([`Throttle`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use firebreak_domain::{Action, Cap, Grants, Id, Missing, Role, Scope, User};
pub use firebreak_store::TokenInfo;
use firebreak_store::{AuditEntry, AuditFilter, NewToken, SYSTEM_ACTOR, Store, TokenRecord, Tx, secret};
use jiff::{SignedDuration, Timestamp};

use crate::{App, Error, Result, resolve};

/// Shortest time between two reloads of the token list caused by unknown tokens.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// Longest time a token record or a person's roles are used from memory before being read again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// A session not used for this long ends.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(12);
/// A session ends this long after it began, however much it is used.
pub const SESSION_MAX: SignedDuration = SignedDuration::from_hours(24 * 7);
/// Shortest password.
pub const PASSWORD_CHARS_MIN: usize = 12;
/// Longest password (hashing is the expensive part of logging in; it stays bounded).
pub const PASSWORD_CHARS_MAX: usize = 200;
/// Failed logins of one account before each further attempt must wait.
pub const ACCOUNT_FAILURES_FREE: u32 = 5;
/// Failed logins from one address before each further attempt must wait.
pub const ADDRESS_FAILURES_FREE: u32 = 20;
/// Longest wait imposed after failed logins.
pub const LOGIN_WAIT_MAX: SignedDuration = SignedDuration::from_mins(15);
/// Longest token name.
const TOKEN_NAME_CHARS_MAX: usize = 100;
/// How often a token's last use is written at most.
const LAST_USED_EVERY: SignedDuration = SignedDuration::from_mins(1);
/// How often a session's last use is written at most.
const SESSION_SEEN_EVERY: SignedDuration = SignedDuration::from_mins(1);
/// Most accounts and addresses the login throttle remembers.
const THROTTLE_KEYS_MAX: usize = 10_000;

/// How someone acts, beyond what their grants allow.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Via {
    /// Their own grants: a session, a token, firebreak itself.
    Grants,
    /// A page sent to them: a signed link from it, or a reply to it by SMS or phone keys. It lets
    /// them respond to the incident it was about (the caller checked which), nothing else.
    Page,
}

/// Who is acting: a person (logged in, or by one of their tokens), a team's or the installation's
/// token, someone answering a page, or firebreak itself; what they may do; and from where. Its
/// name is what timelines and the audit log show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    name: String,
    grants: Grants,
    via: Via,
    token: Option<Id>,
    session: Option<Id>,
    address: String,
}

impl Principal {
    /// firebreak itself, which may do everything.
    pub fn system() -> Principal {
        Principal::with_grants(SYSTEM_ACTOR, Grants::installation_admin())
    }

    /// An administrator named `name` who is nobody in particular, as an installation token is.
    pub fn admin(name: &str) -> Principal {
        Principal::with_grants(name, Grants::installation_admin())
    }

    /// Someone named `name` holding `grants` (tests and tools that act on the database).
    pub fn with_grants(name: &str, grants: Grants) -> Principal {
        Principal {
            name: name.to_owned(),
            grants,
            via: Via::Grants,
            token: None,
            session: None,
            address: String::new(),
        }
    }

    /// Whoever answers a page: its person, or, for an older link that names nobody, the link.
    pub(crate) fn paged(user: Option<&User>) -> Principal {
        let (name, id) = match user {
            Some(user) => (user.name.as_str(), Some(user.id)),
            None => ("page link", None),
        };
        Principal {
            name: name.to_owned(),
            grants: Grants { user: id, ..Grants::default() },
            via: Via::Page,
            token: None,
            session: None,
            address: String::new(),
        }
    }

    /// This principal, acting from `address` (the client's IP address).
    #[must_use]
    pub fn from_address(mut self, address: impl Into<String>) -> Principal {
        self.address = address.into();
        self
    }

    /// The name timelines show.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The person acting, when it is a person.
    pub fn user_id(&self) -> Option<Id> {
        self.grants.user
    }

    /// What they may do.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Whether they administer the installation.
    pub fn is_admin(&self) -> bool {
        self.via == Via::Grants && self.grants.admin
    }

    /// The token they act by, if any.
    pub fn token_id(&self) -> Option<Id> {
        self.token
    }

    /// Whether they may do `action` in `scope` (without saying why not).
    pub fn may(&self, action: Action, scope: Scope) -> bool {
        self.decide(action, scope).is_ok()
    }

    fn decide(&self, action: Action, scope: Scope) -> std::result::Result<(), Missing> {
        match self.via {
            Via::Grants => firebreak_domain::decide(&self.grants, action, scope),
            Via::Page if action == Action::Respond => Ok(()),
            Via::Page => Err(match scope {
                Scope::Team(team) => Missing::TeamRole(team, Role::Responder),
                _ => Missing::Admin,
            }),
        }
    }
}

/// A token asked for: `POST /tokens`.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub name: String,
    /// The person it acts as (an administrator may name another); the caller by default.
    pub user: Option<firebreak_api::Ref>,
    /// The team it acts for, instead of a person.
    pub team: Option<firebreak_api::Ref>,
    /// The most it may do: `admin` or a team role; the caller's highest by default.
    pub role: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// A session begun: the secret for the cookie (shown this once) and the form token of its forms.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub secret: String,
    pub user: User,
}

/// A logged-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: Id,
    pub actor: Principal,
}

/// What the token cache holds.
#[derive(Debug, Default)]
struct Cache {
    tokens: Vec<TokenRecord>,
    loaded_at: Option<Instant>,
    /// A person's name and grants (uncapped), with when they were read.
    people: HashMap<Id, (String, Grants, Instant)>,
    /// When each token's last use was written.
    used_written: HashMap<Id, Timestamp>,
}

/// The known tokens and people's roles, in memory.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    inner: Mutex<Cache>,
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner.lock().expect("token cache lock is never poisoned")
    }

    /// Forgets everything, after a change of tokens or roles made here.
    pub(crate) fn forget(&self) {
        let mut cache = self.lock();
        cache.loaded_at = None;
        cache.people.clear();
    }

    async fn find(&self, store: &Store, token: &str) -> Result<Option<TokenRecord>> {
        let hash = secret::hash(token);
        let stale = self.lock().loaded_at.is_none_or(|at| at.elapsed() >= CACHE_TTL);
        if !stale && let Some(found) = self.matching(&hash) {
            return Ok(Some(found));
        }
        let reload = stale || self.lock().loaded_at.is_none_or(|at| at.elapsed() >= RELOAD_INTERVAL);
        if reload {
            let tokens = store.token_records().await?;
            let mut cache = self.lock();
            cache.tokens = tokens;
            cache.loaded_at = Some(Instant::now());
        }
        Ok(self.matching(&hash))
    }

    fn matching(&self, hash: &str) -> Option<TokenRecord> {
        let cache = self.lock();
        // Every stored hash is compared, so the time taken says nothing about which one matched.
        let mut found = None;
        for record in &cache.tokens {
            if secret::constant_time_eq(&record.hash, hash) {
                found = Some(record.clone());
            }
        }
        found
    }

    async fn person(&self, store: &Store, user: Id) -> Result<(String, Grants)> {
        if let Some((name, grants, at)) = self.lock().people.get(&user)
            && at.elapsed() < CACHE_TTL
        {
            return Ok((name.clone(), grants.clone()));
        }
        let name = store.user(user).await?.name;
        let (admin, roles) = store.grants(user).await?;
        let teams: BTreeMap<Id, Role> =
            roles.into_iter().filter_map(|(team, role)| Some((team, Role::parse(&role)?))).collect();
        let grants = Grants { user: Some(user), admin, teams };
        self.lock().people.insert(user, (name.clone(), grants.clone(), Instant::now()));
        Ok((name, grants))
    }

    /// Whether the last use of token `id` at `now` should be written.
    fn note_use(&self, id: Id, now: Timestamp) -> bool {
        let mut cache = self.lock();
        let due = cache.used_written.get(&id).is_none_or(|at| now.duration_since(*at) >= LAST_USED_EVERY);
        if due {
            cache.used_written.insert(id, now);
        }
        due
    }
}

/// Failed logins, per account and per address: after a few, each attempt must wait twice as long
/// as the one before (up to [`LOGIN_WAIT_MAX`]) since the last failure. A success clears the
/// account's count. In memory: each replica slows logins on its own.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

impl Throttle {
    /// How long `key` must still wait at `now`, if at all.
    fn wait(&self, key: &str, free: u32, now: Timestamp) -> Option<SignedDuration> {
        let failures = self.failures.lock().expect("throttle lock is never poisoned");
        let (count, last) = failures.get(key)?;
        if *count < free {
            return None;
        }
        let doublings = (count - free).min(20);
        let wait = SignedDuration::from_secs(1i64 << doublings).min(LOGIN_WAIT_MAX);
        let until = last.saturating_add(wait).ok()?;
        (until > now).then(|| until.duration_since(now))
    }

    fn failed(&self, key: String, now: Timestamp) {
        let mut failures = self.failures.lock().expect("throttle lock is never poisoned");
        if failures.len() >= THROTTLE_KEYS_MAX && !failures.contains_key(&key) {
            // Forget whatever failed longest ago: a flood of addresses cannot grow this.
            if let Some(oldest) = failures.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone()) {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(key).or_insert((0, now));
        *entry = (entry.0.saturating_add(1), now);
    }

    fn succeeded(&self, key: &str) {
        self.failures.lock().expect("throttle lock is never poisoned").remove(key);
    }
}

/// What goes into the audit log about one change.
pub(crate) struct Audit<'a> {
    pub action: &'a str,
    pub object: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(action: &'a str, object: String) -> Audit<'a> {
        Audit { action, object, before: None, after: None }
    }

    #[must_use]
    pub(crate) fn before(mut self, value: impl serde::Serialize) -> Audit<'a> {
        self.before = serde_json::to_value(value).ok();
        self
    }

    #[must_use]
    pub(crate) fn after(mut self, value: impl serde::Serialize) -> Audit<'a> {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

impl App {
    /// Who holds API token `token`, acting from `address`.
    ///
    /// Fails with [`Error::Unauthorized`] for a token that is unknown, revoked or expired.
    pub async fn authenticate(&self, token: &str, address: &str) -> Result<Principal> {
        let invalid = || Error::Unauthorized("the API token is not valid".to_owned());
        if token.len() > secret::SECRET_CHARS_MAX {
            return Err(invalid());
        }
        let tokens = &self.inner.tokens;
        let record = tokens.find(self.store(), token).await?.ok_or_else(invalid)?;
        let now = self.now();
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::Unauthorized(format!("the API token {:?} expired", record.name)));
        }
        let cap = Cap::parse(&record.role).unwrap_or(Cap::Team(Role::Stakeholder));
        let (name, grants) = match (record.user_id, record.team_id) {
            (Some(user), _) => match tokens.person(self.store(), user).await {
                Ok((name, grants)) => (name, grants.capped(cap)),
                Err(Error::NotFound(_)) => return Err(invalid()),
                Err(err) => return Err(err),
            },
            (None, Some(team)) => {
                let role = match cap {
                    Cap::Team(role) => role,
                    Cap::Admin => Role::Owner,
                };
                (
                    record.name.clone(),
                    Grants { user: None, admin: false, teams: BTreeMap::from([(team, role)]) },
                )
            }
            (None, None) => (record.name.clone(), Grants::installation_admin().capped(cap)),
        };
        if tokens.note_use(record.id, now) {
            let store = self.store().clone();
            tokio::spawn(async move {
                if let Ok(mut tx) = store.begin().await
                    && tx.token_used(record.id, now).await.is_ok()
                {
                    let _ = tx.commit().await;
                }
            });
        }
        Ok(Principal {
            name,
            grants,
            via: Via::Grants,
            token: Some(record.id),
            session: None,
            address: address.to_owned(),
        })
    }

    /// Creates an installation token named `name` (an administrator's, as `firebreak token create`
    /// makes) and returns it; it cannot be shown again.
    ///
    /// Fails with [`Error::Invalid`] for an empty or overlong name, or one with control characters.
    pub async fn create_token(&self, name: &str) -> Result<String> {
        let token = create_token(self.store(), name, self.now()).await?;
        self.inner.tokens.forget();
        Ok(token)
    }

    /// Refuses with [`Error::Forbidden`], naming the role that is missing, unless `who` may do
    /// `action` in `scope`.
    pub async fn authorize(&self, who: &Principal, action: Action, scope: Scope) -> Result<()> {
        let Err(missing) = who.decide(action, scope) else {
            return Ok(());
        };
        let verb = action.as_str();
        Err(Error::Forbidden(match missing {
            Missing::Admin => format!("to {verb} here you need the admin role"),
            Missing::AnyRole(role) => format!("to {verb} you need the {role} role in a team"),
            Missing::TeamRole(team, role) => {
                let team_name = match self.store().team(team).await {
                    Ok(team) => team.name,
                    Err(_) => format!("team {team}"),
                };
                let held =
                    who.grants.role_in(team).map_or(String::new(), |held| format!(" (you are {held})"));
                format!("to {verb} here you need the {role} role in team {team_name}{held}")
            }
            Missing::Person(user) => format!("only user {user} themselves or an admin may {verb} this"),
        }))
    }

    /// The team that owns service `id`.
    pub(crate) async fn service_scope(&self, id: Id) -> Result<Scope> {
        Ok(Scope::Team(self.store().service(id).await?.team_id))
    }

    /// The team that owns incident `id` (its service's).
    pub(crate) async fn incident_scope(&self, id: Id) -> Result<Scope> {
        let incident = self.store().incident(id).await?;
        self.service_scope(incident.service_id).await
    }

    /// Appends `audit` by `who` to the log, in `tx`.
    pub(crate) async fn audit_in(&self, tx: &mut Tx, who: &Principal, audit: Audit<'_>) -> Result<()> {
        let entry = AuditEntry {
            id: 0,
            at: self.now(),
            actor: who.name.clone(),
            user_id: who.grants.user,
            token_id: who.token,
            address: who.address.clone(),
            action: audit.action.to_owned(),
            object: audit.object,
            before: audit.before.map(|value| value.to_string()),
            after: audit.after.map(|value| value.to_string()),
        };
        tx.append_audit(&entry).await?;
        Ok(())
    }

    /// Appends `audit` by `who` to the log, in a transaction of its own.
    pub(crate) async fn audit(&self, who: &Principal, audit: Audit<'_>) -> Result<()> {
        let mut tx = self.store().begin().await?;
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit log as `filter` says, newest first; for administrators.
    ///
    /// Fails with [`Error::Forbidden`] for anyone else.
    pub async fn audit_log(&self, who: &Principal, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        Ok(self.store().audit(filter).await?)
    }

    /// Creates a token as `request` says, on behalf of `who`, and returns its record and the
    /// token, which cannot be shown again.
    ///
    /// A token acts as its person, or for its team, with at most `role`: never more than its
    /// owner may do. Anyone may make tokens for themselves; an administrator for anyone; a team's
    /// owner for the team.
    ///
    /// Fails with [`Error::Invalid`] for a bad name, role or expiry, [`Error::NotFound`] for an
    /// unknown user or team, and [`Error::Forbidden`] for a token beyond what `who` may give.
    pub async fn create_api_token(
        &self,
        who: &Principal,
        request: TokenRequest,
    ) -> Result<(TokenInfo, String)> {
        let name = token_name(&request.name)?;
        let now = self.now();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::Invalid("expires_at must be in the future".to_owned()));
        }
        let role = match request.role.as_deref() {
            Some(text) => Some(Cap::parse(text).ok_or_else(|| {
                Error::Invalid(format!(
                    "invalid role {text:?}: use admin, owner, responder, viewer or stakeholder"
                ))
            })?),
            None => None,
        };
        if request.user.is_some() && request.team.is_some() {
            return Err(Error::Invalid("a token belongs to a user or to a team, not both".to_owned()));
        }
        let (user_id, team_id, cap) = if let Some(team) = &request.team {
            let team = resolve::team_id(self.store(), team).await?;
            self.authorize(who, Action::Configure, Scope::Team(team)).await?;
            let cap = match role {
                Some(Cap::Admin) => {
                    return Err(Error::Invalid("a team's token holds a team role, not admin".to_owned()));
                }
                Some(cap) => cap,
                None => Cap::Team(Role::Responder),
            };
            (None, Some(team), cap)
        } else {
            let user = match &request.user {
                Some(user) => Some(resolve::user_id(self.store(), user).await?),
                None => who.user_id(),
            };
            match user {
                Some(user) => {
                    self.authorize(who, Action::Configure, Scope::Person(user)).await?;
                    let (_, grants) = self.inner.tokens.person(self.store(), user).await?;
                    // A token never does more than its owner, nor than whoever makes it.
                    let cap = role.unwrap_or(if grants.admin {
                        Cap::Admin
                    } else {
                        Cap::Team(grants.highest_role().unwrap_or(Role::Stakeholder))
                    });
                    if !grants.allow_cap(cap) || !who.grants.allow_cap(cap) {
                        return Err(Error::Forbidden(format!(
                            "a token with the {} role would do more than its owner may",
                            cap.as_str()
                        )));
                    }
                    (Some(user), None, cap)
                }
                None => {
                    self.authorize(who, Action::Administer, Scope::Installation).await?;
                    (None, None, role.unwrap_or(Cap::Admin))
                }
            }
        };
        let new = NewToken {
            name: &name,
            user_id,
            team_id,
            role: cap.as_str(),
            expires_at: request.expires_at,
            created_by: who.name(),
        };
        let mut tx = self.store().begin().await?;
        let (id, token) = tx.create_owned_token(&new, now).await?;
        let after = serde_json::json!({
            "name": name, "user_id": user_id, "team_id": team_id, "role": cap.as_str(),
            "expires_at": request.expires_at.map(|at| at.to_string()),
        });
        self.audit_in(&mut tx, who, Audit::new("token.create", format!("token:{id}")).after(after)).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok((self.store().token(id).await?, token))
    }

    /// The tokens `who` may manage: their own; every token for an administrator.
    pub async fn api_tokens(&self, who: &Principal) -> Result<Vec<TokenInfo>> {
        if who.is_admin() {
            return Ok(self.store().tokens(None).await?);
        }
        match who.user_id() {
            Some(user) => Ok(self.store().tokens(Some(user)).await?),
            None => {
                Err(Error::Forbidden("only a person's tokens are listed; this token is a team's".to_owned()))
            }
        }
    }

    /// Revokes token `id`: it stops working at once here, and within [`CACHE_TTL`] on other
    /// replicas.
    ///
    /// Fails with [`Error::NotFound`] for an unknown or revoked token, [`Error::Forbidden`] for
    /// someone else's token (unless an administrator, or the owner of the token's team).
    pub async fn revoke_api_token(&self, who: &Principal, id: Id) -> Result<()> {
        let token = self.store().token(id).await?;
        let scope = match (token.user_id, token.team_id) {
            (Some(user), _) => Scope::Person(user),
            (None, Some(team)) => Scope::Team(team),
            (None, None) => Scope::Installation,
        };
        let action =
            if matches!(scope, Scope::Installation) { Action::Administer } else { Action::Configure };
        self.authorize(who, action, scope).await?;
        let mut tx = self.store().begin().await?;
        tx.revoke_token(id, self.now()).await?;
        self.audit_in(
            &mut tx,
            who,
            Audit::new("token.revoke", format!("token:{id}")).before(token_json(&token)),
        )
        .await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(())
    }

    /// Sets the password of `user`: their own, or anyone's for an administrator. Ends the
    /// person's sessions elsewhere.
    ///
    /// Fails with [`Error::Invalid`] for a password too short, too long or too common, and
    /// [`Error::Forbidden`] for someone else's password.
    pub async fn set_password(
        &self,
        who: &Principal,
        user: &firebreak_api::Ref,
        password: &str,
    ) -> Result<()> {
        let user = self.store().user(resolve::user_id(self.store(), user).await?).await?;
        self.authorize(who, Action::Configure, Scope::Person(user.id)).await?;
        set_password(self.store(), &user, password, self.now()).await?;
        self.audit(who, Audit::new("user.set_password", format!("user:{}", user.id))).await
    }

    /// Makes `user` an administrator, or not; for administrators.
    pub async fn set_admin(&self, who: &Principal, user: &firebreak_api::Ref, admin: bool) -> Result<()> {
        self.authorize(who, Action::Administer, Scope::Installation).await?;
        let user = resolve::user_id(self.store(), user).await?;
        let mut tx = self.store().begin().await?;
        tx.set_admin(user, admin).await?;
        let audit =
            Audit::new("user.set_admin", format!("user:{user}")).after(serde_json::json!({ "admin": admin }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        self.inner.tokens.forget();
        Ok(())
    }

    /// Logs in `name` with `password` from `address`, or says why not. Attempts are slowed per
    /// account and per address after a few failures ([`Error::TooMany`], with how long to wait).
    ///
    /// Fails with [`Error::Unauthorized`] for an unknown name or a wrong password (the same
    /// message for both, taking about as long).
    pub async fn login(&self, name: &str, password: &str, address: &str) -> Result<NewSession> {
        let now = self.now();
        let account = format!("account:{}", name.trim().to_lowercase());
        let from = format!("address:{address}");
        let throttle = &self.inner.throttle;
        let wait = [
            throttle.wait(&account, ACCOUNT_FAILURES_FREE, now),
            throttle.wait(&from, ADDRESS_FAILURES_FREE, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            return Err(Error::TooMany(wait));
        }
        let login = if password.chars().count() > PASSWORD_CHARS_MAX {
            None
        } else {
            self.store().login(name.trim()).await?
        };
        let stored = login.as_ref().and_then(|login| login.password_hash.clone());
        let password = password.to_owned();
        // The same work whether or not the account exists, so timing tells nothing.
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
            .await
            .map_err(|err| Error::Internal(format!("checking a password: {err}")))?;
        match login {
            Some(login) if matches => {
                throttle.succeeded(&account);
                self.begin_session(login.user, "password", address).await
            }
            _ => {
                throttle.failed(account, now);
                throttle.failed(from, now);
                Err(Error::Unauthorized("that name and password do not match".to_owned()))
            }
        }
    }

    /// Starts a session of `user`, logged in by `method`.
    pub(crate) async fn begin_session(&self, user: User, method: &str, address: &str) -> Result<NewSession> {
        let secret = secret::generate("fbs_");
        let now = self.now();
        let expires = now.saturating_add(SESSION_MAX).unwrap_or(now);
        let mut tx = self.store().begin().await?;
        let id = tx.create_session(&secret::hash(&secret), user.id, method, address, now, expires).await?;
        let who = Principal::with_grants(&user.name, Grants { user: Some(user.id), ..Grants::default() })
            .from_address(address);
        let audit = Audit::new("session.login", format!("user:{}", user.id))
            .after(serde_json::json!({ "method": method, "session": id }));
        self.audit_in(&mut tx, &who, audit).await?;
        tx.commit().await?;
        Ok(NewSession { secret, user })
    }

    /// The session whose cookie holds `secret`, used from `address`.
    ///
    /// Fails with [`Error::Unauthorized`] when there is none, or it ended (logged out, idle too
    /// long, too old).
    pub async fn session(&self, secret: &str, address: &str) -> Result<Session> {
        let ended = || Error::Unauthorized("the session ended; log in again".to_owned());
        if secret.len() > secret::SECRET_CHARS_MAX {
            return Err(ended());
        }
        let record = self.store().session(&secret::hash(secret)).await?.ok_or_else(ended)?;
        let now = self.now();
        let idle_until = record.last_seen_at.saturating_add(SESSION_IDLE).unwrap_or(record.last_seen_at);
        if record.revoked || now >= record.expires_at || now >= idle_until {
            return Err(ended());
        }
        if now.duration_since(record.last_seen_at) >= SESSION_SEEN_EVERY {
            let mut tx = self.store().begin().await?;
            tx.session_seen(record.id, now).await?;
            tx.commit().await?;
        }
        let (name, grants) = self.inner.tokens.person(self.store(), record.user_id).await?;
        let actor = Principal {
            name,
            grants,
            via: Via::Grants,
            token: None,
            session: Some(record.id),
            address: address.to_owned(),
        };
        Ok(Session { id: record.id, actor })
    }

    /// Ends session `session` of `who`: its cookie opens nothing any more, on any replica.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        let Some(session) = who.session else {
            return Ok(());
        };
        let mut tx = self.store().begin().await?;
        tx.revoke_session(session, self.now()).await?;
        let object = who.user_id().map_or_else(|| "session".to_owned(), |user| format!("user:{user}"));
        let audit = Audit::new("session.logout", object).after(serde_json::json!({ "session": session }));
        self.audit_in(&mut tx, who, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The code that creating the first administrator takes, made at start and written to the
    /// server's log (so only whoever runs the server can), with the page that uses it.
    pub fn setup_url(&self) -> String {
        format!("{}/login?setup={}", self.public_url(), self.inner.setup_code)
    }

    /// Whether nobody can log in yet: no token, no password, no administrator.
    pub async fn needs_first_admin(&self) -> Result<bool> {
        Ok(!self.store().anyone_can_log_in().await?)
    }

    /// Creates the first administrator, with a password, while nobody can log in yet
    /// ([`App::needs_first_admin`]), and logs them in; `setup_code` is the one in
    /// [`App::setup_url`].
    ///
    /// Fails with [`Error::Conflict`] once anyone can log in, and [`Error::Invalid`] for a bad
    /// field or password.
    pub async fn create_first_admin(
        &self,
        setup_code: &str,
        body: firebreak_api::CreateUser,
        password: &str,
        address: &str,
    ) -> Result<NewSession> {
        if !secret::constant_time_eq(setup_code.trim(), &self.inner.setup_code) {
            return Err(Error::Unauthorized(
                "that setup code is not this server's; it is in the server's log since it started".to_owned(),
            ));
        }
        if !self.needs_first_admin().await? {
            return Err(Error::Conflict("the first administrator exists already; log in".to_owned()));
        }
        check_password(password, &[&body.name, &body.email])?;
        let user = self.create_user(&Principal::system(), body).await?;
        {
            let mut tx = self.store().begin().await?;
            tx.set_admin(user.id, true).await?;
            tx.commit().await?;
        }
        set_password(self.store(), &user, password, self.now()).await?;
        let who = Principal::with_grants(&user.name, Grants { user: Some(user.id), ..Grants::default() })
            .from_address(address);
        self.audit(&who, Audit::new("user.first_admin", format!("user:{}", user.id))).await?;
        self.inner.tokens.forget();
        self.begin_session(user, "setup", address).await
    }
}

fn token_json(token: &TokenInfo) -> serde_json::Value {
    serde_json::json!({
        "name": token.name, "user_id": token.user_id, "team_id": token.team_id, "role": token.role,
        "expires_at": token.expires_at.map(|at| at.to_string()),
    })
}

fn token_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "invalid token name {name:?}: it must be 1 to {TOKEN_NAME_CHARS_MAX} characters without control characters"
        )));
    }
    Ok(name.to_owned())
}

/// Checks `password` for a person known by `inputs` (their name, email): long enough, not too
/// long, and not among the most common passwords or close to one (zxcvbn's estimate, which also
/// knows the person's own name and email).
///
/// Fails with [`Error::Invalid`] saying what is wrong.
pub fn check_password(password: &str, inputs: &[&str]) -> Result<()> {
    let chars = password.chars().count();
    if chars < PASSWORD_CHARS_MIN {
        return Err(Error::Invalid(format!(
            "the password must have at least {PASSWORD_CHARS_MIN} characters"
        )));
    }
    if chars > PASSWORD_CHARS_MAX {
        return Err(Error::Invalid(format!(
            "the password must have at most {PASSWORD_CHARS_MAX} characters"
        )));
    }
    let estimate = zxcvbn::zxcvbn(password, inputs);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map_or_else(|| "it is too easy to guess".to_owned(), |warning| warning.to_string());
        return Err(Error::Invalid(format!(
            "that password is among the most common ones or close to one ({}); choose another, such as a few unrelated words",
            why.trim_end_matches('.')
        )));
    }
    Ok(())
}

/// Sets `user`'s password directly on `store` (for `firebreak user set-password`, which runs with
/// or without a server), after [`check_password`]; ends their sessions.
///
/// Fails with [`Error::Invalid`] for a password that does not pass.
pub async fn set_password(store: &Store, user: &User, password: &str, now: Timestamp) -> Result<()> {
    check_password(password, &[&user.name, &user.email])?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|err| Error::Internal(format!("hashing a password: {err}")))??;
    let mut tx = store.begin().await?;
    tx.set_password(user.id, Some(&hash)).await?;
    tx.revoke_sessions_of(user.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes `user` an administrator directly on `store` (for `firebreak user set-password --admin`).
pub async fn make_admin(store: &Store, user: &firebreak_api::Ref) -> Result<User> {
    let id = resolve::user_id(store, user).await?;
    let mut tx = store.begin().await?;
    tx.set_admin(id, true).await?;
    tx.commit().await?;
    Ok(store.user(id).await?)
}

/// The user `user` names, directly on `store`.
pub async fn find_user(store: &Store, user: &firebreak_api::Ref) -> Result<User> {
    let id = resolve::user_id(store, user).await?;
    Ok(store.user(id).await?)
}

/// The argon2id hash of `password` with a fresh salt, as a PHC string.
fn hash_password(password: &str) -> Result<String> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()).map_err(|err| Error::Internal(err.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| Error::Internal(format!("hashing a password: {err}")))
}

/// Whether `password` matches `stored`. Without a stored hash, a dummy one is checked, so that an
/// unknown name takes as long as a wrong password.
fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("not anyone's password at all").unwrap_or_default());
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (DUMMY.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && real
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source must be available");
    bytes
}

/// Creates an installation token named `name` directly on `store` (for `firebreak token create`,
/// which runs with or without a server): an administrator's, for bootstrap.
///
/// Fails with [`Error::Invalid`] for a bad name.
pub async fn create_token(store: &Store, name: &str, now: Timestamp) -> Result<String> {
    let name = token_name(name)?;
    let mut tx = store.begin().await?;
    let token = tx.create_token(&name, now).await?;
    let entry = AuditEntry {
        id: 0,
        at: now,
        actor: SYSTEM_ACTOR.to_owned(),
        user_id: None,
        token_id: None,
        address: String::new(),
        action: "token.create".to_owned(),
        object: "token".to_owned(),
        before: None,
        after: Some(serde_json::json!({ "name": name, "role": "admin" }).to_string()),
    };
    tx.append_audit(&entry).await?;
    tx.commit().await?;
    Ok(token)
}

/// The token that a web form of the session with `secret` must carry: derived from it, so another
/// site cannot know it, and compared with [`form_token_matches`].
pub fn form_token(secret: &str) -> String {
    secret::hash(&format!("firebreak form token:{secret}"))[..32].to_owned()
}

/// A random secret for a form that comes before any session (the login forms' double-submit check).
pub fn new_form_secret() -> String {
    secret::generate("")[..32].to_owned()
}

/// Whether `given` is the form token `expected`, compared in constant time.
pub fn form_token_matches(given: &str, expected: &str) -> bool {
    secret::constant_time_eq(given, expected)
}

/// Most audit entries one request lists.
pub const AUDIT_PAGE_MAX: u32 = 500;

impl App {
    /// The audit log as `query` asks, newest first, in the API's shape; for administrators.
    ///
    /// Fails with [`Error::Forbidden`] for anyone else and [`Error::BadRequest`] for a malformed
    /// instant or limit.
    pub async fn audit_entries(
        &self,
        who: &Principal,
        query: &firebreak_api::AuditQuery,
    ) -> Result<Vec<firebreak_api::AuditEntry>> {
        let limit = query.limit.unwrap_or(100);
        if limit == 0 || limit > AUDIT_PAGE_MAX {
            return Err(Error::BadRequest(format!("limit must be between 1 and {AUDIT_PAGE_MAX}")));
        }
        let since = match query.since.as_deref().filter(|since| !since.is_empty()) {
            Some(since) => Some(resolve::instant("since", since)?),
            None => None,
        };
        let filter = AuditFilter {
            actor: query.actor.clone().filter(|actor| !actor.is_empty()),
            object: query.object.clone().filter(|object| !object.is_empty()),
            since,
            before_id: query.before,
            limit,
        };
        let parse = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
        Ok(self
            .audit_log(who, &filter)
            .await?
            .into_iter()
            .map(|entry| firebreak_api::AuditEntry {
                id: entry.id,
                at: entry.at,
                actor: entry.actor,
                user_id: entry.user_id,
                token_id: entry.token_id,
                address: entry.address,
                action: entry.action,
                object: entry.object,
                before: parse(entry.before),
                after: parse(entry.after),
            })
            .collect())
    }
}
