//! Heartbeat checks and pings: a batch folds each check's pings in order, measures runs, forgets
//! pings of a deleted check, and pruning keeps exactly the newest.

use firebreak_domain::{Expect, PingKind, Severity};
use firebreak_store::{NewHeartbeat, NewPing, PINGS_KEPT, Store};
use jiff::SignedDuration;

use crate::{at, on_both, team_and_service, write};

fn ping(heartbeat_id: i64, second: i64, kind: PingKind, rid: &str) -> NewPing {
    NewPing {
        heartbeat_id,
        at: at(second),
        kind,
        exit_status: None,
        rid: rid.to_owned(),
        method: "GET".to_owned(),
        address: "127.0.0.1".to_owned(),
        user_agent: "curl".to_owned(),
        body: format!("ping {second}"),
    }
}

async fn check(store: &Store, service_id: i64, slug: &str, ping_id: &str) -> i64 {
    let new = NewHeartbeat {
        service_id,
        name: slug.to_owned(),
        slug: slug.to_owned(),
        expect: Expect::period(3600).unwrap(),
        grace: SignedDuration::from_mins(10),
        failures_to_alert: 1,
        severity: Severity::Sev3,
    };
    write(store, async |tx| tx.create_heartbeat(&new, ping_id, "key", "test", at(0)).await).await.unwrap().id
}

#[tokio::test]
async fn batches_fold_pings_in_order_and_pruning_keeps_the_newest() {
    on_both("heartbeat_batches", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let a = check(&store, service, "a", "00000000-0000-4000-8000-00000000000a").await;
        let b = check(&store, service, "b", "00000000-0000-4000-8000-00000000000b").await;
        let outcomes = store
            .record_pings(
                &[
                    ping(a, 10, PingKind::Start, "r1"),
                    ping(b, 11, PingKind::Fail, ""),
                    ping(a, 40, PingKind::Success, "r1"),
                    ping(999, 41, PingKind::Success, ""),
                ],
                &[],
            )
            .await
            .unwrap();
        assert_eq!(outcomes[2].as_ref().unwrap().1, Some(SignedDuration::from_secs(30)));
        assert!(outcomes[3].is_none(), "an unknown check changes nothing");
        let stored = store.heartbeat(a).await.unwrap();
        assert_eq!((stored.seen.last_success_at, stored.seen.started_at), (Some(at(40)), None));
        assert_eq!(store.heartbeat(b).await.unwrap().seen.failures_in_row, 1);

        let many: Vec<_> = (100..100 + 2 * PINGS_KEPT).map(|s| ping(a, s, PingKind::Log, "")).collect();
        store.record_pings(&many, &[a]).await.unwrap();
        let kept = store.heartbeat_pings(a, 10 * PINGS_KEPT).await.unwrap();
        assert_eq!(kept.len() as i64, PINGS_KEPT);
        assert_eq!(kept[0].body, format!("ping {}", 99 + 2 * PINGS_KEPT));
        assert_eq!(
            store.heartbeat_pings(b, 10).await.unwrap().len(),
            1,
            "pruning one check leaves the others"
        );

        write(&store, async |tx| tx.delete_heartbeat(b, at(50)).await).await.unwrap();
        assert!(store.heartbeat_pings(b, 10).await.unwrap().is_empty());
        assert!(store.heartbeat_by_ping_id("00000000-0000-4000-8000-00000000000b").await.unwrap().is_none());
        let after = store.record_pings(&[ping(b, 60, PingKind::Success, "")], &[]).await.unwrap();
        assert!(after[0].is_none(), "a deleted check takes no pings");
    })
    .await;
}
