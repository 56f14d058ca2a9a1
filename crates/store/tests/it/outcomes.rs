//! Expected-outcome rules and business events on both backends.

use firebreak_domain::{OutcomeEvent, OutcomeRule, Severity};
use firebreak_store::{NewOutcomeEvent, NewOutcomeRule, StoreError};

use crate::{at, on_both, team_and_service, write};

fn event(service_id: i64, name: &str, second: i64, count: u32, key: Option<&str>) -> NewOutcomeEvent {
    NewOutcomeEvent {
        service_id,
        event: OutcomeEvent { event: name.to_owned(), at: at(second), count, key: key.map(str::to_owned) },
    }
}

#[tokio::test]
async fn rules_keep_their_sentence_and_names_are_unique_among_the_living() {
    on_both("outcome_rules", |store| async move {
        let (_, service_id) = team_and_service(&store).await;
        let new = |name: &str, sentence: &str| NewOutcomeRule {
            service_id,
            name: name.to_owned(),
            rule: OutcomeRule::parse(sentence).unwrap(),
            severity: Severity::Sev2,
            queries: Default::default(),
        };
        let captures = new("captures", "at least 10 payment_captured per 1h between 08:00 and 20:00 on weekdays in Europe/Berlin");
        let rule = write(&store, async |tx| tx.create_outcome_rule(&captures, "ana", at(5)).await).await.unwrap();
        assert_eq!((rule.name.as_str(), rule.severity, rule.alert_open), ("captures", Severity::Sev2, false));
        assert_eq!(rule.rule, captures.rule);
        assert_eq!((rule.created_at, rule.created_by.as_str()), (at(5), "ana"));
        assert_eq!(store.outcome_rule(rule.id).await.unwrap(), rule);

        let err = write(&store, async |tx| tx.create_outcome_rule(&captures, "ana", at(6)).await).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "the service has an outcome rule named \"captures\" already"),
            "{err}"
        );
        let invoices = new("invoices", "no invoice_sent for 26h");
        let other = write(&store, async |tx| tx.create_outcome_rule(&invoices, "ana", at(6)).await).await.unwrap();
        let renamed = NewOutcomeRule { name: "captures".into(), ..invoices.clone() };
        let err = write(&store, async |tx| tx.update_outcome_rule(other.id, &renamed).await).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let mut changed = new("invoices", "no invoice_sent for 2d");
        changed.queries.insert("invoice_sent".into(), "sum(increase(invoices_total[$window]))".into());
        let updated = write(&store, async |tx| tx.update_outcome_rule(other.id, &changed).await).await.unwrap();
        assert_eq!(updated.rule.to_string(), "no invoice_sent for 2d");
        assert_eq!(updated.queries, changed.queries);
        assert_eq!(store.outcome_rule(other.id).await.unwrap().queries, changed.queries);

        // A raised alert is marked once, by compare-and-set.
        assert!(store.set_outcome_alert(rule.id, false, true).await.unwrap());
        assert!(!store.set_outcome_alert(rule.id, false, true).await.unwrap());
        let names = |rules: Vec<firebreak_store::StoredOutcomeRule>| rules.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(store.outcome_rules(Some(service_id)).await.unwrap()), ["captures", "invoices"]);

        // A deleted rule frees its name, and is still watched while its alert is open.
        write(&store, async |tx| tx.delete_outcome_rule(rule.id, at(7)).await).await.unwrap();
        let err = write(&store, async |tx| tx.delete_outcome_rule(rule.id, at(7)).await).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        assert!(matches!(store.outcome_rule(rule.id).await, Err(StoreError::NotFound(_))));
        assert_eq!(names(store.outcome_rules(None).await.unwrap()), ["invoices"]);
        let watched: Vec<(i64, bool)> =
            store.outcome_rules_to_watch().await.unwrap().into_iter().map(|(r, gone)| (r.id, gone)).collect();
        assert_eq!(watched, [(rule.id, true), (other.id, false)]);
        write(&store, async |tx| tx.create_outcome_rule(&captures, "ana", at(8)).await).await.unwrap();
        assert!(store.set_outcome_alert(rule.id, true, false).await.unwrap());
        assert_eq!(store.outcome_rules_to_watch().await.unwrap().len(), 2, "the deleted one is resolved");
    })
    .await;
}

#[tokio::test]
async fn events_are_read_by_name_and_time_summed_and_pruned() {
    on_both("outcome_events", |store| async move {
        let (_, service_id) = team_and_service(&store).await;
        let mut events = vec![
            event(service_id, "payout_requested", 10, 1, Some("p-1")),
            event(service_id, "payout_settled", 20, 1, Some("p-1")),
            event(service_id, "payout_requested", 30, 3, None),
            event(service_id, "noise", 25, 1, None),
        ];
        // More than one multi-row insert.
        events.extend((0..2_500).map(|i| event(service_id, "tick", 100 + i, 2, None)));
        store.record_outcome_events(&events, at(3_000)).await.unwrap();

        let read = store
            .outcome_events(service_id, &["payout_requested", "payout_settled"], at(10), at(30), 100)
            .await
            .unwrap();
        let read: Vec<(String, i64, u32, Option<String>)> = read
            .into_iter()
            .map(|e| (e.event, e.at.as_second() - at(0).as_second(), e.count, e.key))
            .collect();
        assert_eq!(
            read,
            [
                ("payout_settled".to_owned(), 20, 1, Some("p-1".to_owned())),
                ("payout_requested".to_owned(), 30, 3, None)
            ],
            "after the first time, up to the second, oldest first"
        );
        assert_eq!(store.outcome_events(service_id, &["tick"], at(0), at(10_000), 7).await.unwrap().len(), 7);
        assert_eq!(store.outcome_events(service_id + 1, &["tick"], at(0), at(10_000), 7).await.unwrap(), []);

        assert_eq!(store.outcome_event_count(service_id, "tick", at(0), at(10_000)).await.unwrap(), 5_000);
        assert_eq!(store.outcome_event_count(service_id, "tick", at(100), at(109)).await.unwrap(), 18);
        assert_eq!(store.outcome_event_count(service_id, "none", at(0), at(10_000)).await.unwrap(), 0);
        assert_eq!(store.last_outcome_event_at(service_id, "tick", at(500)).await.unwrap(), Some(at(500)));
        assert_eq!(store.last_outcome_event_at(service_id, "tick", at(99)).await.unwrap(), None);

        // Pruned in bounded batches, oldest first.
        assert_eq!(store.prune_outcome_events(at(1_100), 1_000).await.unwrap(), 1_000);
        assert_eq!(store.prune_outcome_events(at(1_100), 1_000).await.unwrap(), 4);
        assert_eq!(store.prune_outcome_events(at(1_100), 1_000).await.unwrap(), 0);
        assert_eq!(store.outcome_event_count(service_id, "tick", at(0), at(10_000)).await.unwrap(), 3_000);
        assert_eq!(
            store.last_outcome_event_at(service_id, "payout_settled", at(10_000)).await.unwrap(),
            None
        );
    })
    .await;
}
