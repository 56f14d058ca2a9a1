//! Signing in with OpenID Connect against a real provider: npm's `oidc-provider` (an OpenID
//! Certified implementation) started by the test, `firebreak serve` configured with its issuer, and
//! the test playing the browser through the provider's login and consent pages. A known person is
//! signed in by their verified email; someone unknown is refused; a sign-in that this browser did
//! not begin is refused. Needs Node.js and npm (`npm ci` of the provider, once per build
//! directory); `FIREBREAK_OIDC_TESTS=required` makes their absence a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Fresh, Server, free_port, skipped};

const CLIENT_ID: &str = "firebreak";
const CLIENT_SECRET: &str = "a client secret for the test";

/// The provider's directory with its packages installed, or why not.
fn provider_dir() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
    std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
    for file in ["package.json", "package-lock.json", "provider.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).map_err(|err| format!("{file}: {err}"))?;
    }
    if !dir.join("node_modules/oidc-provider").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .map_err(|err| format!("npm is not installed: {err}"))?;
        if !installed.success() {
            return Err(format!("npm ci failed: {installed}"));
        }
    }
    Ok(dir)
}

/// Starts the provider for a client whose redirect URI is `redirect`; returns it and its issuer.
async fn start_provider(dir: &Path, redirect: &str) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(dir)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URI", redirect)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the provider starts within 30 s")
        .unwrap()
        .expect("the provider says where it listens");
    let issuer = line.strip_prefix("listening ").expect("listening <issuer>").to_owned();
    (child, issuer)
}

/// A browser, as far as this test needs one: cookies by name (every cookie goes to every server
/// here, all on 127.0.0.1), redirects followed by hand.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, cookies: BTreeMap::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, Option<String>, String, String) {
        let cookie: Vec<String> =
            self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let response = request.header("cookie", cookie.join("; ")).send().await.unwrap();
        let url = response.url().clone();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") || set.contains("expires=Thu, 01 Jan 1970") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|location| url.join(location.to_str().unwrap()).unwrap().to_string());
        (status, location, url.to_string(), response.text().await.unwrap())
    }

    /// Starts at `url` and goes through the provider's login (as `login`) and consent pages, until
    /// the provider sends the browser back to `back`; returns that URL.
    async fn sign_in_at_provider(&mut self, url: &str, login: &str, back: &str) -> String {
        let mut request = self.http.get(url);
        for _ in 0..20 {
            let (status, location, at, body) = self.send(request).await;
            if let Some(location) = location {
                if location.starts_with(back) {
                    return location;
                }
                request = self.http.get(&location);
                continue;
            }
            assert_eq!(status, 200, "at {at}: {body}");
            let (action, mut fields) = first_form(&body).unwrap_or_else(|| panic!("no form at {at}: {body}"));
            for (name, value) in &mut fields {
                match name.as_str() {
                    "login" => *value = login.to_owned(),
                    "password" => *value = "anything".to_owned(),
                    _ => {}
                }
            }
            let action = reqwest::Url::parse(&at).unwrap().join(&action).unwrap();
            request = self.http.post(action).form(&fields);
        }
        panic!("the provider never sent the browser back to {back}");
    }
}

/// The action and the `<input>` names and values of the first form of `html`.
fn first_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>").map_or(html.len(), |end| start + end);
    let form = &html[start..end];
    let action = attribute(&form[..form.find('>')?], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input") {
        let tag_end = rest[at..].find('>').map_or(rest.len(), |end| at + end);
        let tag = &rest[at..tag_end];
        if let Some(name) = attribute(tag, "name") {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        rest = &rest[tag_end..];
    }
    Some((action, fields))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let raw = &tag[at..at + tag[at..].find('"')?];
    Some(
        raw.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn people_sign_in_with_a_real_openid_provider() {
    let required = std::env::var("FIREBREAK_OIDC_TESTS").is_ok_and(|value| value == "required");
    let dir = match provider_dir() {
        Ok(dir) => dir,
        Err(why) if !required => {
            return skipped(&format!("people_sign_in_with_a_real_openid_provider: skipped: {why}"));
        }
        Err(why) => panic!("{why}"),
    };
    let fresh = Fresh::start("oidc-bootstrap.db", "ana").await;
    let database = fresh.database.clone();
    let token = fresh.token.clone();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let callback = format!("{url}/auth/oidc/callback");
    let (_provider, issuer) = start_provider(&dir, &callback).await;
    // The same database, now served on a known port with the provider configured.
    let Fresh { dir: data, server: first, .. } = fresh;
    first.stop();
    let server = Server::start_on(
        port,
        data.path(),
        &database,
        &["--public-url", &url, "--oidc-issuer", &issuer, "--oidc-client-id", CLIENT_ID],
        &[("FIREBREAK_OIDC_CLIENT_SECRET", CLIENT_SECRET)],
    )
    .await;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{url}/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"name": "Alice", "email": "ALICE@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // The login page offers the provider; signing in there comes back with a session.
    let mut browser = Browser::new();
    let (_, _, _, login) = browser.send(browser.http.get(format!("{url}/login"))).await;
    assert!(login.contains(r#"href="/auth/oidc/start""#), "{login}");
    let back = browser.sign_in_at_provider(&format!("{url}/auth/oidc/start"), "alice", &callback).await;
    assert!(back.contains("code=") && back.contains("state="), "{back}");
    let (status, location, _, body) = browser.send(browser.http.get(&back)).await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("{url}/incidents").as_str())), "{body}");
    assert!(browser.cookies.contains_key("firebreak_session"));
    let (status, _, _, page) = browser.send(browser.http.get(format!("{url}/account"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Account: Alice"), "matched by verified email, whatever its case: {page}");

    // The same code again is refused: a sign-in is used once.
    let (status, _, _, page) = browser.send(browser.http.get(&back)).await;
    assert_eq!(status, 401, "{page}");

    // Someone the provider vouches for but firebreak does not know is refused (creating people at
    // first sign-in is off by default).
    let mut stranger = Browser::new();
    let back = stranger.sign_in_at_provider(&format!("{url}/auth/oidc/start"), "mallory", &callback).await;
    let (status, _, _, page) = stranger.send(stranger.http.get(&back)).await;
    assert_eq!(status, 401);
    assert!(page.contains("ask an administrator"), "{page}");
    assert!(!stranger.cookies.contains_key("firebreak_session"));

    // A sign-in that another browser began (login CSRF) is refused.
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let back = attacker.sign_in_at_provider(&format!("{url}/auth/oidc/start"), "alice", &callback).await;
    let (status, _, _, page) = victim.send(victim.http.get(&back)).await;
    assert_eq!(status, 401);
    assert!(page.contains("did not begin"), "{page}");

    // The audit log names the sign-in.
    let audit: serde_json::Value = http
        .get(format!("{url}/api/v1/audit?actor=Alice"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["action"], "session.login", "{audit}");
    assert_eq!(audit[0]["after"]["method"], "oidc", "{audit}");
    server.stop();
    drop(data);
}
