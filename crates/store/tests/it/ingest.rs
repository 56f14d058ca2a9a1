//! Alert ingestion: deduplication, grouping, acknowledgement and resolution from the source,
//! silences, on both backends.

use std::collections::BTreeMap;

use firebreak_domain::{
    AlertAction, AlertEvent, AlertSettings, AlertStatus, GroupBy, GroupingRule, Kind, Matcher, Severity,
    Status, TimelineEvent,
};
use firebreak_store::{IngestItem, NewSilence, Store};
use jiff::SignedDuration;

use crate::{at, on_both, team_and_service, write};

fn event(action: AlertAction, key: &str, labels: &[(&str, &str)]) -> AlertEvent {
    AlertEvent {
        action,
        dedup_key: Some(key.to_owned()),
        summary: if action == AlertAction::Trigger { format!("{key} is failing") } else { String::new() },
        source: "db-1".to_owned(),
        severity: Severity::Sev2,
        kind: Kind::Signal,
        occurred_at: None,
        labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        details: "{}".to_owned(),
        links: Vec::new(),
    }
}

async fn send(store: &Store, service_id: i64, events: Vec<AlertEvent>, second: i64) {
    let items: Vec<IngestItem> = events.into_iter().map(|event| IngestItem { service_id, event }).collect();
    store.ingest(&items, at(second)).await.unwrap();
}

async fn incidents(store: &Store) -> Vec<String> {
    let incidents = store.list_incidents(&Default::default()).await.unwrap();
    let mut out = Vec::new();
    for incident in incidents.iter().rev() {
        let alerts = store.incident_alerts(incident.id, 100).await.unwrap();
        let alerts: Vec<String> = alerts
            .iter()
            .map(|a| format!("{}:{}x{}", a.dedup_key, a.status.as_str(), a.event_count))
            .collect();
        out.push(format!("{} {} [{}]", incident.title, incident.status, alerts.join(" ")));
    }
    out
}

#[tokio::test]
async fn repeats_deduplicate_and_alerts_group_per_service() {
    on_both("repeats_deduplicate_and_alerts_group_per_service", |store| async move {
        let (_, service) = team_and_service(&store).await;
        use AlertAction::*;
        send(&store, service, vec![event(Trigger, "disk", &[]), event(Trigger, "disk", &[])], 0).await;
        send(&store, service, vec![event(Trigger, "disk", &[]), event(Trigger, "cpu", &[])], 1).await;
        assert_eq!(incidents(&store).await, ["disk is failing triggered [disk:triggeredx3 cpu:triggeredx1]"]);

        send(&store, service, vec![event(Acknowledge, "disk", &[])], 2).await;
        assert_eq!(
            incidents(&store).await,
            ["disk is failing acknowledged [disk:acknowledgedx3 cpu:triggeredx1]"]
        );

        send(&store, service, vec![event(Resolve, "disk", &[]), event(Resolve, "ghost", &[])], 3).await;
        assert_eq!(
            incidents(&store).await,
            ["disk is failing acknowledged [disk:resolvedx3 cpu:triggeredx1]"]
        );
        send(&store, service, vec![event(Resolve, "cpu", &[])], 4).await;
        assert_eq!(incidents(&store).await, ["disk is failing resolved [disk:resolvedx3 cpu:resolvedx1]"]);

        // Firing again after resolution opens a new incident.
        send(&store, service, vec![event(Trigger, "disk", &[])], 5).await;
        let listed = incidents(&store).await;
        assert_eq!(listed[1], "disk is failing triggered [disk:triggeredx4]");

        let incident = store.list_incidents(&Default::default()).await.unwrap()[1].clone();
        let timeline: Vec<String> = store
            .timeline(incident.id)
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{} {:?}", e.actor, e.event).split(", alert_id").next().unwrap().to_owned())
            .collect();
        assert_eq!(
            timeline,
            [
                "firebreak Declared { title: \"disk is failing\", severity: Sev2 }",
                "firebreak Alert { action: Trigger",
                "firebreak Alert { action: Trigger",
                "firebreak Alert { action: Acknowledge",
                "firebreak StatusChanged { from: Triggered, to: Acknowledged }",
                "firebreak Alert { action: Resolve",
                "firebreak Alert { action: Resolve",
                "firebreak StatusChanged { from: Acknowledged, to: Resolved }",
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn grouping_by_label_with_a_window() {
    on_both("grouping_by_label_with_a_window", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let settings = AlertSettings {
            grouping: GroupingRule {
                by: vec![GroupBy::Label("class".into())],
                window: Some(SignedDuration::from_mins(10)),
            },
            auto_resolve: false,
        };
        write(&store, async |tx| tx.set_alert_settings(service, &settings).await).await.unwrap();
        assert_eq!(store.alert_settings(service).await.unwrap(), settings);
        assert_eq!(store.services_settings().await.unwrap()[&service], (settings.clone(), None));
        use AlertAction::*;
        send(
            &store,
            service,
            vec![event(Trigger, "a", &[("class", "disk")]), event(Trigger, "b", &[("class", "cpu")])],
            0,
        )
        .await;
        send(&store, service, vec![event(Trigger, "c", &[("class", "disk")])], 60).await;
        send(&store, service, vec![event(Trigger, "d", &[("class", "disk")])], 601).await;
        send(&store, service, vec![event(Resolve, "d", &[])], 602).await;
        assert_eq!(
            incidents(&store).await,
            [
                "a is failing triggered [a:triggeredx1 c:triggeredx1]",
                "b is failing triggered [b:triggeredx1]",
                "d is failing triggered [d:resolvedx1]",
            ],
            "d comes after the window; without auto-resolve its incident stays open"
        );
    })
    .await;
}

#[tokio::test]
async fn silenced_alerts_are_kept_without_incidents() {
    on_both("silenced_alerts_are_kept_without_incidents", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let silence = NewSilence {
            service_id: Some(service),
            matchers: vec![Matcher::parse("env=~stag.*").unwrap()],
            starts_at: at(0),
            ends_at: at(100),
            comment: "migration".into(),
        };
        let silence =
            write(&store, async |tx| tx.create_silence(&silence, "ana", at(0)).await).await.unwrap();
        assert_eq!(store.silences(at(50)).await.unwrap().len(), 1);
        use AlertAction::*;
        send(
            &store,
            service,
            vec![event(Trigger, "quiet", &[("env", "staging")]), event(Trigger, "loud", &[("env", "prod")])],
            10,
        )
        .await;
        let quiet = store.alert(service, "quiet").await.unwrap().unwrap();
        assert_eq!(
            (quiet.status, quiet.incident_id, quiet.silence_id),
            (AlertStatus::Triggered, None, Some(silence.id))
        );
        assert_eq!(incidents(&store).await, ["loud is failing triggered [loud:triggeredx1]"]);

        write(&store, async |tx| tx.expire_silence(silence.id, at(20)).await).await.unwrap();
        assert!(write(&store, async |tx| tx.expire_silence(silence.id, at(30)).await).await.is_err());
        // A silenced alert that resolves and fires again after the silence opens an incident.
        send(
            &store,
            service,
            vec![event(Resolve, "quiet", &[]), event(Trigger, "quiet", &[("env", "staging")])],
            30,
        )
        .await;
        let quiet = store.alert(service, "quiet").await.unwrap().unwrap();
        assert!(quiet.incident_id.is_some());
        assert_eq!(quiet.silence_id, None);
    })
    .await;
}

#[tokio::test]
async fn large_batches_write_once_and_cap_the_timeline() {
    on_both("large_batches_write_once_and_cap_the_timeline", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let events: Vec<AlertEvent> =
            (0..1000).map(|i| event(AlertAction::Trigger, &format!("k{i}"), &[])).collect();
        send(&store, service, events.clone(), 0).await;
        // Replaying the same batch adds no alert and no incident.
        send(&store, service, events, 1).await;
        let incidents = store.list_incidents(&Default::default()).await.unwrap();
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].status, Status::Triggered);
        let alerts = store.incident_alerts(incidents[0].id, 2000).await.unwrap();
        assert_eq!(alerts.len(), 1000);
        assert!(alerts.iter().all(|a| a.event_count == 2));
        let timeline = store.timeline(incidents[0].id).await.unwrap();
        assert_eq!(timeline.len(), 1 + 20 + 1, "declared, 20 alerts, and a count of the rest");
        assert_eq!(store.alert_count().await.unwrap(), 1000);
    })
    .await;
}

#[tokio::test]
async fn timeline_entries_name_the_stored_alerts() {
    on_both("timeline_entries_name_the_stored_alerts", |store| async move {
        let (_, service) = team_and_service(&store).await;
        use AlertAction::*;
        // Thirty new alerts in one batch (the timeline lists the first 20), the 25th of them
        // acknowledged and resolved in the same batch.
        let mut events: Vec<AlertEvent> = (0..30).map(|i| event(Trigger, &format!("k{i}"), &[])).collect();
        events.push(event(Acknowledge, "k24", &[]));
        events.push(event(Resolve, "k24", &[]));
        send(&store, service, events, 0).await;
        let incident = store.list_incidents(&Default::default()).await.unwrap()[0].clone();
        let mut named = Vec::new();
        for entry in store.timeline(incident.id).await.unwrap() {
            if let firebreak_domain::TimelineEvent::Alert { action, alert_id, dedup_key, .. } = entry.event {
                let stored = store.alert(service, &dedup_key).await.unwrap().expect("the alert is stored");
                assert_eq!(alert_id, stored.id, "the timeline names alert {dedup_key} by its id");
                named.push(format!("{action:?} {dedup_key}"));
            }
        }
        let mut expected: Vec<String> = (0..20).map(|i| format!("Trigger k{i}")).collect();
        expected.extend(["Acknowledge k24".to_owned(), "Resolve k24".to_owned()]);
        assert_eq!(named, expected);
    })
    .await;
}

#[tokio::test]
async fn journaled_batches_record_their_sequence_number_with_their_events() {
    on_both("journaled_batches_record_their_sequence_number_with_their_events", |store| async move {
        let (_, service) = team_and_service(&store).await;
        assert_eq!(store.journal_applied().await.unwrap(), 0);
        let items = vec![IngestItem { service_id: service, event: event(AlertAction::Trigger, "disk", &[]) }];
        let summary = store.ingest_journaled(&items, at(0), 7).await.unwrap();
        assert_eq!((summary.alerts_created, summary.events_dropped), (1, 0));
        assert_eq!(store.journal_applied().await.unwrap(), 7);

        // An event of a service removed since it was accepted is left out; the rest is stored.
        let mut items = items;
        items.push(IngestItem { service_id: service + 1000, event: event(AlertAction::Trigger, "x", &[]) });
        let summary = store.ingest_journaled(&items, at(1), 8).await.unwrap();
        assert_eq!((summary.alerts_created, summary.events_dropped), (0, 1));
        assert_eq!(store.alert(service, "disk").await.unwrap().unwrap().event_count, 2);
        assert_eq!(store.journal_applied().await.unwrap(), 8);

        // A record with nothing left to store still counts as applied.
        store.ingest_journaled(&items[1..], at(2), 9).await.unwrap();
        assert_eq!(store.journal_applied().await.unwrap(), 9);

        // Outside the journal, the same batch is refused whole.
        assert!(store.ingest(&items, at(3)).await.is_err());
        assert_eq!(store.alert(service, "disk").await.unwrap().unwrap().event_count, 2);
    })
    .await;
}

/// An alert that fires again after its incident was resolved by hand opens a new incident (and so
/// pages), as PagerDuty does, instead of counting a repeat on the resolved incident.
#[tokio::test]
async fn a_re_fire_after_a_manual_resolve_opens_an_incident() {
    on_both("a_re_fire_after_a_manual_resolve_opens_an_incident", |store| async move {
        let (_, service) = team_and_service(&store).await;
        use AlertAction::*;
        send(&store, service, vec![event(Trigger, "disk", &[])], 0).await;
        let first = store.alert(service, "disk").await.unwrap().unwrap().incident_id.unwrap();
        write(&store, async |tx| {
            tx.update_incident(first, &firebreak_domain::Command::Resolve, "ana", at(1)).await
        })
        .await
        .unwrap();
        send(&store, service, vec![event(Trigger, "disk", &[])], 2).await;
        let alert = store.alert(service, "disk").await.unwrap().unwrap();
        let second = alert.incident_id.unwrap();
        assert_ne!(second, first, "the re-fire is on a new incident");
        assert_eq!((alert.status, alert.event_count), (AlertStatus::Triggered, 2));
        assert_eq!(
            incidents(&store).await,
            ["disk is failing resolved []", "disk is failing triggered [disk:triggeredx2]"]
        );
        let timeline: Vec<String> = store
            .timeline(second)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| match entry.event {
                TimelineEvent::Declared { title, .. } => format!("declared {title}"),
                TimelineEvent::Alert { action, dedup_key, .. } => {
                    format!("alert {} {dedup_key}", action.as_str())
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(timeline, ["declared disk is failing", "alert trigger disk"]);
        // A repeat while the new incident is open is a repeat.
        send(&store, service, vec![event(Trigger, "disk", &[])], 3).await;
        let alert = store.alert(service, "disk").await.unwrap().unwrap();
        assert_eq!((alert.incident_id, alert.event_count), (Some(second), 3));
    })
    .await;
}

/// An alert that a silence kept out of incidents and that is still firing when the silence ends
/// opens an incident when it fires again.
#[tokio::test]
async fn a_silenced_alert_firing_after_its_silence_opens_an_incident() {
    on_both("a_silenced_alert_firing_after_its_silence_opens_an_incident", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let silence = NewSilence {
            service_id: Some(service),
            matchers: vec![Matcher::parse("alertname=DiskFull").unwrap()],
            starts_at: at(0),
            ends_at: at(100),
            comment: "migration".into(),
        };
        write(&store, async |tx| tx.create_silence(&silence, "ana", at(0)).await).await.unwrap();
        use AlertAction::*;
        send(&store, service, vec![event(Trigger, "disk", &[("alertname", "DiskFull")])], 10).await;
        send(&store, service, vec![event(Trigger, "disk", &[("alertname", "DiskFull")])], 50).await;
        assert!(incidents(&store).await.is_empty(), "silenced while the silence lasts");
        send(&store, service, vec![event(Trigger, "disk", &[("alertname", "DiskFull")])], 120).await;
        let alert = store.alert(service, "disk").await.unwrap().unwrap();
        assert_eq!((alert.silence_id, alert.event_count), (None, 3));
        assert_eq!(incidents(&store).await, ["disk is failing triggered [disk:triggeredx3]"]);
    })
    .await;
}

/// Events stored together are applied in the order they were accepted: an alert acknowledged and
/// resolved in a batch resolves its incident before a later alert of the batch arrives, which
/// therefore opens an incident of its own, with its own title and severity.
#[tokio::test]
async fn a_batch_applies_its_events_in_the_order_they_came() {
    on_both("a_batch_applies_its_events_in_the_order_they_came", |store| async move {
        let (_, service) = team_and_service(&store).await;
        use AlertAction::*;
        let mut warning = event(Trigger, "disk", &[]);
        warning.severity = Severity::Sev3;
        let mut critical = event(Trigger, "mysql", &[]);
        critical.summary = "MySQL is down".to_owned();
        critical.severity = Severity::Sev1;
        let batch = vec![warning, event(Acknowledge, "disk", &[]), event(Resolve, "disk", &[]), critical];
        send(&store, service, batch, 0).await;
        assert_eq!(
            incidents(&store).await,
            ["disk is failing resolved [disk:resolvedx1]", "MySQL is down triggered [mysql:triggeredx1]"]
        );
        let incidents = store.list_incidents(&Default::default()).await.unwrap();
        assert_eq!(incidents[0].severity, Severity::Sev1, "the critical alert opened its own incident");
        let timeline: Vec<String> = store
            .timeline(incidents[1].id)
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{:?}", e.event).split(", alert_id").next().unwrap().to_owned())
            .collect();
        assert_eq!(
            timeline,
            [
                "Declared { title: \"disk is failing\", severity: Sev3 }",
                "Alert { action: Trigger",
                "Alert { action: Acknowledge",
                "StatusChanged { from: Triggered, to: Acknowledged }",
                "Alert { action: Resolve",
                "StatusChanged { from: Acknowledged, to: Resolved }",
            ]
        );
    })
    .await;
}

/// An incident takes its title and severity from the trigger that opened it, however many
/// triggers of the same alert came in the same batch; a more severe alert joining it raises its
/// severity, on its timeline.
#[tokio::test]
async fn an_incident_is_named_by_its_first_trigger_and_raised_by_a_more_severe_alert() {
    on_both(
        "an_incident_is_named_by_its_first_trigger_and_raised_by_a_more_severe_alert",
        |store| async move {
            let (_, service) = team_and_service(&store).await;
            use AlertAction::*;
            let mut first = event(Trigger, "disk", &[]);
            first.summary = "disk 91% full".to_owned();
            first.severity = Severity::Sev4;
            let mut second = first.clone();
            second.summary = "disk 97% full".to_owned();
            send(&store, service, vec![first, second], 0).await;
            let incident = store.list_incidents(&Default::default()).await.unwrap()[0].clone();
            assert_eq!((incident.title.as_str(), incident.severity), ("disk 91% full", Severity::Sev4));
            let alert = store.alert(service, "disk").await.unwrap().unwrap();
            assert_eq!(alert.summary, "disk 97% full", "the alert says what its last trigger said");

            let mut worse = event(Trigger, "mysql", &[]);
            worse.severity = Severity::Sev1;
            send(&store, service, vec![worse], 1).await;
            let incident = store.incident(incident.id).await.unwrap();
            assert_eq!((incident.title.as_str(), incident.severity), ("disk 91% full", Severity::Sev1));
            let last = store.timeline(incident.id).await.unwrap().pop().unwrap();
            assert_eq!(
                (last.actor.as_str(), last.event),
                ("firebreak", TimelineEvent::SeverityChanged { from: Severity::Sev4, to: Severity::Sev1 })
            );
            // A less severe one leaves it as it is.
            send(&store, service, vec![event(Trigger, "cpu", &[])], 2).await;
            assert_eq!(store.incident(incident.id).await.unwrap().severity, Severity::Sev1);
        },
    )
    .await;
}

/// A resolve event describes nothing: the alert keeps what its trigger said.
#[tokio::test]
async fn a_resolve_keeps_the_alerts_description() {
    on_both("a_resolve_keeps_the_alerts_description", |store| async move {
        let (_, service) = team_and_service(&store).await;
        use AlertAction::*;
        send(&store, service, vec![event(Trigger, "disk", &[])], 0).await;
        let mut resolve = event(Resolve, "disk", &[]);
        resolve.summary = "[RESOLVED] disk is failing".to_owned();
        resolve.severity = Severity::Sev4;
        send(&store, service, vec![resolve], 1).await;
        let alert = store.alert(service, "disk").await.unwrap().unwrap();
        assert_eq!((alert.summary.as_str(), alert.severity), ("disk is failing", Severity::Sev2));
    })
    .await;
}
