//! Signing in with an OpenID Connect provider: the authorization code flow with PKCE (S256), a
//! state and a nonce. The provider is found by discovery (its metadata and keys, read once and kept);
//! the ID token's signature, issuer, audience, expiry and nonce are checked by `openidconnect`. A
//! person is matched by the provider's subject, or else by a verified email, and created on first
//! sign-in when the configuration allows.
//!
//! What the callback needs (the PKCE verifier and the nonce) is kept in the database under the
//! SHA-256 of the state, used once and for at most [`LOGIN_WAIT`], so the callback may reach any
//! replica.

use firebreak_domain::User;
use firebreak_store::secret;
use jiff::SignedDuration;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use tokio::sync::OnceCell;

use crate::access::NewSession;
use crate::{App, Error, Principal, Result};

/// Longest time between starting a sign-in and coming back from the provider.
pub const LOGIN_WAIT: SignedDuration = SignedDuration::from_mins(10);
/// The path the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// The provider to sign in with.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The issuer URL, exactly as the provider's discovery document says it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Whether a person the provider vouches for (with a verified email) but firebreak does not
    /// know yet is created at first sign-in, with no role.
    pub create_users: bool,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured provider and what discovery found.
pub(crate) struct Oidc {
    config: OidcConfig,
    redirect: String,
    http: reqwest::Client,
    client: OnceCell<Client>,
}

impl Oidc {
    pub(crate) fn new(config: OidcConfig, public_url: &str) -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            // The provider's answers are never followed elsewhere: no request forgery through it.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Oidc { config, redirect: format!("{public_url}{CALLBACK_PATH}"), http, client: OnceCell::new() })
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|err| {
                    Error::Unavailable(format!("the OpenID issuer URL is not valid: {err}"))
                })?;
                let metadata =
                    CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|err| {
                        Error::Unavailable(format!(
                            "the OpenID provider {} cannot be reached: {err}",
                            self.config.issuer
                        ))
                    })?;
                let redirect = RedirectUrl::new(self.redirect.clone())
                    .map_err(|err| Error::Internal(format!("the OpenID redirect URL is not valid: {err}")))?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    Some(ClientSecret::new(self.config.client_secret.clone())),
                )
                .set_redirect_uri(redirect))
            })
            .await
    }
}

/// A sign-in begun: where to send the browser, and the state to keep in its cookie (so that only
/// the browser that began it can finish it).
#[derive(Clone, Debug)]
pub struct OidcStart {
    pub authorize_url: String,
    pub state: String,
}

impl App {
    /// Whether signing in with an OpenID provider is configured.
    pub fn oidc_configured(&self) -> bool {
        self.inner.oidc.is_some()
    }

    /// Begins a sign-in with the OpenID provider.
    ///
    /// Fails with [`Error::NotFound`] when none is configured and [`Error::Unavailable`] when it
    /// cannot be reached.
    pub async fn oidc_start(&self) -> Result<OidcStart> {
        let oidc = self.oidc()?;
        let client = oidc.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let now = self.now();
        let stale = now.checked_sub(LOGIN_WAIT).unwrap_or(now);
        let mut tx = self.store().begin().await?;
        tx.start_oidc_login(&secret::hash(state.secret()), verifier.secret(), nonce.secret(), now, stale)
            .await?;
        tx.commit().await?;
        Ok(OidcStart { authorize_url: url.to_string(), state: state.secret().clone() })
    }

    /// Finishes a sign-in: the provider sent the browser back with `code` and `state`; `cookie_state`
    /// is the state the browser kept. Logs the person in from `address`.
    ///
    /// Fails with [`Error::Unauthorized`] for a state that is unknown, used, stale or not this
    /// browser's, a code the provider refuses, an ID token that does not verify, an email that is
    /// not verified, or a person firebreak does not know (and may not create).
    pub async fn oidc_finish(
        &self,
        code: &str,
        state: &str,
        cookie_state: Option<&str>,
        address: &str,
    ) -> Result<NewSession> {
        let oidc = self.oidc()?;
        let refused =
            |why: String| Error::Unauthorized(format!("signing in with the OpenID provider failed: {why}"));
        if cookie_state.is_none_or(|kept| !secret::constant_time_eq(kept, state)) {
            return Err(refused("this browser did not begin this sign-in; begin again".to_owned()));
        }
        let mut tx = self.store().begin().await?;
        let taken = tx.take_oidc_login(&secret::hash(state)).await?;
        tx.commit().await?;
        let Some((verifier, nonce, started)) = taken else {
            return Err(refused("the sign-in is unknown or was used already; begin again".to_owned()));
        };
        if self.now().duration_since(started) > LOGIN_WAIT {
            return Err(refused("the sign-in took too long; begin again".to_owned()));
        }
        let client = oidc.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| Error::Unavailable(format!("the OpenID provider has no token endpoint: {err}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&oidc.http)
            .await
            .map_err(|err| refused(format!("the provider refused the code: {err:?}")))?;
        let id_token =
            tokens.id_token().ok_or_else(|| refused("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce))
            .map_err(|err| refused(format!("the ID token does not verify: {err}")))?;
        let subject = format!("{} {}", oidc.config.issuer, claims.subject().as_str());
        let email = claims.email().map(|email| email.as_str().to_owned());
        let verified = claims.email_verified().unwrap_or(false);
        let name = claims.name().and_then(|name| name.get(None)).map(|name| name.as_str().to_owned());
        let user =
            self.oidc_person(&oidc.config, &subject, email.as_deref(), verified, name.as_deref()).await?;
        self.begin_session(user, "oidc", address).await
    }

    /// The person signing in as OpenID account `subject` with `email`.
    async fn oidc_person(
        &self,
        config: &OidcConfig,
        subject: &str,
        email: Option<&str>,
        verified: bool,
        name: Option<&str>,
    ) -> Result<User> {
        let refused =
            |why: &str| Error::Unauthorized(format!("signing in with the OpenID provider failed: {why}"));
        let found = self.store().oidc_user(subject, email.unwrap_or("")).await?;
        if let Some((user, known_subject)) = found {
            if known_subject.as_deref() == Some(subject) {
                return Ok(user);
            }
            if !verified || email.is_none() {
                return Err(refused("the provider has not verified this account's email"));
            }
            if known_subject.is_some() {
                return Err(refused("that email signs in with another OpenID account"));
            }
            let mut tx = self.store().begin().await?;
            tx.set_oidc_subject(user.id, subject).await?;
            tx.commit().await?;
            return Ok(user);
        }
        let Some(email) = email.filter(|_| verified) else {
            return Err(refused("the provider has not verified this account's email"));
        };
        if !config.create_users {
            return Err(refused("firebreak has no person with this email; ask an administrator to add you"));
        }
        let base = name.filter(|name| !name.trim().is_empty()).unwrap_or(email);
        let body = firebreak_api::CreateUser {
            name: base.chars().take(firebreak_domain::NAME_CHARS_MAX).collect(),
            email: email.to_owned(),
            time_zone: None,
        };
        let user = match self.create_user(&Principal::system(), body.clone()).await {
            // The name is someone else's: the email is unique, so it serves as the name.
            Err(Error::Conflict(_)) if body.name != email => {
                self.create_user(
                    &Principal::system(),
                    firebreak_api::CreateUser { name: email.to_owned(), ..body },
                )
                .await?
            }
            other => other?,
        };
        let mut tx = self.store().begin().await?;
        tx.set_oidc_subject(user.id, subject).await?;
        tx.commit().await?;
        Ok(user)
    }

    fn oidc(&self) -> Result<&Oidc> {
        self.inner
            .oidc
            .as_ref()
            .ok_or_else(|| Error::NotFound("signing in with an OpenID provider is not configured".to_owned()))
    }
}
