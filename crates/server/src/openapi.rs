//! What the OpenAPI 3.1 document of API v1 says of every operation: the title, bearer
//! authentication, and the problems any operation may answer with. Each capability's module
//! documents its own operations; `api::ApiDoc` puts them together and finishes them here.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::PROBLEM_JSON;

#[derive(OpenApi)]
#[openapi(
    info(title = "firebreak API", description = "Incident response: services, incidents and their timelines."),
    security(("bearer" = [])),
)]
struct Base;

/// The document's start: its title and security requirement, with no operations yet.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// What each tag (a capability) holds, in the order they are listed.
const TAGS: [(&str, &str); 12] = [
    ("access", "API tokens, who you are, passwords, administrators, and the audit log."),
    ("catalog", "Teams, people and services."),
    ("incidents", "Declaring incidents and acting on them."),
    ("alerts", "The alerts of incidents and services."),
    ("silences", "Maintenance windows that keep matching alerts from paging."),
    (
        "heartbeats",
        "Checks that expect a job to ping, Healthchecks-compatible; a missing ping raises a silent alert.",
    ),
    ("signals", "Golden signals and their anomalies."),
    ("oncall", "Schedules, overrides and escalation policies: who is on call."),
    ("paging", "Contact methods, and the pages sent for incidents."),
    ("feeds", "Calendar feeds of on-call shifts."),
    (
        "outcomes",
        "Expected outcomes: rules over business events that raise an alert when something that should happen does not, and the events, posted with a service's integration key.",
    ),
    (
        "ingest",
        "Where monitoring sends alerts, as to PagerDuty, Alertmanager and Grafana, and jobs ping, as to Healthchecks; no bearer token.",
    ),
];

/// `part`, with every operation in it tagged `tag` (a capability's name), in place of the module
/// path utoipa tags it with.
pub(crate) fn tagged(mut part: utoipa::openapi::OpenApi, tag: &str) -> utoipa::openapi::OpenApi {
    for item in part.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.tags = Some(vec![tag.to_owned()]);
        }
    }
    part
}

/// Adds to `doc`, once every operation is in it, the bearer scheme and the problems.
pub(crate) fn finish(doc: &mut utoipa::openapi::OpenApi) {
    doc.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                utoipa::openapi::tag::TagBuilder::new().name(*name).description(Some(*description)).build()
            })
            .collect(),
    );
    BearerAuth.modify(doc);
    Problems.modify(doc);
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents the problems any operation may answer with besides its own responses (a missing token,
/// a malformed parameter or body, an unknown id, an unavailable database), and gives every error
/// response the content type it is sent with, `application/problem+json`.
struct Problems;

impl Problems {
    /// Answers every operation may give.
    const ALWAYS: [(u16, &str); 3] = [
        (400, "A path or query parameter, or the JSON body, is malformed; `detail` says which."),
        (401, "No bearer token, or one that is unknown or revoked."),
        (503, "The database is unavailable; retry later."),
    ];
    /// Answers of operations with a path parameter.
    const WITH_PATH: [(u16, &str); 1] = [(404, "Nothing has this id or name.")];
    /// Answers of operations that take a body.
    const WITH_BODY: [(u16, &str); 3] = [
        (413, "The body is larger than the limit; `detail` gives it."),
        (415, "The body is not sent with `Content-Type: application/json`."),
        (422, "A field is invalid; `detail` names it and says what is allowed."),
    ];
}

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let has_path = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| parameter.parameter_in == ParameterIn::Path);
                // Ingest answers as the services it imitates, and documents its own answers.
                if operation.tags.as_ref().is_some_and(|tags| tags.iter().any(|tag| tag == "ingest")) {
                    continue;
                }
                let mut answers = Problems::ALWAYS.to_vec();
                if has_path {
                    answers.extend(Problems::WITH_PATH);
                }
                if operation.request_body.is_some() {
                    answers.extend(Problems::WITH_BODY);
                }
                let responses = &mut operation.responses.responses;
                for (status, description) in answers {
                    responses.entry(status.to_string()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                PROBLEM_JSON,
                                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                            )
                            .into()
                    });
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if !status.starts_with(['4', '5']) {
                        continue;
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        response.content.insert(PROBLEM_JSON.to_owned(), content);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use firebreak_domain as domain;
    use serde_json::Value;
    use utoipa::OpenApi;

    use crate::api::ApiDoc;

    /// Every operation documents the problems it can answer with, as `application/problem+json`.
    #[test]
    fn every_operation_documents_its_problems() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                if operation["tags"] == serde_json::json!(["ingest"]) {
                    continue;
                }
                let responses = operation["responses"].as_object().unwrap();
                let mut expected = vec!["400", "401", "503"];
                if path.contains('{') {
                    expected.push("404");
                }
                if operation.get("requestBody").is_some() {
                    expected.extend(["413", "415", "422"]);
                }
                for status in expected {
                    assert!(responses.contains_key(status), "{method} {path} documents {status}");
                }
                for (status, response) in responses {
                    let content = response["content"].as_object();
                    if status.starts_with(['4', '5']) {
                        let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
                        assert_eq!(types, ["application/problem+json"], "{method} {path} {status}");
                        assert_eq!(
                            response["content"]["application/problem+json"]["schema"]["$ref"],
                            Value::from("#/components/schemas/Problem"),
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
        assert!(operations > 40, "{operations} operations");
    }

    /// The limits in the request schemas are written as literals (the schema attributes take no
    /// constants): they must stay the limits the application checks.
    /// Operations are tagged by capability, so generated clients get one package each, and the
    /// ingest routes are documented too.
    #[test]
    fn operations_are_tagged_by_capability() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let tags: Vec<&str> =
            doc["tags"].as_array().unwrap().iter().map(|tag| tag["name"].as_str().unwrap()).collect();
        assert_eq!(tags, super::TAGS.map(|(name, _)| name));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let tagged: Vec<&str> =
                    operation["tags"].as_array().unwrap().iter().map(|tag| tag.as_str().unwrap()).collect();
                assert!(tagged.len() == 1 && tags.contains(&tagged[0]), "{method} {path}: {tagged:?}");
            }
        }
        for path in ["/v2/enqueue", "/api/v1/ingest/alertmanager/{key}", "/api/v1/ingest/grafana/{key}"] {
            assert_eq!(doc["paths"][path]["post"]["tags"], serde_json::json!(["ingest"]), "{path}");
            assert_eq!(
                doc["paths"][path]["post"]["security"],
                serde_json::json!([{}]),
                "{path} takes no token"
            );
        }
    }

    #[test]
    fn schema_limits_are_the_checked_limits() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let named = [
            "CreateTeam",
            "UpdateTeam",
            "CreateUser",
            "UpdateUser",
            "CreateService",
            "UpdateService",
            "CreateSchedule",
            "CreateEscalationPolicy",
        ];
        for schema in named {
            let name = &schemas[schema]["properties"]["name"];
            let name = if name["oneOf"].is_array() { &name["oneOf"][0] } else { name };
            assert_eq!(name["maxLength"], domain::NAME_CHARS_MAX, "{schema}");
        }
        let title = &schemas["DeclareIncident"]["properties"]["title"];
        assert_eq!(title["maxLength"], domain::TITLE_CHARS_MAX);
        assert_eq!(schemas["AddNote"]["properties"]["text"]["maxLength"], domain::NOTE_CHARS_MAX);
        assert_eq!(
            schemas["CreateSilence"]["properties"]["matchers"]["maxItems"],
            firebreak_app::LIST_ITEMS_MAX
        );
        let policy = &schemas["CreateEscalationPolicy"]["properties"];
        assert_eq!(policy["levels"]["maxItems"], firebreak_engine::LEVELS_MAX);
        assert_eq!(policy["repeat"]["maximum"], firebreak_engine::REPEAT_COUNT_MAX);
        for schema in ["CreateOutcomeRule", "UpdateOutcomeRule"] {
            let properties = &schemas[schema]["properties"];
            let max = |field: &str| {
                let field = &properties[field];
                let field = if field["oneOf"].is_array() { &field["oneOf"][0] } else { field };
                field["maxLength"].clone()
            };
            assert_eq!(max("name"), domain::NAME_CHARS_MAX, "{schema}");
            assert_eq!(max("rule"), domain::OUTCOME_RULE_CHARS_MAX, "{schema}");
        }
        let event = &schemas["OutcomeEvent"]["properties"];
        assert_eq!(event["event"]["maxLength"], domain::EVENT_NAME_CHARS_MAX);
        assert_eq!(event["key"]["maxLength"], firebreak_app::outcomes::EVENT_KEY_CHARS_MAX);
        assert_eq!(event["count"]["maximum"], firebreak_app::outcomes::EVENT_COUNT_MAX);
    }
}
