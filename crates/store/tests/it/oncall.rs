//! Schedules and escalation policies on both backends.

use firebreak_store::{NewUser, StoreError};

use crate::{at, on_both, team_and_service};

#[tokio::test]
async fn schedules_and_policies() {
    on_both("schedules_and_policies", |store| async move {
        let (_, service) = team_and_service(&store).await;
        let schedule =
            store.create_schedule("primary", "Europe/Berlin", "{\"layers\":[]}", at(0)).await.unwrap();
        assert_eq!((schedule.name.as_str(), schedule.time_zone.as_str()), ("primary", "Europe/Berlin"));
        let err = store.create_schedule("primary", "UTC", "{}", at(0)).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "a schedule named \"primary\" already exists"),
            "{err}"
        );
        let updated = store.update_schedule_spec(schedule.id, "{\"layers\":[1]}").await.unwrap();
        assert_eq!(updated.spec, "{\"layers\":[1]}");
        assert_eq!(store.schedules().await.unwrap().len(), 1);

        let policy = store.create_escalation_policy("default", "{\"levels\":[]}", at(1)).await.unwrap();
        assert_eq!(store.escalation_policies().await.unwrap(), std::slice::from_ref(&policy));
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), None);
        store.set_service_escalation_policy(service, Some(policy.id)).await.unwrap();
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), Some(policy.id));
        assert!(store.set_service_escalation_policy(service, Some(999)).await.is_err());
        store.set_service_escalation_policy(service, None).await.unwrap();
        assert_eq!(store.service_escalation_policy(service).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn team_members() {
    on_both("team_members", |store| async move {
        let (team, _) = team_and_service(&store).await;
        let mut ids = Vec::new();
        for name in ["Bo", "Ana"] {
            let user = store
                .create_user(
                    &NewUser {
                        name: name.into(),
                        email: format!("{name}@example.com"),
                        time_zone: "UTC".into(),
                    },
                    at(0),
                )
                .await
                .unwrap();
            ids.push(user.id);
        }
        assert!(store.team_members(team).await.unwrap().1.is_empty());
        for id in &ids {
            store.add_team_member(team, *id, at(1)).await.unwrap();
        }
        // Adding a member again changes nothing.
        store.add_team_member(team, ids[0], at(2)).await.unwrap();
        let names =
            |users: Vec<firebreak_domain::User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
        assert_eq!(names(store.team_members(team).await.unwrap().1), ["Ana", "Bo"]);

        store.remove_team_member(team, ids[0]).await.unwrap();
        assert_eq!(names(store.team_members(team).await.unwrap().1), ["Ana"]);
        let err = store.remove_team_member(team, ids[0]).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m.contains("is not a member")), "{err}");
        assert!(matches!(store.add_team_member(team, 999, at(3)).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.add_team_member(999, ids[0], at(3)).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.team_members(999).await, Err(StoreError::NotFound(_))));
    })
    .await;
}
