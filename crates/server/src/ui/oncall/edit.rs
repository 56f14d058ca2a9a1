//! The forms that create, edit and delete schedules and escalation policies, and add and remove a
//! schedule's overrides.
//!
//! A schedule's form has one fieldset per layer, each with a box that removes it, and one empty
//! fieldset that adds a layer when people are typed into it; a policy's form does the same with
//! levels. Times are typed in the schedule's time zone. What is sent becomes the API's request
//! (`CreateSchedule`, `UpdateEscalationPolicy`, …), so the application checks it as it checks
//! the API's, and a refusal shows the form again with what was typed.

use axum::extract::State;
use axum::response::Response;
use firebreak_api as api;
use firebreak_app::oncall::{StoredPolicy, StoredSchedule};
use firebreak_domain::{self as domain, Id};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::super::forms::{
    Fields, change_loaded, checkbox, confirmed, csrf_field, delete_form, done, local_input, parse_id,
    parse_local, parse_number, problem, refs, select, status_of, text_area, text_input,
};
use super::super::page::{Page, Session, page_id};
use super::super::roster::Directory;
use super::{ScheduleData, schedule_body};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::Shared;

/// Most layers or levels a form is read for.
const FIELDSETS_MAX: usize = 50;
/// The shift of a new layer, as the form suggests it.
const NEW_SHIFT: &str = "1w";
/// The wait of a new level, in minutes, as the form suggests it.
const NEW_TIMEOUT_MINUTES: &str = "15";

type Posted = Form<Vec<(String, String)>>;

/// What a schedule's form holds.
#[derive(Debug, Default)]
pub(super) struct ScheduleDraft {
    name: String,
    time_zone: String,
    layers: Vec<LayerDraft>,
}

/// One layer's fieldset.
#[derive(Debug, Default, Clone)]
struct LayerDraft {
    /// The first hand-off, as a `datetime-local` value in the schedule's time zone.
    start: String,
    shift_length: String,
    /// The rotation: names separated by commas.
    users: String,
    /// One window a line, such as `weekly monday 09:00-friday 17:00`.
    restrictions: String,
    /// The empty fieldset that adds a layer.
    new: bool,
    remove: bool,
}

/// What the form that adds an override holds.
#[derive(Debug, Default)]
pub(super) struct OverrideDraft {
    pub(super) user: String,
    pub(super) start: String,
    pub(super) end: String,
}

/// What an escalation policy's form holds.
#[derive(Debug, Default)]
struct PolicyDraft {
    name: String,
    repeat: String,
    levels: Vec<LevelDraft>,
    /// `SEV1`…`SEV4`: the least severe incident that may wake management by hand.
    management_from: String,
}

/// One level's fieldset.
#[derive(Debug, Default, Clone)]
struct LevelDraft {
    timeout: String,
    /// Targets as `user:3`, `schedule:1`, `team:2`.
    targets: Vec<String>,
    wakes_management: bool,
    new: bool,
    remove: bool,
}

// Schedules.

pub(super) async fn new_schedule(State(server): State<Shared>, session: Session) -> Page {
    let draft = ScheduleDraft {
        time_zone: "UTC".to_owned(),
        layers: vec![LayerDraft::new(server.now(), &TimeZone::UTC)],
        ..Default::default()
    };
    Ok(session.page("New schedule", schedule_form(&session, None, &draft, None)))
}

pub(super) async fn create_schedule(
    State(server): State<Shared>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = ScheduleDraft::from_fields(&fields);
    let result = async {
        let (_, layers) = draft.layers()?;
        let body = api::CreateSchedule {
            name: draft.name.trim().to_owned(),
            time_zone: draft.time_zone.trim().to_owned(),
            layers,
            overrides: Vec::new(),
            team: owned_team(&session),
        };
        Ok::<_, ApiError>(server.create_schedule(&session.actor, body).await?)
    }
    .await;
    match result {
        Ok(stored) => Ok(done(&format!("/schedules/{}", stored.id))),
        Err(err) => {
            let draft = draft.again(server.now());
            let body = schedule_form(&session, None, &draft, Some(&err));
            Ok(session.page_with(err.status, "New schedule", body))
        }
    }
}

pub(super) async fn edit_schedule(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
) -> Page {
    let result = async {
        let id = page_id(&id, "schedule")?;
        Ok::<_, ApiError>((server.schedule(id).await?, Directory::load(&server).await?))
    }
    .await;
    let (stored, directory) = result.map_err(|err| session.error(err))?;
    let draft = ScheduleDraft::of(&stored, &directory, server.now());
    let title = format!("Edit {}", stored.name);
    Ok(session.page(&title, schedule_form(&session, Some(&stored), &draft, None)))
}

pub(super) async fn save_schedule(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let draft = ScheduleDraft::from_fields(&fields);
    let change = async |stored: &StoredSchedule| {
        let (_, layers) = draft.layers()?;
        let body = api::UpdateSchedule {
            name: Some(draft.name.trim().to_owned()),
            time_zone: Some(draft.time_zone.trim().to_owned()),
            layers: Some(layers),
            overrides: None,
            team: None,
        };
        let stored = server.update_schedule(&session.actor, stored.id, body).await?;
        Ok(format!("/schedules/{}", stored.id))
    };
    let again = async |stored: &StoredSchedule, err| {
        let draft = ScheduleDraft::from_fields(&fields).again(server.now());
        Ok(schedule_form_again(&session, stored, &draft, err))
    };
    change_loaded(&session, &fields, load_schedule(&server, &id), change, again).await
}

pub(super) async fn delete_schedule(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let change = async |stored: &StoredSchedule| {
        confirmed(&fields)?;
        server.delete_schedule(&session.actor, stored.id).await?;
        Ok("/schedules".to_owned())
    };
    let again = async |stored: &StoredSchedule, err| {
        let directory = Directory::load(&server).await.map_err(|err| session.error(err))?;
        let draft = ScheduleDraft::of(stored, &directory, server.now());
        Ok(schedule_form_again(&session, stored, &draft, err))
    };
    change_loaded(&session, &fields, load_schedule(&server, &id), change, again).await
}

pub(super) async fn add_override(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let draft = OverrideDraft {
        user: fields.get("user").to_owned(),
        start: fields.get("start").to_owned(),
        end: fields.get("end").to_owned(),
    };
    let change = async |stored: &StoredSchedule| {
        let tz = &stored.schedule.time_zone;
        let body = api::Override {
            user: api::Ref::Id(parse_id("who covers", &draft.user)?),
            start: parse_local("the override's start", &draft.start, tz)?,
            end: parse_local("the override's end", &draft.end, tz)?,
        };
        server.add_override(&session.actor, stored.id, body).await?;
        Ok(format!("/schedules/{}#overrides", stored.id))
    };
    let again = async |stored: &StoredSchedule, err| {
        schedule_page_again(&server, &session, stored.id, &draft, err).await
    };
    change_loaded(&session, &fields, load_schedule(&server, &id), change, again).await
}

pub(super) async fn remove_override(
    State(server): State<Shared>,
    Path((id, index)): Path<(String, String)>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let change = async |stored: &StoredSchedule| {
        let index =
            index.parse().map_err(|_| ApiError::not_found(format!("there is no override {index:?}")))?;
        server.remove_override(&session.actor, stored.id, index).await?;
        Ok(format!("/schedules/{}#overrides", stored.id))
    };
    let again = async |stored: &StoredSchedule, err| {
        schedule_page_again(&server, &session, stored.id, &OverrideDraft::default(), err).await
    };
    change_loaded(&session, &fields, load_schedule(&server, &id), change, again).await
}

async fn load_schedule(server: &Shared, id: &str) -> Result<StoredSchedule, ApiError> {
    Ok(server.schedule(page_id(id, "schedule")?).await?)
}

/// The edit page of `stored` again, with `draft` and what was wrong.
fn schedule_form_again(
    session: &Session,
    stored: &StoredSchedule,
    draft: &ScheduleDraft,
    err: ApiError,
) -> Response {
    let body = schedule_form(session, Some(stored), draft, Some(&err));
    session.page_with(status_of(Some(&err)), &format!("Edit {}", stored.name), body)
}

/// The page of schedule `id` again, with the override form as it was sent and what was wrong.
async fn schedule_page_again(
    server: &Shared,
    session: &Session,
    id: Id,
    draft: &OverrideDraft,
    err: ApiError,
) -> Page {
    let result = async {
        let data = ScheduleData::load(server, &id.to_string()).await?;
        let body = schedule_body(&data, session, (draft, Some(&err)), server.now())?;
        Ok::<_, ApiError>((data.stored.name, body))
    }
    .await;
    let (title, body) = result.map_err(|other| session.error(other))?;
    Ok(session.page_with(err.status, &title, body))
}

impl LayerDraft {
    /// The empty fieldset that adds a layer: a weekly rotation from the next midnight.
    fn new(now: Timestamp, tz: &TimeZone) -> LayerDraft {
        let midnight = now
            .to_zoned(tz.clone())
            .date()
            .tomorrow()
            .ok()
            .and_then(|date| date.to_zoned(tz.clone()).ok())
            .map_or(now, |zoned| zoned.timestamp());
        LayerDraft {
            start: local_input(midnight, tz),
            shift_length: NEW_SHIFT.to_owned(),
            new: true,
            ..Default::default()
        }
    }
}

impl ScheduleDraft {
    /// The form of `stored` as it is, with an empty fieldset to add a layer.
    fn of(stored: &StoredSchedule, directory: &Directory, now: Timestamp) -> ScheduleDraft {
        let schedule = &stored.schedule;
        let tz = &schedule.time_zone;
        let mut layers: Vec<LayerDraft> = schedule
            .layers
            .iter()
            .map(|layer| LayerDraft {
                start: local_input(layer.start, tz),
                shift_length: layer.shift.to_string(),
                users: layer.users.iter().map(|user| directory.user(*user)).collect::<Vec<_>>().join(", "),
                restrictions: layer.restrictions.iter().map(restriction_line).collect::<Vec<_>>().join("\n"),
                new: false,
                remove: false,
            })
            .collect();
        layers.push(LayerDraft::new(now, tz));
        ScheduleDraft {
            name: stored.name.clone(),
            time_zone: schedule.time_zone.iana_name().unwrap_or("UTC").to_owned(),
            layers,
        }
    }

    /// The form as it was sent.
    fn from_fields(fields: &Fields) -> ScheduleDraft {
        let layers = (0..FIELDSETS_MAX)
            .take_while(|i| fields.has(&format!("layer.{i}.start")))
            .map(|i| {
                let field = |name: &str| fields.get(&format!("layer.{i}.{name}")).to_owned();
                LayerDraft {
                    start: field("start"),
                    shift_length: field("shift_length"),
                    users: field("users"),
                    restrictions: field("restrictions"),
                    new: fields.has(&format!("layer.{i}.new")),
                    remove: fields.has(&format!("layer.{i}.remove")),
                }
            })
            .collect();
        ScheduleDraft {
            name: fields.get("name").to_owned(),
            time_zone: fields.get("time_zone").to_owned(),
            layers,
        }
    }

    /// The form as it was sent, to show again: with an empty fieldset to add a layer if the one
    /// sent was used.
    fn again(mut self, now: Timestamp) -> ScheduleDraft {
        if self.layers.iter().all(|layer| !layer.new || !layer.users.trim().is_empty()) {
            for layer in &mut self.layers {
                layer.new = false;
            }
            self.layers.push(LayerDraft::new(now, &self.zone()));
        }
        self
    }

    /// The time zone typed, or UTC while it is not one (the application says so).
    fn zone(&self) -> TimeZone {
        TimeZone::get(self.time_zone.trim()).unwrap_or(TimeZone::UTC)
    }

    /// The layers to keep, as the API takes them, with their numbers on the form.
    fn layers(&self) -> Result<(Vec<usize>, Vec<api::Layer>), ApiError> {
        let tz = self.zone();
        let mut numbers = Vec::new();
        let mut layers = Vec::new();
        for (index, layer) in self.layers.iter().enumerate() {
            let number = index + 1;
            if layer.remove || (layer.new && layer.users.trim().is_empty()) {
                continue;
            }
            let restrictions = layer
                .restrictions
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| parse_restriction(number, line))
                .collect::<Result<_, _>>()?;
            layers.push(api::Layer {
                start: parse_local(&format!("layer {number}'s first hand-off"), &layer.start, &tz)?,
                shift_length: layer.shift_length.trim().to_owned(),
                users: refs(&layer.users),
                restrictions,
            });
            numbers.push(number);
        }
        Ok((numbers, layers))
    }
}

/// A restriction as a line of the form: `daily 09:00-17:00`, `weekly monday 09:00-friday 17:00`.
fn restriction_line(restriction: &domain::Restriction) -> String {
    let time = domain::time_text;
    match (restriction.start_day, restriction.end_day) {
        (Some(start), Some(end)) => format!(
            "weekly {} {}-{} {}",
            domain::weekday_name(start),
            time(restriction.start_time),
            domain::weekday_name(end),
            time(restriction.end_time)
        ),
        _ => format!("daily {}-{}", time(restriction.start_time), time(restriction.end_time)),
    }
}

/// A line of a layer's restrictions: `daily 09:00-17:00`, `weekly monday 09:00-friday 17:00`, or
/// `monday 09:00-17:00` (a window within one day). The application checks the days and times.
fn parse_restriction(layer: usize, line: &str) -> Result<api::Restriction, ApiError> {
    let words: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || c == '-' || c == '–').filter(|w| !w.is_empty()).collect();
    let weekly = |start_day: &str, start: &str, end_day: &str, end: &str| api::Restriction {
        kind: "weekly".to_owned(),
        start_day: Some(start_day.to_lowercase()),
        start_time: start.to_owned(),
        end_day: Some(end_day.to_lowercase()),
        end_time: end.to_owned(),
    };
    match words.as_slice() {
        [kind, start, end] if kind.eq_ignore_ascii_case("daily") => Ok(api::Restriction {
            kind: "daily".to_owned(),
            start_day: None,
            start_time: (*start).to_owned(),
            end_day: None,
            end_time: (*end).to_owned(),
        }),
        [kind, start_day, start, end_day, end] if kind.eq_ignore_ascii_case("weekly") => {
            Ok(weekly(start_day, start, end_day, end))
        }
        [day, start, end] => Ok(weekly(day, start, day, end)),
        [start_day, start, end_day, end] => Ok(weekly(start_day, start, end_day, end)),
        _ => Err(ApiError::invalid(format!(
            "layer {layer}: the restriction {line:?} is not like \"daily 09:00-17:00\" or \
             \"weekly monday 09:00-friday 17:00\""
        ))),
    }
}

/// A schedule's form: new when `stored` is `None`, else its edit page with the delete form.
fn schedule_form(
    session: &Session,
    stored: Option<&StoredSchedule>,
    draft: &ScheduleDraft,
    error: Option<&ApiError>,
) -> Markup {
    let action = stored.map_or("/schedules".to_owned(), |s| format!("/schedules/{}/edit", s.id));
    let cancel = stored.map_or("/schedules".to_owned(), |s| format!("/schedules/{}", s.id));
    html! {
        h1 {
            @match stored { Some(stored) => { "Edit " (stored.name) }, None => "New schedule" }
        }
        form.edit #schedule-form method="post" action=(action) {
            (problem(error))
            (csrf_field(session))
            (text_input("Name", "name", &draft.name, ""))
            (text_input("Time zone", "time_zone", &draft.time_zone,
                "an IANA name such as Europe/Lisbon; hand-offs, restrictions and the times below are in it"))
            p.hint { "A higher layer wins wherever it has someone on call; overrides win over every layer." }
            @for (index, layer) in draft.layers.iter().enumerate() {
                @let name = |field: &str| format!("layer.{index}.{field}");
                fieldset.layer id={ "layer-" (index + 1) } {
                    legend { @if layer.new { "Add a layer" } @else { "Layer " (index + 1) } }
                    @if layer.new { input type="hidden" name=(name("new")) value="yes"; }
                    label.field {
                        span { "First hand-off" }
                        input type="datetime-local" name=(name("start")) value=(layer.start);
                    }
                    (text_input("Shift", &name("shift_length"), &layer.shift_length, "such as 12h, 1d, 1w"))
                    (text_input("People, in turn", &name("users"), &layer.users, "names separated by commas"))
                    (text_area("Only during", &name("restrictions"), &layer.restrictions, 2,
                        "optional, one window a line: daily 09:00-17:00, weekly monday 09:00-friday 17:00"))
                    @if !layer.new { (checkbox("Remove this layer", &name("remove"), layer.remove)) }
                }
            }
            div.buttons {
                button.primary #save { @if stored.is_some() { "Save" } @else { "Create schedule" } }
                a href=(cancel) { "Cancel" }
            }
        }
        @if let Some(stored) = stored {
            h2 { "Delete" }
            p.hint { "A schedule that an escalation policy pages cannot be deleted until the policy stops paging it." }
            (delete_form(session, &format!("/schedules/{}/delete", stored.id), &stored.name))
        }
    }
}

/// The form on a schedule's page that adds an override, with the people to choose from.
pub(super) fn override_form(
    session: &Session,
    stored: &StoredSchedule,
    directory: &Directory,
    draft: &OverrideDraft,
    error: Option<&ApiError>,
) -> Markup {
    let mut people: Vec<(String, String)> =
        directory.users.iter().map(|(id, name)| (id.to_string(), name.clone())).collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let tz = stored.schedule.time_zone.iana_name().unwrap_or("UTC");
    html! {
        form.edit.inline-fields #override-form method="post" action={ "/schedules/" (stored.id) "/overrides" } {
            (problem(error))
            (csrf_field(session))
            (select("Who covers", "user", &people, &[draft.user.as_str()], false, ""))
            label.field {
                span { "From (" (tz) ")" }
                input type="datetime-local" name="start" value=(draft.start) required;
            }
            label.field {
                span { "To (" (tz) ")" }
                input type="datetime-local" name="end" value=(draft.end) required;
            }
            div.buttons { button #add-override { "Add override" } }
        }
    }
}

/// The button that removes override number `index` (in the order the schedule keeps them).
pub(super) fn remove_override_button(session: &Session, schedule: Id, index: usize) -> Markup {
    html! {
        form.inline method="post" action={ "/schedules/" (schedule) "/overrides/" (index) "/remove" } {
            (csrf_field(session))
            button.link { "Remove" }
        }
    }
}

// Escalation policies.

/// The targets a level may page, as `(value, label)`: people, schedules and teams.
async fn target_choices(server: &Shared) -> Result<Vec<(String, String)>, ApiError> {
    let mut choices = Vec::new();
    for user in server.users().await? {
        choices.push((format!("user:{}", user.id), user.name));
    }
    for schedule in server.schedules().await? {
        choices.push((format!("schedule:{}", schedule.id), format!("schedule {}", schedule.name)));
    }
    for team in server.teams().await? {
        choices.push((format!("team:{}", team.id), format!("team {}", team.name)));
    }
    Ok(choices)
}

pub(super) async fn new_policy(State(server): State<Shared>, session: Session) -> Page {
    let choices = target_choices(&server).await.map_err(|err| session.error(err))?;
    let draft = PolicyDraft { repeat: "0".to_owned(), levels: vec![LevelDraft::new()], ..Default::default() };
    Ok(session.page("New escalation policy", policy_form(&session, None, &draft, &choices, None)))
}

pub(super) async fn create_policy(
    State(server): State<Shared>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    fields.check(&session).map_err(|err| session.error(err))?;
    let draft = PolicyDraft::from_fields(&fields);
    let result = async {
        let body = api::CreateEscalationPolicy {
            name: draft.name.trim().to_owned(),
            repeat: parse_number("Repeat", &draft.repeat)?,
            levels: draft.levels()?,
            management_from: draft.management_from()?,
            team: owned_team(&session),
        };
        Ok::<_, ApiError>(server.create_policy(&session.actor, body).await?)
    }
    .await;
    match result {
        Ok(stored) => Ok(done(&format!("/escalation-policies/{}", stored.id))),
        Err(err) => {
            let choices = target_choices(&server).await.map_err(|err| session.error(err))?;
            let body = policy_form(&session, None, &draft.again(), &choices, Some(&err));
            Ok(session.page_with(err.status, "New escalation policy", body))
        }
    }
}

pub(super) async fn edit_policy(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
) -> Page {
    let result = async {
        let stored = load_policy(&server, &id).await?;
        Ok::<_, ApiError>((stored, target_choices(&server).await?))
    }
    .await;
    let (stored, choices) = result.map_err(|err| session.error(err))?;
    let draft = PolicyDraft::of(&stored);
    let title = format!("Edit {}", stored.name);
    Ok(session.page(&title, policy_form(&session, Some(&stored), &draft, &choices, None)))
}

pub(super) async fn save_policy(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let draft = PolicyDraft::from_fields(&fields);
    let change = async |stored: &StoredPolicy| {
        let body = api::UpdateEscalationPolicy {
            name: Some(draft.name.trim().to_owned()),
            repeat: Some(parse_number("Repeat", &draft.repeat)?),
            levels: Some(draft.levels()?),
            management_from: draft.management_from()?,
            team: None,
        };
        server.update_policy(&session.actor, stored.id, body).await?;
        Ok(format!("/escalation-policies/{}", stored.id))
    };
    let again = async |stored: &StoredPolicy, err| {
        let draft = PolicyDraft::from_fields(&fields).again();
        policy_form_again(&server, &session, stored, &draft, err).await
    };
    change_loaded(&session, &fields, load_policy(&server, &id), change, again).await
}

pub(super) async fn delete_policy(
    State(server): State<Shared>,
    Path(id): Path<String>,
    session: Session,
    Form(fields): Posted,
) -> Page {
    let fields = Fields(fields);
    let change = async |stored: &StoredPolicy| {
        confirmed(&fields)?;
        server.delete_policy(&session.actor, stored.id).await?;
        Ok("/escalation-policies".to_owned())
    };
    let again = async |stored: &StoredPolicy, err| {
        policy_form_again(&server, &session, stored, &PolicyDraft::of(stored), err).await
    };
    change_loaded(&session, &fields, load_policy(&server, &id), change, again).await
}

async fn load_policy(server: &Shared, id: &str) -> Result<StoredPolicy, ApiError> {
    Ok(server.policy(page_id(id, "escalation policy")?).await?)
}

async fn policy_form_again(
    server: &Shared,
    session: &Session,
    stored: &StoredPolicy,
    draft: &PolicyDraft,
    err: ApiError,
) -> Page {
    let choices = target_choices(server).await.map_err(|other| session.error(other))?;
    let body = policy_form(session, Some(stored), draft, &choices, Some(&err));
    Ok(session.page_with(err.status, &format!("Edit {}", stored.name), body))
}

impl LevelDraft {
    fn new() -> LevelDraft {
        LevelDraft { timeout: NEW_TIMEOUT_MINUTES.to_owned(), new: true, ..Default::default() }
    }
}

impl PolicyDraft {
    /// The severity chosen for waking management by hand, if any.
    fn management_from(&self) -> Result<Option<api::Severity>, ApiError> {
        match self.management_from.as_str() {
            "" => Ok(None),
            text => {
                firebreak_domain::Severity::parse(text).map(|s| Some(s.into())).map_err(ApiError::invalid)
            }
        }
    }

    /// The form of `stored` as it is, with an empty fieldset to add a level.
    fn of(stored: &StoredPolicy) -> PolicyDraft {
        let mut levels: Vec<LevelDraft> = stored
            .policy
            .levels()
            .iter()
            .map(|level| LevelDraft {
                timeout: (level.timeout.as_secs() / 60).to_string(),
                targets: level.targets.iter().map(|t| format!("{}:{}", t.kind(), t.id())).collect(),
                wakes_management: level.wakes_management,
                new: false,
                remove: false,
            })
            .collect();
        levels.push(LevelDraft::new());
        PolicyDraft {
            name: stored.name.clone(),
            repeat: stored.policy.repeat().to_string(),
            levels,
            management_from: stored.policy.management_from().as_str().to_owned(),
        }
    }

    fn from_fields(fields: &Fields) -> PolicyDraft {
        let levels = (0..FIELDSETS_MAX)
            .take_while(|i| fields.has(&format!("level.{i}.timeout")))
            .map(|i| {
                let name = |field: &str| format!("level.{i}.{field}");
                LevelDraft {
                    timeout: fields.get(&name("timeout")).to_owned(),
                    targets: fields.all(&name("targets")).into_iter().map(str::to_owned).collect(),
                    wakes_management: fields.has(&name("wakes_management")),
                    new: fields.has(&name("new")),
                    remove: fields.has(&name("remove")),
                }
            })
            .collect();
        PolicyDraft {
            name: fields.get("name").to_owned(),
            repeat: fields.get("repeat").to_owned(),
            levels,
            management_from: fields.get("management_from").to_owned(),
        }
    }

    fn again(mut self) -> PolicyDraft {
        if self.levels.iter().all(|level| !level.new || !level.targets.is_empty()) {
            for level in &mut self.levels {
                level.new = false;
            }
            self.levels.push(LevelDraft::new());
        }
        self
    }

    fn levels(&self) -> Result<Vec<api::EscalationLevel>, ApiError> {
        let mut levels = Vec::new();
        for (index, level) in self.levels.iter().enumerate() {
            if level.remove || (level.new && level.targets.is_empty()) {
                continue;
            }
            let what = format!("level {}'s wait", index + 1);
            let targets = level
                .targets
                .iter()
                .map(|target| {
                    let (kind, id) = target.split_once(':').unwrap_or((target.as_str(), ""));
                    Ok(api::EscalationTarget { kind: kind.to_owned(), id: parse_id("a target", id)? })
                })
                .collect::<Result<_, ApiError>>()?;
            levels.push(api::EscalationLevel {
                timeout_minutes: parse_number(&what, &level.timeout)?,
                targets,
                wakes_management: level.wakes_management,
            });
        }
        Ok(levels)
    }
}

/// A policy's form: new when `stored` is `None`, else its edit page with the delete form.
fn policy_form(
    session: &Session,
    stored: Option<&StoredPolicy>,
    draft: &PolicyDraft,
    choices: &[(String, String)],
    error: Option<&ApiError>,
) -> Markup {
    let action =
        stored.map_or("/escalation-policies".to_owned(), |p| format!("/escalation-policies/{}/edit", p.id));
    let cancel =
        stored.map_or("/escalation-policies".to_owned(), |p| format!("/escalation-policies/{}", p.id));
    html! {
        h1 {
            @match stored { Some(stored) => { "Edit " (stored.name) }, None => "New escalation policy" }
        }
        form.edit #policy-form method="post" action=(action) {
            (problem(error))
            (csrf_field(session))
            (text_input("Name", "name", &draft.name, ""))
            label.field {
                span { "Repeat" }
                input type="number" name="repeat" min="0" max="9" value=(draft.repeat);
                small.hint { "how many more times to page from level 1 when the last level times out" }
            }
            @let severities: Vec<(String, String)> =
                ["SEV1", "SEV2", "SEV3", "SEV4"].iter().map(|s| ((*s).to_owned(), format!("{s} or worse"))).collect();
            @let chosen = if draft.management_from.is_empty() { "SEV2" } else { draft.management_from.as_str() };
            (select("Management may be paged by hand for", "management_from", &severities, &[chosen], false,
                "incidents this severe or worse; the level that may wake management is marked below"))
            @for (index, level) in draft.levels.iter().enumerate() {
                @let name = |field: &str| format!("level.{index}.{field}");
                @let selected: Vec<&str> = level.targets.iter().map(String::as_str).collect();
                fieldset.level id={ "level-" (index + 1) } {
                    legend { @if level.new { "Add a level" } @else { "Level " (index + 1) } }
                    @if level.new { input type="hidden" name=(name("new")) value="yes"; }
                    label.field {
                        span { "Wait for an acknowledgement (minutes)" }
                        input type="number" name=(name("timeout")) min="1" value=(level.timeout);
                    }
                    (select("Page", &name("targets"), choices, &selected, true,
                        "people, schedules (whoever is on call) and teams (every member); hold Ctrl (⌘ on a Mac) to choose several"))
                    (checkbox("May wake management (one level only)", &name("wakes_management"), level.wakes_management))
                    @if !level.new { (checkbox("Remove this level", &name("remove"), level.remove)) }
                }
            }
            div.buttons {
                button.primary #save { @if stored.is_some() { "Save" } @else { "Create policy" } }
                a href=(cancel) { "Cancel" }
            }
        }
        @if let Some(stored) = stored {
            h2 { "Delete" }
            p.hint { "A policy that services use, or that unresolved incidents page through, cannot be deleted." }
            (delete_form(session, &format!("/escalation-policies/{}/delete", stored.id), &stored.name))
        }
    }
}

/// The team a schedule or policy made by `session` belongs to: the one team they own, if they own
/// exactly one and are not an administrator (who make installation-wide ones).
fn owned_team(session: &Session) -> Option<firebreak_api::Ref> {
    if session.actor.is_admin() {
        return None;
    }
    let owned: Vec<_> = session
        .actor
        .grants()
        .teams
        .iter()
        .filter(|(_, role)| **role == firebreak_domain::Role::Owner)
        .map(|(team, _)| *team)
        .collect();
    match owned[..] {
        [team] => Some(firebreak_api::Ref::Id(team)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect())
    }

    #[test]
    fn a_schedule_form_becomes_the_apis_layers() {
        let form = fields(&[
            ("name", "primary"),
            ("time_zone", "Europe/Lisbon"),
            ("layer.0.start", "2026-07-06T09:00"),
            ("layer.0.shift_length", "1w"),
            ("layer.0.users", "Ana, Bo"),
            ("layer.0.restrictions", "weekly monday 09:00-friday 17:00\r\n\r\nsaturday 10:00-12:00"),
            ("layer.1.start", "2026-07-06T00:00"),
            ("layer.1.shift_length", "1d"),
            ("layer.1.users", "Cy"),
            ("layer.1.remove", "yes"),
            ("layer.2.new", "yes"),
            ("layer.2.start", "2026-07-07T00:00"),
            ("layer.2.shift_length", "1w"),
            ("layer.2.users", ""),
        ]);
        let draft = ScheduleDraft::from_fields(&form);
        assert_eq!(draft.layers.len(), 3);
        let (numbers, layers) = draft.layers().unwrap();
        assert_eq!(numbers, [1], "the removed layer and the empty new one are left out");
        let layer = &layers[0];
        assert_eq!(layer.start.to_string(), "2026-07-06T08:00:00Z", "09:00 in Lisbon's summer");
        assert_eq!(layer.users, [api::Ref::Name("Ana".into()), api::Ref::Name("Bo".into())]);
        let restrictions: Vec<String> = layer
            .restrictions
            .iter()
            .map(|r| format!("{} {:?} {} {:?} {}", r.kind, r.start_day, r.start_time, r.end_day, r.end_time))
            .collect();
        assert_eq!(
            restrictions,
            [
                r#"weekly Some("monday") 09:00 Some("friday") 17:00"#,
                r#"weekly Some("saturday") 10:00 Some("saturday") 12:00"#,
            ]
        );
        // Shown again, the sent fieldsets stay, the new one still adds a layer.
        let again = draft.again(Timestamp::UNIX_EPOCH);
        assert_eq!(again.layers.len(), 3);
    }

    #[test]
    fn a_bad_restriction_or_time_names_its_layer() {
        let form = fields(&[
            ("layer.0.start", "2026-07-06T09:00"),
            ("layer.0.users", "Ana"),
            ("layer.0.restrictions", "sometimes"),
        ]);
        let err = ScheduleDraft::from_fields(&form).layers().unwrap_err();
        assert!(
            err.detail.starts_with("layer 1: the restriction \"sometimes\" is not like"),
            "{}",
            err.detail
        );
        let form = fields(&[("layer.0.start", "soon"), ("layer.0.users", "Ana")]);
        let err = ScheduleDraft::from_fields(&form).layers().unwrap_err();
        assert_eq!(err.detail, "layer 1's first hand-off must be a date and time such as 2026-03-02T09:00");
    }

    #[test]
    fn a_policy_form_becomes_the_apis_levels() {
        let form = fields(&[
            ("name", "default"),
            ("repeat", "1"),
            ("level.0.timeout", "5"),
            ("level.0.targets", "schedule:1"),
            ("level.0.targets", "user:2"),
            ("level.1.timeout", "10"),
            ("level.1.targets", "team:3"),
            ("level.1.wakes_management", "yes"),
            ("level.2.new", "yes"),
            ("level.2.timeout", "15"),
        ]);
        let levels = PolicyDraft::from_fields(&form).levels().unwrap();
        let shown: Vec<String> = levels
            .iter()
            .map(|level| {
                let targets: Vec<String> =
                    level.targets.iter().map(|t| format!("{}:{}", t.kind, t.id)).collect();
                format!("{} {} {}", level.timeout_minutes, targets.join(","), level.wakes_management)
            })
            .collect();
        assert_eq!(shown, ["5 schedule:1,user:2 false", "10 team:3 true"]);
        let form = fields(&[("level.0.timeout", "soon"), ("level.0.targets", "user:2")]);
        let err = PolicyDraft::from_fields(&form).levels().unwrap_err();
        assert_eq!(err.detail, "level 1's wait must be a whole number");
    }

    #[test]
    fn restrictions_are_written_as_the_form_reads_them() {
        for line in ["daily 09:00-17:00", "weekly monday 09:00-friday 17:00"] {
            let parsed = parse_restriction(1, line).unwrap();
            let restriction = domain::Restriction::parse(
                &parsed.kind,
                parsed.start_day.as_deref(),
                &parsed.start_time,
                parsed.end_day.as_deref(),
                &parsed.end_time,
            )
            .unwrap();
            assert_eq!(restriction_line(&restriction), line);
        }
    }
}
