//! Schedules and escalation policies on both backends.

use firebreak_store::{NewUser, StoreError, testing};

use crate::{at, empty_schedule, on_both, one_level_policy, team_and_service, write};

#[tokio::test]
async fn schedules_and_policies() {
    on_both("schedules_and_policies", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let schedule = write(&store, async |tx| {
            tx.create_schedule("primary", &empty_schedule("Europe/Berlin"), at(0)).await
        })
        .await
        .unwrap();
        assert_eq!(schedule.name, "primary");
        assert_eq!(schedule.schedule, empty_schedule("Europe/Berlin"));
        let err =
            write(&store, async |tx| tx.create_schedule("primary", &empty_schedule("UTC"), at(0)).await)
                .await
                .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "a schedule named \"primary\" already exists"),
            "{err}"
        );
        let rotation = weekly_rotation();
        let updated =
            write(&store, async |tx| tx.update_schedule(schedule.id, &rotation).await).await.unwrap();
        assert_eq!(updated.schedule, rotation, "what is written reads back the same");
        assert_eq!(store.schedule(schedule.id).await.unwrap(), updated);
        assert_eq!(store.schedules().await.unwrap().len(), 1);

        let policy = write(&store, async |tx| {
            tx.create_escalation_policy("default", &one_level_policy(7), at(1)).await
        })
        .await
        .unwrap();
        assert_eq!(policy.policy, one_level_policy(7));
        assert_eq!(store.escalation_policies().await.unwrap(), std::slice::from_ref(&policy));
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), None);
        write(&store, async |tx| tx.set_service_escalation_policy(service, Some(policy.id)).await)
            .await
            .unwrap();
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), Some(policy.id));
        assert!(
            write(&store, async |tx| tx.set_service_escalation_policy(service, Some(999)).await)
                .await
                .is_err()
        );
        write(&store, async |tx| tx.set_service_escalation_policy(service, None).await).await.unwrap();
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), None);
    })
    .await;
}

/// Schedules and policies written by earlier builds (version 1 of the stored documents, which
/// also held the name, the time zone and days as people typed them) read back unchanged.
#[tokio::test]
async fn documents_of_earlier_builds_read_back() {
    on_both("documents_of_earlier_builds_read_back", |store| async move {
        let schedule =
            write(&store, async |tx| tx.create_schedule("primary", &empty_schedule("Europe/Berlin"), at(0)).await)
                .await
                .unwrap();
        let policy =
            write(&store, async |tx| tx.create_escalation_policy("default", &one_level_policy(7), at(1)).await)
                .await
                .unwrap();
        let old_schedule = r#"{"name":"primary","time_zone":"Europe/Berlin","layers":[{"start":"2026-03-02T08:00:00Z",
            "shift_length":"1w","users":[1,2],"restrictions":[{"type":"weekly","start_day":"Mon","start_time":"09:00",
            "end_day":"FRIDAY","end_time":"17:00"}]}],"overrides":[{"user":2,"start":"2026-03-03T00:00:00Z",
            "end":"2026-03-04T00:00:00Z"}]}"#;
        let old_policy = r#"{"name":"default","repeat":2,"levels":[{"timeout_minutes":10,
            "targets":[{"type":"schedule","id":1},{"type":"team","id":3}],"wakes_management":true}]}"#;
        testing::set_document(&store, "schedules", schedule.id, old_schedule).await.unwrap();
        testing::set_document(&store, "escalation_policies", policy.id, old_policy).await.unwrap();

        let read = store.schedule(schedule.id).await.unwrap().schedule;
        let mut expected = weekly_rotation();
        expected.time_zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(read, expected);
        let read = store.escalation_policy(policy.id).await.unwrap().policy;
        let level = firebreak_engine::Level {
            timeout: jiff::SignedDuration::from_mins(10),
            targets: vec![firebreak_engine::Target::Schedule(1), firebreak_engine::Target::Team(3)],
            wakes_management: true,
        };
        assert_eq!(read, firebreak_engine::Policy::parse(vec![level], 2).unwrap());
    })
    .await;
}

/// A weekly rotation of users 1 and 2 on weekdays' business hours, with user 2 covering a day.
fn weekly_rotation() -> firebreak_domain::Schedule {
    use jiff::civil::{Time, Weekday};
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let layer = firebreak_domain::Layer {
        start: at("2026-03-02T08:00:00Z"),
        shift: firebreak_domain::ShiftLength::Weeks(1),
        users: vec![1, 2],
        restrictions: vec![firebreak_domain::Restriction::weekly(
            Weekday::Monday,
            Time::constant(9, 0, 0, 0),
            Weekday::Friday,
            Time::constant(17, 0, 0, 0),
        )],
    };
    let cover = firebreak_domain::Override {
        user: 2,
        start: at("2026-03-03T00:00:00Z"),
        end: at("2026-03-04T00:00:00Z"),
    };
    firebreak_domain::Schedule::new(jiff::tz::TimeZone::UTC, vec![layer], vec![cover]).unwrap()
}

#[tokio::test]
async fn team_members() {
    on_both("team_members", |store| async move {
        let (team, _) = team_and_service(&store).await;
        let mut ids = Vec::new();
        for name in ["Bo", "Ana"] {
            let user = write(&store, async |tx| {
                tx.create_user(
                    &NewUser {
                        name: name.into(),
                        email: format!("{name}@example.com"),
                        time_zone: "UTC".into(),
                    },
                    at(0),
                )
                .await
            })
            .await
            .unwrap();
            ids.push(user.id);
        }
        assert!(store.team_members(team).await.unwrap().1.is_empty());
        for id in &ids {
            write(&store, async |tx| tx.add_team_member(team, *id, "responder", at(1)).await).await.unwrap();
        }
        // Adding a member again changes nothing.
        write(&store, async |tx| tx.add_team_member(team, ids[0], "responder", at(2)).await).await.unwrap();
        let names =
            |users: Vec<firebreak_domain::User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
        assert_eq!(names(store.team_members(team).await.unwrap().1), ["Ana", "Bo"]);

        write(&store, async |tx| tx.remove_team_member(team, ids[0]).await).await.unwrap();
        assert_eq!(names(store.team_members(team).await.unwrap().1), ["Ana"]);
        let err = write(&store, async |tx| tx.remove_team_member(team, ids[0]).await).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m.contains("is not a member")), "{err}");
        assert!(matches!(
            write(&store, async |tx| tx.add_team_member(team, 999, "responder", at(3)).await).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            write(&store, async |tx| tx.add_team_member(999, ids[0], "responder", at(3)).await).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(store.team_members(999).await, Err(StoreError::NotFound(_))));
    })
    .await;
}
