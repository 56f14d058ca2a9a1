//! People: the teams and users of the catalog, and how each user is reached. The people page lists
//! both; a team's page edits or deletes it and edits its members, a user's page edits or deletes
//! them and edits their contact methods (a webhook's signing secret is shown once, when it is
//! added). Deleting a team or a user that something uses is refused, naming what uses it.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use firebreak_api::{self as api, Ref};
use firebreak_app::paging::{ContactMethod, shown_address};
use firebreak_domain::{Id, NotificationRule, Team, User};
use firebreak_notify::Channel;
use maud::{Markup, html};

use super::format::{format_time, join, table_head};
use super::forms::{
    Fields, change_loaded, confirmed, csrf_field, delete_form, done, parse_id, parse_number, problem, select,
    status_of, text_input,
};
use super::page::{Page, Session, page_id};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::Shared;

/// How the form names a channel a contact method may use.
fn channel_label(channel: Channel) -> &'static str {
    match channel.as_str() {
        "email" => "email",
        "webhook" => "webhook (a signed JSON POST)",
        "slack" => "Slack incoming webhook",
        "sms" => "SMS (a phone number such as +14155550100)",
        "voice" => "voice call (a phone number such as +14155550100)",
        "ntfy" => "ntfy push (a topic URL)",
        other => other,
    }
}

type Posted = Form<Vec<(String, String)>>;

/// Every team with its members, and every user: the people page.
struct People {
    teams: Vec<(Team, Vec<User>)>,
    users: Vec<User>,
}

/// A team's page, as loaded.
struct TeamData {
    team: Team,
    members: Vec<User>,
    /// Each member's role, by user id.
    roles: std::collections::HashMap<Id, firebreak_domain::Role>,
    /// Everyone, to add as members.
    users: Vec<User>,
}

/// A user's page, as loaded.
struct UserData {
    user: User,
    methods: Vec<ContactMethod>,
    rules: Vec<NotificationRule>,
}

/// What a team's form holds.
#[derive(Debug, Default)]
struct TeamDraft {
    name: String,
    description: String,
}

/// What a user's form holds.
#[derive(Debug, Default)]
struct UserDraft {
    name: String,
    email: String,
    time_zone: String,
}

/// What the form that adds a contact method holds.
#[derive(Debug, Default)]
struct MethodDraft {
    kind: String,
    address: String,
    /// For ntfy: the access token of a protected topic.
    token: String,
    /// A new address typed for an existing contact method, by its id.
    changed: Option<(Id, String)>,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/people", get(people_page))
        .route("/teams", post(create_team))
        .route("/teams/new", get(new_team))
        .route("/teams/{id}", get(team_page).post(save_team))
        .route("/teams/{id}/delete", post(delete_team))
        .route("/teams/{id}/members", post(add_member))
        .route("/teams/{id}/members/{user}/remove", post(remove_member))
        .route("/users", post(create_user))
        .route("/users/new", get(new_user))
        .route("/users/{id}", get(user_page).post(save_user))
        .route("/users/{id}/delete", post(delete_user))
        .route("/users/{id}/contact-methods", post(add_method))
        .route("/users/{id}/contact-methods/{method}", post(save_method))
        .route("/users/{id}/contact-methods/{method}/remove", post(remove_method))
        .route("/users/{id}/notification-rules", post(add_rule))
        .route("/users/{id}/notification-rules/{rule}/remove", post(remove_rule))
}

async fn people_page(State(server): State<Shared>, session: Session) -> Page {
    let result = async {
        let mut teams = Vec::new();
        for team in server.teams().await? {
            let members = server.team_members(&Ref::Id(team.id)).await?;
            teams.push((team, members));
        }
        Ok::<_, ApiError>(People { teams, users: server.users().await? })
    }
    .await;
    let people = result.map_err(|err| session.error(err))?;
    Ok(session.page("People", people_body(&people)))
}

// Teams.

async fn new_team(session: Session) -> Page {
    Ok(session.page("New team", new_team_body(&session, &TeamDraft::default(), None)))
}

async fn create_team(State(server): State<Shared>, session: Session, Form(fields): Posted) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = TeamDraft::from_fields(&fields);
    let body = api::CreateTeam {
        name: draft.name.trim().to_owned(),
        description: draft.description.trim().to_owned(),
    };
    match server.create_team(&session.actor, body).await {
        Ok(team) => Ok(done(&format!("/teams/{}", team.id))),
        Err(err) => {
            let err = ApiError::from(err);
            Ok(session.page_with(err.status, "New team", new_team_body(&session, &draft, Some(&err))))
        }
    }
}

async fn team_page(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let data = TeamData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let draft = TeamDraft { name: data.team.name.clone(), description: data.team.description.clone() };
    Ok(session.page(&data.team.name, team_body(&session, &data, &draft, None)))
}

async fn save_team(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let data = TeamData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let draft = TeamDraft::from_fields(&fields);
    let body = api::UpdateTeam {
        name: Some(draft.name.trim().to_owned()),
        description: Some(draft.description.trim().to_owned()),
    };
    match server.update_team(&session.actor, &Ref::Id(data.team.id), body).await {
        Ok(team) => Ok(done(&format!("/teams/{}", team.id))),
        Err(err) => Ok(team_again(&session, &data, &draft, err.into())),
    }
}

async fn delete_team(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let load = TeamData::load(&server, &id);
    on_team(&session, &fields, load, async |data| {
        confirmed(&fields)?;
        server.delete_team(&session.actor, &Ref::Id(data.team.id)).await?;
        Ok("/people".to_owned())
    })
    .await
}

async fn add_member(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let load = TeamData::load(&server, &id);
    on_team(&session, &fields, load, async |data| {
        let user = parse_id("someone to add", fields.get("user"))?;
        let role = match fields.get("role") {
            "" => firebreak_domain::Role::Responder,
            text => firebreak_domain::Role::parse(text)
                .ok_or_else(|| ApiError::invalid(format!("there is no role {text:?}")))?,
        };
        server.add_team_member(&session.actor, &Ref::Id(data.team.id), user, role).await?;
        Ok(format!("/teams/{}", data.team.id))
    })
    .await
}

async fn remove_member(
    State(server): State<Shared>,
    Path((id, user)): Path<(String, String)>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let load = TeamData::load(&server, &id);
    on_team(&session, &fields, load, async |data| {
        let user = page_id(&user, "user")?;
        server.remove_team_member(&session.actor, &Ref::Id(data.team.id), &Ref::Id(user)).await?;
        Ok(format!("/teams/{}", data.team.id))
    })
    .await
}

/// A change to a team from a form on its page: see [`change_loaded`].
async fn on_team(
    session: &Session,
    fields: &Fields,
    load: impl Future<Output = Result<TeamData, ApiError>>,
    change: impl AsyncFnOnce(&TeamData) -> Result<String, ApiError>,
) -> Page {
    change_loaded(session, fields, load, change, async |data, err| {
        Ok(team_again(session, data, &TeamDraft::of(&data.team), err))
    })
    .await
}

fn team_again(
    session: &Session,
    data: &TeamData,
    draft: &TeamDraft,
    err: ApiError,
) -> axum::response::Response {
    session.page_with(status_of(Some(&err)), &data.team.name, team_body(session, data, draft, Some(&err)))
}

impl TeamData {
    async fn load(server: &Shared, id: &str) -> Result<TeamData, ApiError> {
        let id = page_id(id, "team")?;
        let team = server.team(&Ref::Id(id)).await?;
        let with_roles = server.team_roles(&Ref::Id(id)).await?;
        let roles = with_roles.iter().map(|(user, role)| (user.id, *role)).collect();
        let members = with_roles.into_iter().map(|(user, _)| user).collect();
        Ok(TeamData { team, members, roles, users: server.users().await? })
    }
}

impl TeamDraft {
    fn of(team: &Team) -> TeamDraft {
        TeamDraft { name: team.name.clone(), description: team.description.clone() }
    }

    fn from_fields(fields: &Fields) -> TeamDraft {
        TeamDraft { name: fields.get("name").to_owned(), description: fields.get("description").to_owned() }
    }
}

// Users.

async fn new_user(session: Session) -> Page {
    let draft = UserDraft { time_zone: "UTC".to_owned(), ..Default::default() };
    Ok(session.page("New user", new_user_body(&session, &draft, None)))
}

async fn create_user(State(server): State<Shared>, session: Session, Form(fields): Posted) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = UserDraft::from_fields(&fields);
    let body = api::CreateUser {
        name: draft.name.trim().to_owned(),
        email: draft.email.trim().to_owned(),
        time_zone: Some(draft.time_zone.trim().to_owned()).filter(|zone| !zone.is_empty()),
    };
    match server.create_user(&session.actor, body).await {
        Ok(user) => Ok(done(&format!("/users/{}", user.id))),
        Err(err) => {
            let err = ApiError::from(err);
            Ok(session.page_with(err.status, "New user", new_user_body(&session, &draft, Some(&err))))
        }
    }
}

async fn user_page(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let data = UserData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let draft = UserDraft::of(&data.user);
    let body = user_body(&session, &data, &draft, &MethodDraft::default(), None, None);
    Ok(session.page(&data.user.name, body))
}

async fn save_user(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let data = UserData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let draft = UserDraft::from_fields(&fields);
    let body = api::UpdateUser {
        name: Some(draft.name.trim().to_owned()),
        email: Some(draft.email.trim().to_owned()),
        time_zone: Some(draft.time_zone.trim().to_owned()),
    };
    match server.update_user(&session.actor, &Ref::Id(data.user.id), body).await {
        Ok(user) => Ok(done(&format!("/users/{}", user.id))),
        Err(err) => {
            let err = ApiError::from(err);
            let body = user_body(&session, &data, &draft, &MethodDraft::default(), None, Some(&err));
            Ok(session.page_with(err.status, &data.user.name, body))
        }
    }
}

async fn add_method(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let data = UserData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let method = MethodDraft {
        kind: fields.get("type").to_owned(),
        address: fields.get("address").to_owned(),
        token: fields.get("token").to_owned(),
        changed: None,
    };
    let body = api::CreateContactMethod {
        kind: method.kind.trim().to_owned(),
        address: method.address.clone(),
        token: Some(method.token.trim().to_owned()).filter(|token| !token.is_empty()),
    };
    match server.create_contact_method(&session.actor, &Ref::Id(data.user.id), body).await {
        Ok((_, None)) => Ok(done(&format!("/users/{}#contact-methods", data.user.id))),
        Ok((_, Some(secret))) => {
            // The secret is shown this once, so the answer is the page itself, not a redirect.
            let data = UserData::load(&server, &id).await.map_err(|err| session.error(err))?;
            let body = user_body(
                &session,
                &data,
                &UserDraft::of(&data.user),
                &MethodDraft::default(),
                Some(&secret),
                None,
            );
            Ok(session.page(&data.user.name, body))
        }
        Err(err) => {
            let err = ApiError::from(err);
            let body = user_body(&session, &data, &UserDraft::of(&data.user), &method, None, Some(&err));
            Ok(session.page_with(err.status, &data.user.name, body))
        }
    }
}

async fn delete_user(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    on_user(&server, &id, &session, &fields, async |user| {
        confirmed(&fields)?;
        server.delete_user(&session.actor, &Ref::Id(user)).await?;
        Ok("/people".to_owned())
    })
    .await
}

async fn save_method(
    State(server): State<Shared>,
    Path((id, method)): Path<(String, String)>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let data = UserData::load(&server, &id).await.map_err(|err| session.error(err))?;
    let typed = fields.get("address").to_owned();
    let result = async {
        let method = page_id(&method, "contact method")?;
        let body = api::UpdateContactMethod { address: Some(typed.trim().to_owned()) };
        server.update_contact_method(&session.actor, &Ref::Id(data.user.id), method, body).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(done(&format!("/users/{}#contact-methods", data.user.id))),
        Err(err) => {
            let changed = method.parse().ok().map(|id| (id, typed));
            Ok(user_again(&session, &data, &MethodDraft { changed, ..Default::default() }, err))
        }
    }
}

/// A user's page again, with what was wrong.
fn user_again(
    session: &Session,
    data: &UserData,
    method: &MethodDraft,
    err: ApiError,
) -> axum::response::Response {
    let body = user_body(session, data, &UserDraft::of(&data.user), method, None, Some(&err));
    session.page_with(err.status, &data.user.name, body)
}

async fn remove_method(
    State(server): State<Shared>,
    Path((id, method)): Path<(String, String)>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    on_user(&server, &id, &session, &Fields(fields), async |user| {
        let method = page_id(&method, "contact method")?;
        server.delete_contact_method(&session.actor, &Ref::Id(user), method).await?;
        Ok(format!("/users/{user}#contact-methods"))
    })
    .await
}

async fn add_rule(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    on_user(&server, &id, &session, &fields, async |user| {
        let body = api::CreateNotificationRule {
            contact_method_id: parse_id("a contact method", fields.get("contact_method_id"))?,
            urgency: Some(fields.get("urgency").to_owned()),
            delay_minutes: Some(parse_number("the delay", fields.get("delay_minutes"))?),
            hours: Some(fields.get("hours").to_owned()),
        };
        server.create_notification_rule(&session.actor, &Ref::Id(user), body).await?;
        Ok(format!("/users/{user}#notification-rules"))
    })
    .await
}

async fn remove_rule(
    State(server): State<Shared>,
    Path((id, rule)): Path<(String, String)>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    on_user(&server, &id, &session, &Fields(fields), async |user| {
        let rule = page_id(&rule, "notification rule")?;
        server.delete_notification_rule(&session.actor, &Ref::Id(user), rule).await?;
        Ok(format!("/users/{user}#notification-rules"))
    })
    .await
}

/// A change to user `id` from a form on their page: see [`change_loaded`]. `change` is given the
/// user's id and says where to go next.
async fn on_user(
    server: &Shared,
    id: &str,
    session: &Session,
    fields: &Fields,
    change: impl AsyncFnOnce(Id) -> Result<String, ApiError>,
) -> Page {
    let change = async |data: &UserData| change(data.user.id).await;
    change_loaded(session, fields, UserData::load(server, id), change, async |data, err| {
        Ok(user_again(session, data, &MethodDraft::default(), err))
    })
    .await
}

impl UserData {
    async fn load(server: &Shared, id: &str) -> Result<UserData, ApiError> {
        let id = page_id(id, "user")?;
        let user = server.user(&Ref::Id(id)).await?;
        let methods = server.contact_methods(&Ref::Id(id)).await?;
        let rules = server.notification_rules(&Ref::Id(id)).await?;
        Ok(UserData { user, methods, rules })
    }
}

impl UserDraft {
    fn of(user: &User) -> UserDraft {
        UserDraft { name: user.name.clone(), email: user.email.clone(), time_zone: user.time_zone.clone() }
    }

    fn from_fields(fields: &Fields) -> UserDraft {
        UserDraft {
            name: fields.get("name").to_owned(),
            email: fields.get("email").to_owned(),
            time_zone: fields.get("time_zone").to_owned(),
        }
    }
}

// Pages.

/// The people page: teams with their members, and users.
fn people_body(people: &People) -> Markup {
    html! {
        div.page-head {
            h1 { "People" }
            a.button #new-team href="/teams/new" { "New team" }
            a.button #new-user href="/users/new" { "New user" }
        }
        h2 { "Teams" }
        @if people.teams.is_empty() {
            p.empty { "No teams yet." }
        } @else {
            table.teams #teams {
                (table_head(&["Team", "What it does", "Members"]))
                tbody {
                    @for (team, members) in &people.teams {
                        tr {
                            td.name { a href={ "/teams/" (team.id) } { (team.name) } }
                            td { (team.description) }
                            td { (join(members.iter().map(user_link), ", ")) }
                        }
                    }
                }
            }
        }
        h2 { "Users" }
        @if people.users.is_empty() {
            p.empty { "No users yet." }
        } @else {
            table.users #users {
                (table_head(&["Name", "Email", "Time zone"]))
                tbody {
                    @for user in &people.users {
                        tr {
                            td.name { (user_link(user)) }
                            td { (user.email) }
                            td { (user.time_zone) }
                        }
                    }
                }
            }
        }
    }
}

fn user_link(user: &User) -> Markup {
    html! { a href={ "/users/" (user.id) } { (user.name) } }
}

fn team_fields(draft: &TeamDraft) -> Markup {
    html! {
        (text_input("Name", "name", &draft.name, ""))
        (text_input("What it does", "description", &draft.description, ""))
    }
}

fn new_team_body(session: &Session, draft: &TeamDraft, error: Option<&ApiError>) -> Markup {
    html! {
        h1 { "New team" }
        form.edit #team-form method="post" action="/teams" {
            (problem(error))
            (csrf_field(session))
            (team_fields(draft))
            div.buttons { button.primary #save { "Create team" } a href="/people" { "Cancel" } }
        }
    }
}

/// A team's page: its form, its members (each with a button that removes them) and the form that
/// adds one.
fn team_body(session: &Session, data: &TeamData, draft: &TeamDraft, error: Option<&ApiError>) -> Markup {
    let team = &data.team;
    let others: Vec<(String, String)> = data
        .users
        .iter()
        .filter(|user| !data.members.iter().any(|member| member.id == user.id))
        .map(|user| (user.id.to_string(), user.name.clone()))
        .collect();
    html! {
        h1 { (team.name) }
        (problem(error))
        form.edit #team-form method="post" action={ "/teams/" (team.id) } {
            (csrf_field(session))
            (team_fields(draft))
            div.buttons { button.primary #save { "Save" } a href="/people" { "Cancel" } }
        }
        h2 { "Members" }
        p.hint { "An escalation level that pages the team pages every member." }
        @if data.members.is_empty() {
            p.empty #members { "No members yet." }
        } @else {
            ul.members #members {
                @for member in &data.members {
                    li {
                        (user_link(member)) " "
                        span.hint { (data.roles.get(&member.id).map_or("responder", |role| role.as_str())) } " "
                        form.inline method="post" action={ "/teams/" (team.id) "/members/" (member.id) "/remove" } {
                            (csrf_field(session))
                            button.link { "Remove" }
                        }
                    }
                }
            }
        }
        @if !others.is_empty() {
            form.edit.inline-fields #member-form method="post" action={ "/teams/" (team.id) "/members" } {
                (csrf_field(session))
                (select("Add", "user", &others, &[], false, ""))
                (select("as", "role", &roles(), &["responder"], false, ""))
                div.buttons { button #add-member { "Add member" } }
            }
        }
        h2 { "Delete" }
        p.hint { "A team that owns services, or that an escalation policy pages, cannot be deleted." }
        (delete_form(session, &format!("/teams/{}/delete", team.id), &team.name))
    }
}

fn user_fields(draft: &UserDraft) -> Markup {
    html! {
        (text_input("Name", "name", &draft.name, ""))
        label.field {
            span { "Email" }
            input type="email" name="email" value=(draft.email);
        }
        (text_input("Time zone", "time_zone", &draft.time_zone, "an IANA name such as Europe/Lisbon"))
    }
}

fn new_user_body(session: &Session, draft: &UserDraft, error: Option<&ApiError>) -> Markup {
    html! {
        h1 { "New user" }
        form.edit #user-form method="post" action="/users" {
            (problem(error))
            (csrf_field(session))
            (user_fields(draft))
            div.buttons { button.primary #save { "Create user" } a href="/people" { "Cancel" } }
        }
    }
}

/// A user's page: their form, their contact methods (each with a button that removes it), the
/// form that adds one, and a new webhook's signing secret, this once.
fn user_body(
    session: &Session,
    data: &UserData,
    draft: &UserDraft,
    draft_method: &MethodDraft,
    secret: Option<&str>,
    error: Option<&ApiError>,
) -> Markup {
    let user = &data.user;
    // Every channel the application accepts.
    let channels: Vec<(String, String)> = Channel::ALL
        .into_iter()
        .map(|channel| (channel.as_str().to_owned(), channel_label(channel).to_owned()))
        .collect();
    html! {
        h1 { (user.name) }
        (problem(error))
        @if let Some(secret) = secret {
            div.notice #webhook-secret {
                p { "The webhook's signing secret, shown this once (see " code { "X-Firebreak-Signature" } "):" }
                p { code { (secret) } }
            }
        }
        form.edit #user-form method="post" action={ "/users/" (user.id) } {
            (csrf_field(session))
            (user_fields(draft))
            div.buttons { button.primary #save { "Save" } a href="/people" { "Cancel" } }
        }
        h2 { "Contact methods" }
        p.hint { "Without notification rules, every page to " (user.name) " goes to each of these at once." }
        @if data.methods.is_empty() {
            p.empty #contact-methods { "None: pages to " (user.name) " reach nobody." }
        } @else {
            table.methods #contact-methods {
                (table_head(&["Channel", "Address", "Added", ""]))
                tbody {
                    @for method in &data.methods {
                        tr {
                            td { (method.kind) }
                            td.address {
                                div { (shown_address(&method.kind, &method.address)) }
                                form.inline method="post"
                                    action={ "/users/" (user.id) "/contact-methods/" (method.id) } {
                                    (csrf_field(session))
                                    @let typed = draft_method.changed.as_ref().filter(|(id, _)| *id == method.id);
                                    input type="text" name="address" aria-label="new address"
                                        placeholder="a new address"
                                        value=[typed.map(|(_, address)| address)];
                                    button { "Change" }
                                }
                            }
                            td.nowrap { (format_time(method.created_at)) }
                            td {
                                form.inline method="post"
                                    action={ "/users/" (user.id) "/contact-methods/" (method.id) "/remove" } {
                                    (csrf_field(session))
                                    button.link { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.edit.inline-fields #method-form method="post" action={ "/users/" (user.id) "/contact-methods" } {
            (csrf_field(session))
            (select("Channel", "type", &channels, &[draft_method.kind.as_str()], false, ""))
            (text_input("Address", "address", &draft_method.address, "an email address, a URL or a phone number"))
            (text_input("Access token", "token", &draft_method.token, "ntfy only, for a protected topic; not shown again"))
            div.buttons { button #add-method { "Add contact method" } }
        }
        (rules_section(session, data))
        h2 { "Delete" }
        p.hint {
            "Incidents and timelines keep " (user.name) "'s name. Someone that a schedule or an escalation "
            "policy names cannot be deleted."
        }
        (delete_form(session, &format!("/users/{}/delete", user.id), &user.name))
    }
}

/// A user's notification rules, each with a button that removes it, and the form that adds one.
fn rules_section(session: &Session, data: &UserData) -> Markup {
    let user = &data.user;
    let methods: Vec<(String, String)> = data
        .methods
        .iter()
        .map(|m| (m.id.to_string(), format!("{}: {}", m.kind, shown_address(&m.kind, &m.address))))
        .collect();
    let method_name = |id: Id| {
        methods
            .iter()
            .find(|(value, _)| *value == id.to_string())
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    let urgencies = [("high", "high: SEV1 and SEV2"), ("low", "low: SEV3 and SEV4")]
        .map(|(v, l)| (v.to_owned(), l.to_owned()));
    let hours = [("any", "at any hour"), ("day", "by day only (08:00 to 20:00)")]
        .map(|(v, l)| (v.to_owned(), l.to_owned()));
    html! {
        h2 #notification-rules { "Notification rules" }
        p.hint {
            "How pages reach " (user.name) ": which contact method, how long after the page, for which "
            "urgency. A message not yet sent when the incident is acknowledged is not sent."
        }
        @if data.rules.is_empty() {
            p.empty { "None: every contact method at once, for every page." }
        } @else {
            div.scroll {
                table.rules {
                    (table_head(&["Urgency", "After", "Contact method", "Hours", ""]))
                    tbody {
                        @for rule in &data.rules {
                            tr {
                                td { (rule.urgency.as_str()) }
                                td.nowrap { (rule.delay_minutes) " min" }
                                td.address { (method_name(rule.contact_method_id)) }
                                td { (rule.hours.as_str()) }
                                td {
                                    form.inline method="post"
                                        action={ "/users/" (user.id) "/notification-rules/" (rule.id) "/remove" } {
                                        (csrf_field(session))
                                        button.link { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !data.methods.is_empty() {
            form.edit.inline-fields #rule-form method="post" action={ "/users/" (user.id) "/notification-rules" } {
                (csrf_field(session))
                (select("Contact method", "contact_method_id", &methods, &[], false, ""))
                (select("Urgency", "urgency", &urgencies, &["high"], false, ""))
                (text_input("After (minutes)", "delay_minutes", "0", "0 to 1440"))
                (select("Hours", "hours", &hours, &["any"], false, ""))
                div.buttons { button #add-rule { "Add rule" } }
            }
        }
    }
}

/// The roles a member may have, for a select.
fn roles() -> Vec<(String, String)> {
    firebreak_domain::Role::ALL
        .iter()
        .rev()
        .map(|role| (role.as_str().to_owned(), role.as_str().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use firebreak_domain::Id;

    use super::super::page::tests::{HOSTILE, NOW, assert_escaped, at, session};
    use super::*;

    fn user(id: Id) -> User {
        User {
            id,
            name: HOSTILE.to_owned(),
            email: HOSTILE.to_owned(),
            time_zone: HOSTILE.to_owned(),
            created_at: at(NOW),
        }
    }

    #[test]
    fn the_people_pages_escape_names() {
        let team =
            Team { id: 7, name: HOSTILE.to_owned(), description: HOSTILE.to_owned(), created_at: at(NOW) };
        let people = People { teams: vec![(team.clone(), vec![user(1)])], users: vec![user(1), user(2)] };
        let html = people_body(&people).into_string();
        // The team, its description and member; each user's name, email and time zone.
        assert_escaped(&html, 9);

        let session = session();
        let data = TeamData {
            team: team.clone(),
            members: vec![user(1)],
            roles: std::collections::HashMap::new(),
            users: vec![user(1), user(2)],
        };
        let err = ApiError::invalid(HOSTILE);
        let html = team_body(&session, &data, &TeamDraft::of(&team), Some(&err)).into_string();
        // The heading, the error, the name and description typed, the member, and user 2 to add.
        assert_escaped(&html, 6);
        assert!(html.contains(r#"action="/teams/7/members/1/remove""#), "{html}");
        assert!(!html.contains(r#"<option value="1">"#), "a member is not offered again: {html}");

        let method = ContactMethod {
            id: 4,
            user_id: 1,
            kind: "email".to_owned(),
            address: HOSTILE.to_owned(),
            created_at: at(NOW),
        };
        let data = UserData { user: user(1), methods: vec![method], rules: Vec::new() };
        let typed =
            MethodDraft { kind: "webhook".to_owned(), address: HOSTILE.to_owned(), ..Default::default() };
        let html =
            user_body(&session, &data, &UserDraft::of(&data.user), &typed, Some(HOSTILE), None).into_string();
        // The heading, the secret, the three fields, the address, the address typed, and the name
        // in the hints.
        assert_escaped(&html, 8);
        assert!(html.contains(r#"<option value="webhook" selected>"#), "{html}");
        for channel in Channel::ALL {
            assert!(html.contains(&format!(r#"<option value="{channel}""#)), "no {channel} in {html}");
        }
        assert!(html.contains(r#"action="/users/1/contact-methods/4/remove""#), "{html}");
    }
}
