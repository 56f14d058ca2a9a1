//! Paging on both backends: pending marks kept by triggers, escalation compare-and-set,
//! notifications made once per page and contact method, claims and their leases.

use firebreak_domain::{Command, Kind, NewIncident, NotifyOutcome, Severity, Status, TimelineEvent};
use firebreak_engine::{Escalation, EscalationState};
use firebreak_store::{Applied, EscalationUpdate, Finish, NewNotification, NewUser, Store, StoreError};
use jiff::SignedDuration;

use crate::{at, on_both, one_level_policy, team_and_service, write};

async fn incident(store: &Store, service: i64) -> i64 {
    let new = NewIncident {
        title: "checkout errors".into(),
        service_id: service,
        severity: Severity::Sev2,
        kind: Kind::Signal,
    };
    write(store, async |tx| tx.create_incident(&new, "test", at(10)).await).await.unwrap().id
}

fn escalation(incident_id: i64, level: u32, deadline: Option<i64>) -> Escalation {
    Escalation {
        incident_id,
        generation: 1,
        pass: 1,
        level,
        state: if deadline.is_some() { EscalationState::Active } else { EscalationState::Acknowledged },
        next_deadline: deadline.map(at),
    }
}

fn update(incident_id: i64, expected: Option<i64>, next: Escalation) -> EscalationUpdate {
    EscalationUpdate {
        incident_id,
        expected_version: expected,
        next: Some((1, next)),
        handled_status: Some(Status::Triggered),
        notifications: Vec::new(),
        timeline: Vec::new(),
        now: at(20),
        lease: SignedDuration::from_secs(60),
    }
}

#[tokio::test]
async fn pending_marks_and_compare_and_set() {
    on_both("pending_marks_and_compare_and_set", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let policy = write(&store, async |tx| {
            tx.create_escalation_policy("default", &one_level_policy(1), at(0)).await
        })
        .await
        .unwrap();
        assert_eq!(policy.id, 1);
        write(&store, async |tx| tx.set_service_escalation_policy(service, Some(policy.id)).await)
            .await
            .unwrap();
        let id = incident(&store, service).await;

        // Creating an incident marks it, with what deciding its escalation needs.
        let pending = store.pending_escalations(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].incident.id, pending[0].service_policy_id), (id, Some(policy.id)));
        assert!(pending[0].escalation.is_none());

        // The first writer wins; a second start of the same escalation conflicts.
        let first = store.apply_escalations(&[update(id, None, escalation(id, 1, Some(300)))]).await.unwrap();
        assert!(matches!(first[..], [Applied::Done(_)]));
        assert!(store.pending_escalations(10).await.unwrap().is_empty(), "handled: no longer pending");
        let again = store.apply_escalations(&[update(id, None, escalation(id, 1, Some(300)))]).await.unwrap();
        assert!(matches!(again[..], [Applied::Conflict]));

        let stored = store.escalation(id).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.escalation.clone()), (1, escalation(id, 1, Some(300))));
        assert!(store.due_escalations(at(299), 10).await.unwrap().is_empty());
        assert_eq!(store.due_escalations(at(300), 10).await.unwrap(), vec![stored.clone()]);
        assert_eq!(store.next_paging_work().await.unwrap(), Some(at(300)));

        // A stale version loses; the current one wins once. Conflicts do not stop the others.
        let results = store
            .apply_escalations(&[
                update(id, Some(1), escalation(id, 2, Some(600))),
                update(id, Some(1), escalation(id, 3, Some(900))),
            ])
            .await
            .unwrap();
        assert!(matches!(results[..], [Applied::Done(_), Applied::Conflict]));
        let stored = store.escalation(id).await.unwrap().unwrap();
        assert_eq!((stored.version, stored.escalation.level), (2, 2));

        // A status change marks the incident again; the mark stays if the status moved on meanwhile.
        write(&store, async |tx| tx.update_incident(id, &Command::Acknowledge, "test", at(30)).await)
            .await
            .unwrap();
        let pending = store.pending_escalations(10).await.unwrap();
        assert_eq!(pending[0].escalation.as_ref().map(|e| e.version), Some(2));
        let mut stale = update(id, Some(2), escalation(id, 2, None));
        stale.handled_status = Some(Status::Triggered);
        assert!(matches!(store.apply_escalations(&[stale]).await.unwrap()[..], [Applied::Done(_)]));
        assert_eq!(store.pending_escalations(10).await.unwrap().len(), 1, "decided for an old status");
        let mut current = update(id, None, escalation(id, 2, None));
        current.next = None;
        current.handled_status = Some(Status::Acknowledged);
        store.apply_escalations(&[current]).await.unwrap();
        assert!(store.pending_escalations(10).await.unwrap().is_empty());
        // A note changes no status, and marks nothing.
        write(&store, async |tx| {
            tx.update_incident(id, &Command::AddNote("looking".into()), "test", at(31)).await
        })
        .await
        .unwrap();
        assert!(store.pending_escalations(10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn notifications_are_made_once_and_claimed_once() {
    on_both("notifications_are_made_once_and_claimed_once", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let policy = write(&store, async |tx| {
            tx.create_escalation_policy("default", &one_level_policy(1), at(0)).await
        })
        .await
        .unwrap();
        write(&store, async |tx| tx.set_service_escalation_policy(service, Some(policy.id)).await)
            .await
            .unwrap();
        let user = write(&store, async |tx| {
            tx.create_user(
                &NewUser { name: "ana".into(), email: "ana@example.com".into(), time_zone: "UTC".into() },
                at(0),
            )
            .await
        })
        .await
        .unwrap();
        let hook = write(&store, async |tx| {
            tx.create_contact_method(user.id, "webhook", "https://hooks.example/ana", Some("whsec_x"), at(1))
                .await
        })
        .await
        .unwrap();
        let mail = write(&store, async |tx| {
            tx.create_contact_method(user.id, "email", "ana@example.com", None, at(1)).await
        })
        .await
        .unwrap();
        let err = write(&store, async |tx| {
            tx.create_contact_method(user.id, "email", "ana@example.com", None, at(1)).await
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let err = write(&store, async |tx| {
            tx.create_contact_method(999, "email", "x@example.com", None, at(1)).await
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        assert_eq!(store.contact_methods(user.id).await.unwrap(), vec![hook.clone(), mail.clone()]);

        let id = incident(&store, service).await;
        let page = |method: &firebreak_store::ContactMethod| NewNotification {
            page_key: format!("{id}/1/1/1/user:{}", user.id),
            user_id: user.id,
            contact_method_id: method.id,
            channel: method.kind.clone(),
            address: method.address.clone(),
            level: 1,
            wakes_management: false,
            due: at(20),
            follow_up: None,
        };
        let mut start = update(id, None, escalation(id, 1, Some(300)));
        start.notifications = vec![page(&hook), page(&mail)];
        start.timeline =
            vec![TimelineEvent::Unreachable { level: 1, reason: "bob has no contact methods".into() }];
        let Applied::Done(claims) = store.apply_escalations(&[start]).await.unwrap().remove(0) else {
            panic!("the first start conflicts")
        };
        assert_eq!(claims.len(), 2);
        let webhook = &claims[0];
        assert_eq!(
            (webhook.attempt, webhook.secret.as_deref(), webhook.service_name.as_str(), webhook.status),
            (1, Some("whsec_x"), "checkout", Status::Triggered)
        );

        // The same page again (a step decided twice) makes no second notification.
        let mut twice = update(id, Some(1), escalation(id, 1, Some(300)));
        twice.notifications = vec![page(&hook)];
        let Applied::Done(none) = store.apply_escalations(&[twice]).await.unwrap().remove(0) else {
            panic!("conflict")
        };
        assert!(none.is_empty());

        // Claimed attempts are not claimable until their lease ends.
        assert!(
            store.claim_notifications(at(20), SignedDuration::from_secs(60), 10).await.unwrap().is_empty()
        );
        let delivered = TimelineEvent::Notified {
            user_id: user.id,
            user: "ana".into(),
            channel: "webhook".into(),
            level: 1,
            attempt: 1,
            outcome: NotifyOutcome::Delivered,
            detail: "HTTP 200".into(),
        };
        assert!(store.finish_notification(webhook, &Finish::Delivered, &delivered, at(21)).await.unwrap());
        assert!(!store.finish_notification(webhook, &Finish::Delivered, &delivered, at(21)).await.unwrap());

        // The email attempt's replica died: once its lease ends, someone else claims attempt 2, once.
        let reclaimed = store.claim_notifications(at(80), SignedDuration::from_secs(60), 10).await.unwrap();
        assert_eq!(reclaimed.iter().map(|c| (c.id, c.attempt)).collect::<Vec<_>>(), vec![(claims[1].id, 2)]);
        assert!(
            store.claim_notifications(at(80), SignedDuration::from_secs(60), 10).await.unwrap().is_empty()
        );
        // The dead replica's late outcome no longer counts.
        assert!(
            !store.finish_notification(&claims[1], &Finish::Delivered, &delivered, at(81)).await.unwrap()
        );
        let retry = Finish::Retry { at: at(100), error: "421 try later".into() };
        assert!(store.finish_notification(&reclaimed[0], &retry, &delivered, at(82)).await.unwrap());
        assert!(
            store.claim_notifications(at(99), SignedDuration::from_secs(60), 10).await.unwrap().is_empty()
        );
        let third = store.claim_notifications(at(100), SignedDuration::from_secs(60), 10).await.unwrap();
        assert_eq!(third[0].attempt, 3);
        let failed = Finish::Failed { error: "550 no such user".into() };
        assert!(store.finish_notification(&third[0], &failed, &delivered, at(101)).await.unwrap());

        let shown = store.incident_notifications(id).await.unwrap();
        let summary: Vec<_> = shown
            .iter()
            .map(|n| (n.channel.as_str(), n.status.as_str(), n.attempts, n.last_error.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![("webhook", "delivered", 1, None), ("email", "failed", 3, Some("550 no such user"))]
        );
        assert_eq!(shown[0].delivered_at, Some(at(21)));
        let timeline = store.timeline(id).await.unwrap();
        let paging: Vec<_> = timeline
            .iter()
            .filter(|e| matches!(e.event, TimelineEvent::Notified { .. } | TimelineEvent::Unreachable { .. }))
            .collect();
        assert_eq!(paging.len(), 4, "the unreachable entry and three recorded outcomes");

        // Removing a contact method keeps the history.
        write(&store, async |tx| tx.delete_contact_method(user.id, hook.id).await).await.unwrap();
        assert!(write(&store, async |tx| tx.delete_contact_method(user.id, hook.id).await).await.is_err());
        assert_eq!(store.incident_notifications(id).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn server_keys_are_made_once() {
    on_both("server_keys_are_made_once", |store| async move {
        let key = store.server_key("links", at(0)).await.unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(store.server_key("links", at(5)).await.unwrap(), key);
        assert_ne!(store.server_key("other", at(5)).await.unwrap(), key);
    })
    .await;
}
