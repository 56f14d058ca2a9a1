//! Access: API tokens, passwords, sessions, roles and the audit log.
//!
//! Secrets (tokens, session ids, OpenID states) are stored as their SHA-256 only; passwords as the
//! argon2id string the application made. The audit log is append-only: both backends refuse to
//! change or delete its rows.

use firebreak_domain::{Id, User};
use jiff::Timestamp;

use crate::rows::{UserRow, from_millis, millis};
use crate::{Result, Store, StoreError, Tx, secret};

/// A token as the server checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: Id,
    pub name: String,
    pub hash: String,
    /// The person it acts as; `None` with `team_id` also `None` for an installation token.
    pub user_id: Option<Id>,
    /// The team it acts for.
    pub team_id: Option<Id>,
    /// The most it may do: `admin` or a team role.
    pub role: String,
    pub expires_at: Option<Timestamp>,
}

/// A token as its owner sees it in a list (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Id,
    pub name: String,
    pub user_id: Option<Id>,
    pub team_id: Option<Id>,
    pub role: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// A token to create.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub user_id: Option<Id>,
    pub team_id: Option<Id>,
    pub role: &'a str,
    pub expires_at: Option<Timestamp>,
    /// Who created it, as the audit log names them.
    pub created_by: &'a str,
}

/// What logging in by name needs.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: User,
    pub password_hash: Option<String>,
}

/// A session found by its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Id,
    pub user_id: Id,
    pub method: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Id,
    pub at: Timestamp,
    /// Who, as timelines name them.
    pub actor: String,
    pub user_id: Option<Id>,
    pub token_id: Option<Id>,
    /// From where: the client's address, when known.
    pub address: String,
    /// What was done, such as `service.update` or `incident.acknowledge`.
    pub action: String,
    /// What it was done to, such as `service:12`.
    pub object: String,
    /// The object before and after, as JSON documents (configuration changes).
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which audit entries to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Entries by this actor (their name).
    pub actor: Option<String>,
    /// Entries about this object (`service:12`), or every object of a kind (`service`).
    pub object: Option<String>,
    pub since: Option<Timestamp>,
    /// Entries older than this id, for the next page.
    pub before_id: Option<Id>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    token_hash: String,
    user_id: Option<i64>,
    team_id: Option<i64>,
    role: String,
    expires_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TokenInfoRow {
    id: i64,
    name: String,
    user_id: Option<i64>,
    team_id: Option<i64>,
    role: String,
    created_at: i64,
    created_by: String,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    user_id: i64,
    method: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    user_id: Option<i64>,
    token_id: Option<i64>,
    address: String,
    action: String,
    object: String,
    before: Option<String>,
    after: Option<String>,
}

const USER_COLUMNS: &str = "id, name, email, time_zone, created_at";

impl Store {
    /// Every token that is not revoked, for the server to check bearer tokens against.
    pub async fn token_records(&self) -> Result<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT id, name, token_hash, user_id, team_id, role, expires_at FROM api_tokens \
                 WHERE revoked_at IS NULL ORDER BY id",
            )
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| TokenRecord {
                id: row.id,
                name: row.name,
                hash: row.token_hash,
                user_id: row.user_id,
                team_id: row.team_id,
                role: row.role,
                expires_at: row.expires_at.map(from_millis),
            })
            .collect())
    }

    /// Whether any way in exists yet: a token, or a person with a password or an administrator.
    pub async fn anyone_can_log_in(&self) -> Result<bool> {
        let count: i64 = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL) + \
                 (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND (password_hash IS NOT NULL OR admin))",
            )
            .fetch_one(&mut *c)
            .await?
        });
        Ok(count > 0)
    }

    /// The tokens of `user` (every token when `None`), newest first, revoked ones left out.
    pub async fn tokens(&self, user: Option<Id>) -> Result<Vec<TokenInfo>> {
        let rows: Vec<TokenInfoRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT id, name, user_id, team_id, role, created_at, created_by, expires_at, last_used_at \
                 FROM api_tokens WHERE revoked_at IS NULL AND ($1 IS NULL OR user_id = $1) ORDER BY id DESC",
            )
            .bind(user)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().map(token_info).collect())
    }

    /// The token `id`, unless revoked.
    ///
    /// Fails with [`StoreError::NotFound`] when there is none.
    pub async fn token(&self, id: Id) -> Result<TokenInfo> {
        let row: Option<TokenInfoRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT id, name, user_id, team_id, role, created_at, created_by, expires_at, last_used_at \
                 FROM api_tokens WHERE revoked_at IS NULL AND id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
        });
        row.map(token_info).ok_or_else(|| StoreError::NotFound(format!("no token {id}")))
    }

    /// Whether `user` administers the installation, and their role in each team, as stored text.
    pub async fn grants(&self, user: Id) -> Result<(bool, Vec<(Id, String)>)> {
        let mut pooled = self.reader().await?;
        let admin: Option<bool> = with_conn!(pooled.conn(), c => {
            sqlx::query_scalar("SELECT admin FROM users WHERE id = $1 AND deleted_at IS NULL")
                .bind(user)
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(admin) = admin else {
            return Err(StoreError::NotFound(format!("no user {user}")));
        };
        let roles: Vec<(i64, String)> = with_conn!(pooled.conn(), c => {
            sqlx::query_as(
                "SELECT m.team_id, m.role FROM team_members m JOIN teams t ON t.id = m.team_id \
                 WHERE m.user_id = $1 AND t.deleted_at IS NULL ORDER BY m.team_id",
            )
            .bind(user)
            .fetch_all(&mut *c)
            .await?
        });
        Ok((admin, roles))
    }

    /// The members of `team` with their roles, as stored text.
    pub async fn member_roles(&self, team: Id) -> Result<Vec<(Id, String)>> {
        let rows: Vec<(i64, String)> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as("SELECT user_id, role FROM team_members WHERE team_id = $1 ORDER BY user_id")
                .bind(team)
                .fetch_all(&mut *c)
                .await?
        });
        Ok(rows)
    }

    /// The administrators' ids.
    pub async fn admins(&self) -> Result<Vec<Id>> {
        let rows: Vec<i64> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar("SELECT id FROM users WHERE admin AND deleted_at IS NULL ORDER BY id")
                .fetch_all(&mut *c)
                .await?
        });
        Ok(rows)
    }

    /// The person named `name` (case-sensitive) and their password hash, for logging in.
    pub async fn login(&self, name: &str) -> Result<Option<Login>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: Option<String>,
        }
        let row: Option<Row> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = $1 AND deleted_at IS NULL"
            ))
            .bind(name)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(row.map(|row| Login { user: row.user.into(), password_hash: row.password_hash }))
    }

    /// The person who signed in before with OpenID account `subject`, or else the one whose
    /// email is `email` (compared without case).
    pub async fn oidc_user(&self, subject: &str, email: &str) -> Result<Option<(User, Option<String>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            oidc_subject: Option<String>,
        }
        let rows: Vec<Row> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS}, oidc_subject FROM users WHERE deleted_at IS NULL \
                 AND (oidc_subject = $1 OR LOWER(email) = LOWER($2)) ORDER BY CASE WHEN oidc_subject = $1 THEN 0 ELSE 1 END, id"
            ))
            .bind(subject)
            .bind(email)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().next().map(|row| (row.user.into(), row.oidc_subject)))
    }

    /// The session whose secret hashes to `secret_hash`, revoked or not.
    pub async fn session(&self, secret_hash: &str) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT s.id, s.user_id, s.method, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = $1 AND u.deleted_at IS NULL",
            )
            .bind(secret_hash)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(row.map(|row| SessionRecord {
            id: row.id,
            user_id: row.user_id,
            method: row.method,
            created_at: from_millis(row.created_at),
            last_seen_at: from_millis(row.last_seen_at),
            expires_at: from_millis(row.expires_at),
            revoked: row.revoked_at.is_some(),
        }))
    }

    /// Audit entries that pass `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let (object_exact, object_kind) = match filter.object.as_deref() {
            Some(object) if object.contains(':') => (Some(object.to_owned()), None),
            Some(kind) => (None, Some(format!("{kind}:%"))),
            None => (None, None),
        };
        let rows: Vec<AuditRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(
                "SELECT id, at, actor, user_id, token_id, address, action, object, before, after FROM audit_log \
                 WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR object = $2) AND ($3 IS NULL OR object LIKE $3) \
                 AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
            )
            .bind(filter.actor.as_deref())
            .bind(object_exact)
            .bind(object_kind)
            .bind(filter.since.map(millis))
            .bind(filter.before_id)
            .bind(i64::from(filter.limit))
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| AuditEntry {
                id: row.id,
                at: from_millis(row.at),
                actor: row.actor,
                user_id: row.user_id,
                token_id: row.token_id,
                address: row.address,
                action: row.action,
                object: row.object,
                before: row.before,
                after: row.after,
            })
            .collect())
    }
}

fn token_info(row: TokenInfoRow) -> TokenInfo {
    TokenInfo {
        id: row.id,
        name: row.name,
        user_id: row.user_id,
        team_id: row.team_id,
        role: row.role,
        created_at: from_millis(row.created_at),
        created_by: row.created_by,
        expires_at: row.expires_at.map(from_millis),
        last_used_at: row.last_used_at.map(from_millis),
    }
}

impl Tx {
    /// Creates an installation token named `name` (for bootstrap) and returns it. Only its hash is
    /// stored, so this is the one moment the token can be seen.
    pub async fn create_token(&mut self, name: &str, now: Timestamp) -> Result<String> {
        let new =
            NewToken { name, user_id: None, team_id: None, role: "admin", expires_at: None, created_by: "" };
        Ok(self.create_owned_token(&new, now).await?.1)
    }

    /// Creates a token as `new` says; returns its id and the token, which cannot be seen again.
    pub async fn create_owned_token(&mut self, new: &NewToken<'_>, now: Timestamp) -> Result<(Id, String)> {
        let token = secret::generate(secret::TOKEN_PREFIX);
        let hash = secret::hash(&token);
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO api_tokens (name, token_hash, created_at, user_id, team_id, role, expires_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(new.name)
            .bind(&hash)
            .bind(millis(now))
            .bind(new.user_id)
            .bind(new.team_id)
            .bind(new.role)
            .bind(new.expires_at.map(millis))
            .bind(new.created_by)
            .fetch_one(&mut *c)
            .await?
        });
        Ok((id, token))
    }

    /// Revokes token `id`; whether it was there to revoke.
    pub async fn revoke_token(&mut self, id: Id, now: Timestamp) -> Result<bool> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Revokes every token and session of `user` (deleted, or no longer to be trusted).
    pub async fn revoke_everything_of(&mut self, user: Id, now: Timestamp) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(user)
                .execute(&mut *c)
                .await?;
        });
        self.revoke_sessions_of(user, now).await
    }

    /// Ends every session of `user` (their password changed).
    pub async fn revoke_sessions_of(&mut self, user: Id, now: Timestamp) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(user)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Records that token `id` was used at `now`.
    pub async fn token_used(&mut self, id: Id, now: Timestamp) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets (or, with `None`, removes) the password hash of `user`.
    pub async fn set_password(&mut self, user: Id, hash: Option<&str>) -> Result<()> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(hash)
                .bind(user)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("no user {user}")));
        }
        Ok(())
    }

    /// Makes `user` an administrator of the installation, or not.
    pub async fn set_admin(&mut self, user: Id, admin: bool) -> Result<()> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE users SET admin = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(admin)
                .bind(user)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("no user {user}")));
        }
        Ok(())
    }

    /// Records that `user` signs in as OpenID account `subject`.
    pub async fn set_oidc_subject(&mut self, user: Id, subject: &str) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE users SET oidc_subject = $1 WHERE id = $2")
                .bind(subject)
                .bind(user)
                .execute(&mut *c)
                .await
                .map_err(|err| match err {
                    sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
                        "that OpenID account already signs in as another person".to_owned(),
                    ),
                    other => StoreError::from(other),
                })?;
        });
        Ok(())
    }

    /// Sets the role of member `user` of `team`.
    ///
    /// Fails with [`StoreError::NotFound`] when they are not a member.
    pub async fn set_member_role(&mut self, team: Id, user: Id, role: &str) -> Result<()> {
        let done = with_conn!(self.conn(), c => {
            sqlx::query("UPDATE team_members SET role = $1 WHERE team_id = $2 AND user_id = $3")
                .bind(role)
                .bind(team)
                .bind(user)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("user {user} is not a member of team {team}")));
        }
        Ok(())
    }

    /// Starts a session of `user` whose cookie holds a secret hashing to `secret_hash`.
    pub async fn create_session(
        &mut self,
        secret_hash: &str,
        user: Id,
        method: &str,
        address: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Id> {
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO sessions (secret_hash, user_id, method, address, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
            )
            .bind(secret_hash)
            .bind(user)
            .bind(method)
            .bind(address)
            .bind(millis(now))
            .bind(millis(expires_at))
            .fetch_one(&mut *c)
            .await?
        });
        Ok(id)
    }

    /// Records that session `id` was used at `now`, which keeps it from ending when idle.
    pub async fn session_seen(&mut self, id: Id, now: Timestamp) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Ends session `id`: its cookie opens nothing any more.
    pub async fn revoke_session(&mut self, id: Id, now: Timestamp) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Keeps what a sign-in with the OpenID provider needs when the browser comes back, and
    /// forgets sign-ins started before `stale`.
    pub async fn start_oidc_login(
        &mut self,
        state_hash: &str,
        verifier: &str,
        nonce: &str,
        now: Timestamp,
        stale: Timestamp,
    ) -> Result<()> {
        with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1").bind(millis(stale)).execute(&mut *c).await?;
            sqlx::query("INSERT INTO oidc_logins (state_hash, verifier, nonce, created_at) VALUES ($1, $2, $3, $4)")
                .bind(state_hash)
                .bind(verifier)
                .bind(nonce)
                .bind(millis(now))
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Takes (once) the sign-in whose state hashes to `state_hash`: its PKCE verifier, nonce and
    /// start.
    pub async fn take_oidc_login(&mut self, state_hash: &str) -> Result<Option<(String, String, Timestamp)>> {
        let row: Option<(String, String, i64)> = with_conn!(self.conn(), c => {
            sqlx::query_as("DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING verifier, nonce, created_at")
                .bind(state_hash)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(row.map(|(verifier, nonce, at)| (verifier, nonce, from_millis(at))))
    }

    /// Appends `entry` to the audit log (its `id` is ignored) and returns the id given.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<Id> {
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO audit_log (at, actor, user_id, token_id, address, action, object, before, after) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(millis(entry.at))
            .bind(&entry.actor)
            .bind(entry.user_id)
            .bind(entry.token_id)
            .bind(&entry.address)
            .bind(&entry.action)
            .bind(&entry.object)
            .bind(entry.before.as_deref())
            .bind(entry.after.as_deref())
            .fetch_one(&mut *c)
            .await?
        });
        Ok(id)
    }
}
