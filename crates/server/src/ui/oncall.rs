//! Who is on call: the on-call page (who each service's escalation policy would page now), the
//! schedules with their next two weeks as day bars, and the escalation policies level by level;
//! their forms are in [`edit`].

mod edit;

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use firebreak_app::oncall::StoredSchedule;
use firebreak_domain::{self as domain, Id, Service, Team};
use firebreak_engine as engine;
use jiff::Timestamp;
use maud::{Markup, html};

use super::format::{
    format_time, join, local_time, muted, person, restriction_text, shift_text, sorted_service_links,
    table_head,
};
use super::page::{Catalog, Page, Session, page_id};
use super::roster::{Directory, PolicyNow, on_call_now};
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::Shared;

/// Days of a schedule shown on its page, from today in the schedule's time zone.
const SCHEDULE_DAYS: i64 = 14;
/// Distinct colours for people on a schedule's day bars; more people than this share colours.
const PERSON_COLOURS: usize = 8;
/// The format of times on a schedule's page, in the schedule's time zone.
const SCHEDULE_TIME_FORMAT: &str = "%a %Y-%m-%d %H:%M %Z";

/// The escalation policy of every service that has one, each policy loaded once.
struct ServicePolicies {
    /// The policy of each service, by service id.
    by_service: HashMap<Id, Id>,
    policies: HashMap<Id, PolicyNow>,
}

/// A schedule's page, as loaded.
struct ScheduleData {
    stored: StoredSchedule,
    directory: Directory,
    /// The escalation policies that page the schedule, as `(id, name)`.
    used_by: Vec<(Id, String)>,
}

/// A stretch of one day's schedule with one person on call, either by rotation or by override.
struct Piece {
    user: Id,
    start: Timestamp,
    end: Timestamp,
    cover: bool,
}

/// A [`Piece`] as its day's row shows it: a segment of the day's bar, and a line of text.
struct ShownPiece {
    /// Who is on call.
    name: String,
    /// When, in the schedule's time zone, such as `09:00` to `24:00`.
    from: String,
    to: String,
    /// Whether an override puts them on call.
    cover: bool,
    /// The segment's classes (its colour, and whether it is an override), position and tooltip.
    class: String,
    style: String,
    title: String,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/oncall", get(oncall_page))
        .route("/schedules", get(schedule_list).post(edit::create_schedule))
        .route("/schedules/new", get(edit::new_schedule))
        .route("/schedules/{id}", get(schedule_page))
        .route("/schedules/{id}/edit", get(edit::edit_schedule).post(edit::save_schedule))
        .route("/schedules/{id}/delete", post(edit::delete_schedule))
        .route("/schedules/{id}/overrides", post(edit::add_override))
        .route("/schedules/{id}/overrides/{index}/remove", post(edit::remove_override))
        .route("/escalation-policies", get(policy_list).post(edit::create_policy))
        .route("/escalation-policies/new", get(edit::new_policy))
        .route("/escalation-policies/{id}", get(policy_page))
        .route("/escalation-policies/{id}/edit", get(edit::edit_policy).post(edit::save_policy))
        .route("/escalation-policies/{id}/delete", post(edit::delete_policy))
}

async fn oncall_page(State(server): State<Shared>, session: Session) -> Page {
    let result = async {
        let catalog = Catalog::load(&server).await?;
        let directory = Directory::load(&server).await?;
        let policies = ServicePolicies::load(&server, &catalog).await?;
        Ok::<_, ApiError>((catalog, directory, policies))
    }
    .await;
    let (catalog, directory, policies) = result.map_err(|err| session.error(err))?;
    Ok(session.page("On call now", oncall_body(&catalog, &directory, &policies, server.now())))
}

async fn schedule_list(State(server): State<Shared>, session: Session) -> Page {
    let result =
        async { Ok::<_, ApiError>((server.schedules().await?, Directory::load(&server).await?)) }.await;
    let (schedules, directory) = result.map_err(|err| session.error(err))?;
    Ok(session.page("Schedules", schedule_list_body(&schedules, &directory, server.now())))
}

async fn schedule_page(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let result = async {
        let data = ScheduleData::load(&server, &id).await?;
        let body = schedule_body(&data, &session, (&edit::OverrideDraft::default(), None), server.now())?;
        Ok::<_, ApiError>((data.stored.name, body))
    }
    .await;
    let (title, body) = result.map_err(|err| session.error(err))?;
    Ok(session.page(&title, body))
}

async fn policy_list(State(server): State<Shared>, session: Session) -> Page {
    let result = async {
        let catalog = Catalog::load(&server).await?;
        let directory = Directory::load(&server).await?;
        let service_policies = ServicePolicies::load(&server, &catalog).await?;
        let mut policies = Vec::new();
        for stored in server.policies().await? {
            policies.push(PolicyNow::of(&server, stored).await?);
        }
        Ok::<_, ApiError>((catalog, directory, service_policies, policies))
    }
    .await;
    let (catalog, directory, service_policies, policies) = result.map_err(|err| session.error(err))?;
    let body = policy_list_body(&policies, &service_policies, &catalog, &directory, server.now());
    Ok(session.page("Escalation policies", body))
}

async fn policy_page(State(server): State<Shared>, Path(id): Path<String>, session: Session) -> Page {
    let result = async {
        let id = page_id(&id, "escalation policy")?;
        let policy = PolicyNow::load(&server, id).await?;
        let catalog = Catalog::load(&server).await?;
        let directory = Directory::load(&server).await?;
        let service_policies = ServicePolicies::load(&server, &catalog).await?;
        Ok::<_, ApiError>((policy, catalog, directory, service_policies))
    }
    .await;
    let (policy, catalog, directory, service_policies) = result.map_err(|err| session.error(err))?;
    let body = policy_body(&policy, &service_policies, &catalog, &directory, server.now());
    Ok(session.page(&policy.name, body))
}

impl ServicePolicies {
    async fn load(server: &Shared, catalog: &Catalog) -> Result<ServicePolicies, ApiError> {
        let mut by_service = HashMap::new();
        let mut policies = HashMap::new();
        for (service, policy_id) in &catalog.escalation_policies {
            by_service.insert(*service, *policy_id);
            if let std::collections::hash_map::Entry::Vacant(entry) = policies.entry(*policy_id) {
                entry.insert(PolicyNow::load(server, *policy_id).await?);
            }
        }
        Ok(ServicePolicies { by_service, policies })
    }

    /// The escalation policy of service `service_id`, if it has one.
    fn of(&self, service_id: Id) -> Option<&PolicyNow> {
        self.by_service.get(&service_id).and_then(|id| self.policies.get(id))
    }

    /// The services whose policy is `policy_id`, in no particular order.
    fn services_of(&self, policy_id: Id) -> Vec<Id> {
        self.by_service
            .iter()
            .filter(|(_, policy)| **policy == policy_id)
            .map(|(service, _)| *service)
            .collect()
    }
}

impl ScheduleData {
    async fn load(server: &Shared, id: &str) -> Result<ScheduleData, ApiError> {
        let id = page_id(id, "schedule")?;
        let stored = server.schedule(id).await?;
        let directory = Directory::load(server).await?;
        let mut used_by = Vec::new();
        for policy in server.policies().await? {
            let uses = policy
                .policy
                .levels()
                .iter()
                .flat_map(|level| &level.targets)
                .any(|target| *target == engine::Target::Schedule(id));
            if uses {
                used_by.push((policy.id, policy.name));
            }
        }
        Ok(ScheduleData { stored, directory, used_by })
    }
}

/// The on-call page: team by team, each service's escalation policy level by level with who it
/// would page if an incident started at `now`.
fn oncall_body(
    catalog: &Catalog,
    directory: &Directory,
    policies: &ServicePolicies,
    now: Timestamp,
) -> Markup {
    let mut teams: Vec<&Team> = catalog.teams.values().collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    html! {
        h1 { "On call now" }
        p.hint {
            "Who each service's escalation policy would page, level by level, if an incident started now ("
            (format_time(now)) ")."
        }
        @if teams.is_empty() {
            p.empty { "No teams yet. Create one with " code { "POST /api/v1/teams" } "." }
        }
        @for team in teams {
            (team_on_call(team, catalog, directory, policies, now))
        }
    }
}

/// One team's section of the on-call page.
fn team_on_call(
    team: &Team,
    catalog: &Catalog,
    directory: &Directory,
    policies: &ServicePolicies,
    now: Timestamp,
) -> Markup {
    let mut services: Vec<&Service> = catalog.services.values().filter(|s| s.team_id == team.id).collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mut first: Vec<Id> = Vec::new();
    for service in &services {
        for user in policies.of(service.id).map(|p| p.first_paged(now)).unwrap_or_default() {
            if !first.contains(&user) {
                first.push(user);
            }
        }
    }
    html! {
        section.team id={ "team-" (team.id) } {
            div.team-head {
                h2 { (team.name) }
                span.team-now { "paged first: " (people(directory, &first)) }
            }
            @if services.is_empty() {
                p.empty { "No services." }
            } @else {
                table.oncall {
                    (table_head(&["Service", "Escalation policy", "Level", "Paged after", "On call now"]))
                    @for service in services {
                        tbody id={ "service-" (service.id) } {
                            (service_levels(service, policies.of(service.id), directory, now))
                        }
                    }
                }
            }
        }
    }
}

/// The rows of one service on the on-call page: one per level of its escalation policy.
fn service_levels(
    service: &Service,
    policy: Option<&PolicyNow>,
    directory: &Directory,
    now: Timestamp,
) -> Markup {
    let service_link = html! { a href={ "/services/" (service.id) } { (service.name) } };
    let Some(policy) = policy else {
        return html! {
            tr {
                td.name { (service_link) }
                td.muted colspan="4" { "No escalation policy: incidents of this service page nobody." }
            }
        };
    };
    let levels = policy.levels(directory, now);
    if levels.is_empty() {
        return html! {
            tr {
                td.name { (service_link) }
                td { (policy.link()) }
                td.muted colspan="3" { "The policy has no levels." }
            }
        };
    }
    html! {
        @for (index, level) in levels.iter().enumerate() {
            tr {
                @if index == 0 {
                    td.name rowspan=(levels.len()) { (service_link) }
                    td rowspan=(levels.len()) { (policy.link()) }
                }
                td.nowrap { (level.number) }
                td.nowrap.muted { (level.after) }
                td { (level.pages) }
            }
        }
    }
}

/// `users` in bold, separated by commas, or "nobody".
fn people(directory: &Directory, users: &[Id]) -> Markup {
    if users.is_empty() {
        return muted("nobody");
    }
    join(users.iter().map(|id| person(&directory.user(*id))), ", ")
}

/// The IANA name of a schedule's time zone.
fn time_zone_name(schedule: &domain::Schedule) -> &str {
    schedule.time_zone.iana_name().unwrap_or("UTC")
}

/// The schedule list: each schedule with its time zone, layers, overrides to come and who is on
/// call at `now`.
fn schedule_list_body(schedules: &[StoredSchedule], directory: &Directory, now: Timestamp) -> Markup {
    html! {
        div.page-head {
            h1 { "Schedules" }
            a.button #new-schedule href="/schedules/new" { "New schedule" }
        }
        @if schedules.is_empty() {
            p.empty { "No schedules yet." }
        } @else {
            table.schedules {
                (table_head(&["Schedule", "Time zone", "Layers", "Overrides ahead", "On call now"]))
                tbody {
                    @for stored in schedules {
                        @let schedule = &stored.schedule;
                        tr {
                            td.name { a href={ "/schedules/" (stored.id) } { (stored.name) } }
                            td { (time_zone_name(schedule)) }
                            td.num { (schedule.layers.len()) }
                            td.num { (schedule.overrides.iter().filter(|cover| cover.end > now).count()) }
                            td { (on_call_now(directory, schedule, now)) }
                        }
                    }
                }
            }
        }
    }
}

/// A schedule's page: who is on call at `now`, the next two weeks, its layers and its overrides,
/// with the form that adds an override (as it was sent, and what was wrong with it, if it was).
fn schedule_body(
    data: &ScheduleData,
    session: &Session,
    (draft, error): (&edit::OverrideDraft, Option<&ApiError>),
    now: Timestamp,
) -> Result<Markup, ApiError> {
    let ScheduleData { stored, directory, used_by } = data;
    let schedule = &stored.schedule;
    let tz = &schedule.time_zone;
    // Each with its place in the schedule, which the button that removes it names.
    let mut overrides: Vec<(usize, &domain::Override)> = schedule.overrides.iter().enumerate().collect();
    overrides.sort_by_key(|(_, cover)| cover.start);
    let policy_links =
        used_by.iter().map(|(id, name)| html! { a href={ "/escalation-policies/" (id) } { (name) } });
    Ok(html! {
        div.page-head {
            h1 { (stored.name) }
            a.button #edit href={ "/schedules/" (stored.id) "/edit" } { "Edit" }
        }
        dl.facts {
            dt { "Time zone" } dd { (time_zone_name(schedule)) }
            dt { "On call now" } dd #on-call { (on_call_now(directory, schedule, now)) }
            dt { "Used by" }
            dd {
                @if used_by.is_empty() { "—" } @else { (join(policy_links, ", ")) }
            }
        }
        (schedule_days(schedule, directory, now)?)
        h2 { "Layers" }
        p.hint { "A higher layer wins wherever it has someone on call; overrides win over every layer." }
        @if schedule.layers.is_empty() {
            p.empty { "No layers." }
        } @else {
            table.layers {
                (table_head(&["Layer", "First hand-off", "Shift", "Rotation", "On call"]))
                tbody {
                    @for (index, layer) in schedule.layers.iter().enumerate().rev() {
                        tr {
                            td.num { (index + 1) }
                            td.nowrap { (local_time(layer.start, tz, SCHEDULE_TIME_FORMAT)) }
                            td.nowrap { (shift_text(layer.shift)) }
                            td {
                                (join(
                                    layer.users.iter().map(|user| person(&directory.user(*user))),
                                    html! { " " span.muted { "→" } " " },
                                ))
                            }
                            td.nowrap {
                                @if layer.restrictions.is_empty() {
                                    "always"
                                } @else {
                                    (join(layer.restrictions.iter().map(restriction_text), html! { br; }))
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #overrides-head { "Overrides" }
        @if overrides.is_empty() {
            p.empty #overrides { "None." }
        } @else {
            table.overrides #overrides {
                (table_head(&["Who", "From", "To", "", ""]))
                tbody {
                    @for (index, cover) in &overrides {
                        tr class=(if cover.end <= now { "past" } else { "" }) {
                            td { (person(&directory.user(cover.user))) }
                            td.nowrap { (local_time(cover.start, tz, SCHEDULE_TIME_FORMAT)) }
                            td.nowrap { (local_time(cover.end, tz, SCHEDULE_TIME_FORMAT)) }
                            td.muted {
                                @if cover.end <= now {
                                    "ended"
                                } @else if cover.start <= now {
                                    span.tag.cover { "now" }
                                } @else {
                                    "upcoming"
                                }
                            }
                            td { (edit::remove_override_button(session, stored.id, *index)) }
                        }
                    }
                }
            }
        }
        (edit::override_form(session, stored, directory, draft, error))
    })
}

/// The next [`SCHEDULE_DAYS`] days of `schedule`, from the start of today in its time zone: one row per
/// day with a bar of who is on call when, and the same as text.
fn schedule_days(
    schedule: &domain::Schedule,
    directory: &Directory,
    now: Timestamp,
) -> Result<Markup, ApiError> {
    let tz = &schedule.time_zone;
    let today = now.to_zoned(tz.clone()).date();
    // Midnight of each day and of the day after the last; a date whose midnight cannot be computed
    // (past the end of time) ends the view early.
    let midnights: Vec<(jiff::civil::Date, Timestamp)> = (0..=SCHEDULE_DAYS)
        .map_while(|offset| {
            let date = today.checked_add(jiff::Span::new().days(offset)).ok()?;
            Some((date, date.to_zoned(tz.clone()).ok()?.timestamp()))
        })
        .collect();
    let (Some((_, from)), Some((_, to))) = (midnights.first(), midnights.last()) else {
        return Ok(html! {});
    };
    let shifts = schedule.shifts(*from, *to).map_err(ApiError::bad_request)?;
    let colours = person_colours(schedule);
    Ok(html! {
        h2 { "Next two weeks" }
        p.hint {
            "Times in " (tz.iana_name().unwrap_or("the schedule's time zone"))
            ". Striped stretches are overrides."
        }
        table.days #days {
            thead {
                tr {
                    th { "Day" }
                    th.bar-cell {
                        div.ticks {
                            @for hour in [0, 6, 12, 18] {
                                span style=(format!("left:{:.2}%", f64::from(hour) / 24.0 * 100.0)) {
                                    (format!("{hour:02}:00"))
                                }
                            }
                        }
                    }
                    th { "Who" }
                }
            }
            tbody {
                @for pair in midnights.windows(2) {
                    @if let [(date, start), (_, end)] = pair {
                        (day_row(schedule, &shifts, &colours, directory, (*date, *start, *end), today, now))
                    }
                }
            }
        }
    })
}

/// One day of a schedule's page: the day, its bar, and who is on call when as text. `day` is the
/// date with its midnight and the next.
fn day_row(
    schedule: &domain::Schedule,
    shifts: &[domain::Shift],
    colours: &HashMap<Id, usize>,
    directory: &Directory,
    day: (jiff::civil::Date, Timestamp, Timestamp),
    today: jiff::civil::Date,
    now: Timestamp,
) -> Markup {
    let (date, start, end) = day;
    let tz = &schedule.time_zone;
    let pieces = day_pieces(schedule, shifts, start, end);
    let span_secs = (end.as_second() - start.as_second()).max(1) as f64;
    let percent = |at: Timestamp| (at.as_second() - start.as_second()) as f64 / span_secs * 100.0;
    let is_today = date == today;
    let shown: Vec<ShownPiece> = pieces
        .iter()
        .map(|piece| {
            let name = directory.user(piece.user);
            let from = local_time(piece.start, tz, "%H:%M");
            let to = if piece.end == end { "24:00".to_owned() } else { local_time(piece.end, tz, "%H:%M") };
            let colour = colours.get(&piece.user).copied().unwrap_or(piece.user.unsigned_abs() as usize)
                % PERSON_COLOURS;
            let (cover_class, cover_note) = if piece.cover { (" cover", " (override)") } else { ("", "") };
            ShownPiece {
                class: format!("seg c{colour}{cover_class}"),
                style: format!(
                    "left:{:.3}%;width:{:.3}%",
                    percent(piece.start),
                    percent(piece.end) - percent(piece.start)
                ),
                title: format!("{name} {from}–{to}{cover_note}"),
                name,
                from,
                to,
                cover: piece.cover,
            }
        })
        .collect();
    html! {
        tr class=[is_today.then_some("today")] {
            th.day {
                (date.strftime("%a %d %b"))
                @if is_today { " " span.tag { "today" } }
            }
            td.bar-cell {
                div.bar {
                    @for piece in &shown {
                        span class=(piece.class) style=(piece.style) title=(piece.title) { (piece.name) }
                    }
                    @if is_today {
                        span.now style=(format!("left:{:.3}%", percent(now))) title="now" {}
                    }
                }
            }
            td.shifts {
                @for piece in &shown {
                    div.shift {
                        span.hours { (piece.from) "–" (piece.to) } " " b { (piece.name) }
                        @if piece.cover { " " span.tag.cover { "override" } }
                    }
                }
                @if shown.is_empty() {
                    (muted("nobody on call"))
                }
            }
        }
    }
}

/// The final shifts overlapping `[start, end)`, clipped to it and cut where overrides begin or end,
/// each marked with whether an override puts its person on call. An override wins wherever it
/// covers, so a stretch is an override's exactly when some override covers its start.
fn day_pieces(
    schedule: &domain::Schedule,
    shifts: &[domain::Shift],
    start: Timestamp,
    end: Timestamp,
) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for shift in shifts.iter().filter(|shift| shift.start < end && shift.end > start) {
        let from = shift.start.max(start);
        let to = shift.end.min(end);
        let mut cuts: Vec<Timestamp> = schedule
            .overrides
            .iter()
            .flat_map(|cover| [cover.start, cover.end])
            .filter(|at| from < *at && *at < to)
            .collect();
        cuts.push(from);
        cuts.push(to);
        cuts.sort();
        cuts.dedup();
        for window in cuts.windows(2) {
            let [piece_start, piece_end] = window else { continue };
            let cover = schedule
                .overrides
                .iter()
                .any(|cover| cover.start <= *piece_start && *piece_start < cover.end);
            match pieces.last_mut() {
                Some(last) if last.user == shift.user && last.cover == cover && last.end == *piece_start => {
                    last.end = *piece_end;
                }
                _ => pieces.push(Piece { user: shift.user, start: *piece_start, end: *piece_end, cover }),
            }
        }
    }
    pieces
}

/// A colour index for each person on `schedule`, in order of first appearance in its layers and then
/// its overrides, so the people of one schedule get distinct colours while there are few enough.
fn person_colours(schedule: &domain::Schedule) -> HashMap<Id, usize> {
    let mut colours = HashMap::new();
    let people = schedule
        .layers
        .iter()
        .flat_map(|layer| &layer.users)
        .chain(schedule.overrides.iter().map(|c| &c.user));
    for user in people {
        let next = colours.len();
        colours.entry(*user).or_insert(next);
    }
    colours
}

/// The escalation-policy list: each policy with its levels, repeats, who its first level pages at
/// `now`, and the services that use it.
fn policy_list_body(
    policies: &[PolicyNow],
    service_policies: &ServicePolicies,
    catalog: &Catalog,
    directory: &Directory,
    now: Timestamp,
) -> Markup {
    html! {
        div.page-head {
            h1 { "Escalation policies" }
            a.button #new-policy href="/escalation-policies/new" { "New escalation policy" }
        }
        @if policies.is_empty() {
            p.empty { "No escalation policies yet." }
        } @else {
            table.policies {
                (table_head(&["Policy", "Levels", "Repeats", "Paged first now", "Used by"]))
                tbody {
                    @for policy in policies {
                        tr {
                            td.name { (policy.link()) }
                            td.num { (policy.policy.levels().len()) }
                            td.num { (policy.policy.repeat()) }
                            td { (people(directory, &policy.first_paged(now))) }
                            td { (sorted_service_links(catalog, service_policies.services_of(policy.id))) }
                        }
                    }
                }
            }
        }
    }
}

/// An escalation policy's page: how it repeats, the services that use it, and its levels with who
/// each pages at `now`.
fn policy_body(
    policy: &PolicyNow,
    service_policies: &ServicePolicies,
    catalog: &Catalog,
    directory: &Directory,
    now: Timestamp,
) -> Markup {
    let repeat = match policy.policy.repeat() {
        0 => "no: each level is paged once".to_owned(),
        1 => "once more from level 1 when the last level times out".to_owned(),
        n => format!("{n} more times from level 1 when the last level times out"),
    };
    let levels = policy.levels(directory, now);
    html! {
        div.page-head {
            h1 { (policy.name) }
            a.button #edit href={ "/escalation-policies/" (policy.id) "/edit" } { "Edit" }
        }
        dl.facts {
            dt { "Repeats" } dd { (repeat) }
            dt { "Used by" }
            dd #used-by { (sorted_service_links(catalog, service_policies.services_of(policy.id))) }
        }
        h2 { "Levels" }
        p.hint {
            "Each level is paged in turn until someone acknowledges; times count from when the incident "
            "starts."
        }
        @if levels.is_empty() {
            p.empty { "No levels." }
        } @else {
            table.levels #levels {
                (table_head(&["Level", "Paged after", "Waits for an ack", "Pages (on call now)"]))
                tbody {
                    @for level in &levels {
                        tr {
                            td.nowrap { (level.number) }
                            td.nowrap.muted { (level.after) }
                            td.nowrap.muted { (level.wait) }
                            td { (level.pages) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;

    use firebreak_app::oncall::Target;

    use super::super::page::tests::{ESCAPED, HOSTILE, NOW, assert_escaped, at, catalog, session};
    use super::super::roster::{ServiceOnCall, service_on_call, stretch};
    use super::*;

    /// A schedule in UTC with one layer of daily shifts from 2026-03-02 and the given overrides.
    fn schedule(users: &[Id], overrides: &[(Id, &str, &str)]) -> domain::Schedule {
        let at = |text: &str| format!("2026-03-02T{text}:00Z").parse::<Timestamp>().unwrap();
        domain::Schedule {
            time_zone: TimeZone::UTC,
            layers: vec![domain::Layer {
                start: at("00:00"),
                shift: domain::ShiftLength::Days(1),
                users: users.to_vec(),
                restrictions: vec![],
            }],
            overrides: overrides
                .iter()
                .map(|(user, start, end)| domain::Override { user: *user, start: at(start), end: at(end) })
                .collect(),
        }
    }

    fn check_day(schedule: &domain::Schedule, expected: &str) {
        let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-03-03T00:00:00Z".parse().unwrap();
        let shifts = schedule.shifts(start, end).unwrap();
        let pieces: Vec<String> = day_pieces(schedule, &shifts, start, end)
            .iter()
            .map(|piece| {
                format!(
                    "{} {}-{}{}",
                    piece.user,
                    local_time(piece.start, &TimeZone::UTC, "%H:%M"),
                    local_time(piece.end, &TimeZone::UTC, "%H:%M"),
                    if piece.cover { " override" } else { "" }
                )
            })
            .collect();
        assert_eq!(pieces.join(", "), expected);
    }

    #[test]
    fn overrides_show_in_a_day() {
        check_day(&schedule(&[1, 2], &[]), "1 00:00-00:00");
        check_day(
            &schedule(&[1, 2], &[(3, "10:00", "12:00")]),
            "1 00:00-10:00, 3 10:00-12:00 override, 1 12:00-00:00",
        );
        // Covering for oneself still shows, though the final shifts merge it away.
        check_day(
            &schedule(&[1, 2], &[(1, "10:00", "12:00")]),
            "1 00:00-10:00, 1 10:00-12:00 override, 1 12:00-00:00",
        );
        // Overlapping overrides: the later one wins where they overlap, and both are overrides.
        check_day(
            &schedule(&[1, 2], &[(3, "10:00", "14:00"), (4, "12:00", "13:00")]),
            "1 00:00-10:00, 3 10:00-12:00 override, 4 12:00-13:00 override, 3 13:00-14:00 override, \
             1 14:00-00:00",
        );
        check_day(&schedule(&[], &[(3, "22:00", "23:00")]), "3 22:00-23:00 override");
    }

    #[test]
    fn the_current_stretch_ends_at_the_hand_off() {
        let schedule = schedule(&[1, 2], &[(3, "10:00", "12:00")]);
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(
            stretch(&schedule, at("2026-03-02T09:00:00Z")),
            (Some(1), Some(at("2026-03-02T10:00:00Z")))
        );
        assert_eq!(
            stretch(&schedule, at("2026-03-02T11:00:00Z")),
            (Some(3), Some(at("2026-03-02T12:00:00Z")))
        );
        assert_eq!(stretch(&schedule, at("2026-03-01T23:00:00Z")), (None, Some(at("2026-03-02T00:00:00Z"))));
        let alone = domain::Schedule { layers: vec![], ..schedule };
        assert_eq!(stretch(&alone, at("2026-03-02T13:00:00Z")), (None, None));
    }

    /// Everyone and every schedule is named [`HOSTILE`] but Ana, user 1.
    fn directory() -> Directory {
        Directory {
            users: [(1, "Ana".to_owned()), (5, HOSTILE.to_owned())].into_iter().collect(),
            schedules: [(3, HOSTILE.to_owned())].into_iter().collect(),
        }
    }

    /// Policy 4, named [`HOSTILE`]. Its first level pages user 5, schedule 3 (with user 5 on call
    /// all the time) and a team named [`HOSTILE`] with user 5 in it; its second, which may wake
    /// management, pages Ana.
    fn policy() -> PolicyNow {
        let level = |minutes, targets, wakes_management| engine::Level {
            timeout: jiff::SignedDuration::from_mins(minutes),
            targets,
            wakes_management,
        };
        let policy = engine::Policy::parse(
            vec![
                level(
                    15,
                    vec![engine::Target::User(5), engine::Target::Schedule(3), engine::Target::Team(9)],
                    false,
                ),
                level(90, vec![engine::Target::User(1)], true),
            ],
            2,
        )
        .expect("the policy is valid");
        let targets = vec![
            vec![
                Target::User(5),
                Target::Schedule { id: 3, schedule: schedule(&[5], &[]) },
                Target::Team { id: 9, name: HOSTILE.to_owned(), members: vec![5] },
            ],
            vec![Target::User(1)],
        ];
        PolicyNow { id: 4, name: HOSTILE.to_owned(), policy, targets }
    }

    /// Service 1 uses [`policy`]; service 2 has none.
    fn service_policies() -> ServicePolicies {
        ServicePolicies {
            by_service: [(1, 4)].into_iter().collect(),
            policies: [(4, policy())].into_iter().collect(),
        }
    }

    /// Schedule 3, named [`HOSTILE`], over `schedule`.
    fn stored(schedule: domain::Schedule) -> StoredSchedule {
        StoredSchedule { id: 3, name: HOSTILE.to_owned(), schedule, team_id: None, created_at: at(NOW) }
    }

    #[test]
    fn the_service_page_escapes_who_its_policy_pages() {
        let on_call = ServiceOnCall { policy: policy(), directory: directory() };
        let html = service_on_call(Some(&on_call), at(NOW)).into_string();
        // The policy; user 5; the schedule and who it has on call; the team and its member.
        assert_escaped(&html, 6);
        assert!(html.contains(r#"<dd id="on-call">"#), "{html}");
        assert!(html.contains(r#"<a href="/escalation-policies/4">"#), "{html}");
    }

    #[test]
    fn the_on_call_page_escapes_teams_services_policies_schedules_and_people() {
        let html = oncall_body(&catalog(), &directory(), &service_policies(), at(NOW)).into_string();
        // The team and who it pages first; service 1, its policy and the five names of its first
        // level; service 2.
        assert_escaped(&html, 10);
        for id in ["team-7", "service-1", "service-2"] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no #{id} in {html}");
        }
        assert!(html.contains(r#"<td class="name" rowspan="2">"#), "{html}");
        assert!(html.contains("wakes management"), "{html}");
        assert!(html.contains("No escalation policy: incidents of this service page nobody."), "{html}");
    }

    #[test]
    fn the_schedule_list_escapes_names() {
        let schedule = schedule(&[5], &[(1, "12:00", "13:00")]);
        let html = schedule_list_body(&[stored(schedule)], &directory(), at(NOW)).into_string();
        // The schedule and who it has on call.
        assert_escaped(&html, 2);
        assert!(html.contains(r#"<td class="num">1</td>"#), "one override ahead: {html}");
    }

    #[test]
    fn the_schedule_page_escapes_names_in_text_and_in_the_day_bars() {
        let data = ScheduleData {
            stored: stored(schedule(&[1, 5], &[(5, "12:00", "13:00")])),
            directory: directory(),
            used_by: vec![(4, HOSTILE.to_owned())],
        };
        let session = session();
        let draft = edit::OverrideDraft::default();
        let html = schedule_body(&data, &session, (&draft, None), at(NOW))
            .expect("the schedule has shifts")
            .into_string();
        // The name and the policy; user 5's override, on seven of the fourteen days, in the
        // layer and in the overrides, the days three times each (the bar's label and tooltip, and
        // the text).
        assert_escaped(&html, 28);
        assert!(
            html.contains(&format!(r#"title="{ESCAPED} 12:00–13:00 (override)">{ESCAPED}</span>"#)),
            "{html}"
        );
        for id in ["on-call", "days", "overrides"] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no #{id} in {html}");
        }
        assert!(html.starts_with(&format!(r#"<div class="page-head"><h1>{ESCAPED}</h1>"#)), "{html}");
        // The override can be removed by its place in the schedule, and another added.
        assert!(
            html.contains(r#"<form class="inline" method="post" action="/schedules/3/overrides/0/remove">"#),
            "{html}"
        );
        assert!(html.contains(r#"action="/schedules/3/overrides""#), "{html}");
    }

    #[test]
    fn the_policy_pages_escape_names() {
        let now = at(NOW);
        let html =
            policy_list_body(&[policy()], &service_policies(), &catalog(), &directory(), now).into_string();
        // The policy, who it pages first, and the service that uses it.
        assert_escaped(&html, 3);

        let html = policy_body(&policy(), &service_policies(), &catalog(), &directory(), now).into_string();
        // The policy, the service that uses it, and the five names of the first level.
        assert_escaped(&html, 7);
        assert!(html.contains(r#"<dd id="used-by"><a href="/services/1">"#), "{html}");
        assert!(html.contains(r#"id="levels""#), "{html}");
        assert!(html.contains("2 more times from level 1 when the last level times out"), "{html}");
        assert!(
            html.contains(r#"<td class="nowrap muted">15 min</td><td class="nowrap muted">1 h 30 min</td>"#)
        );
    }
}
