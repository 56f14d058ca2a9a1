//! Changes to the catalog are all or nothing.

use firebreak_api::Ref;
use firebreak_app::Error;
use serde_json::json;

use crate::support::{Fixture, body, on_both};

/// Two services and a policy that pages nobody yet.
async fn two_services(fixture: &Fixture) -> i64 {
    let app = &fixture.app;
    app.create_team(&firebreak_app::Principal::system(), body(json!({"name": "payments"}))).await.unwrap();
    for name in ["checkout", "ledger"] {
        app.create_service(
            &firebreak_app::Principal::system(),
            body(json!({"name": name, "team": "payments", "description": "pays"})),
        )
        .await
        .unwrap();
    }
    let user = app
        .create_user(
            &firebreak_app::Principal::system(),
            body(json!({"name": "ana", "email": "ana@example.com"})),
        )
        .await
        .unwrap();
    let levels = json!([{"timeout_minutes": 5, "targets": [{"type": "user", "id": user.id}]}]);
    app.create_policy(&firebreak_app::Principal::system(), body(json!({"name": "default", "levels": levels})))
        .await
        .unwrap()
        .id
}

/// A `PATCH` of a service that sets its policy, its grouping and a name already in use fails on
/// the name, after the policy and before the settings were written: nothing of it is kept.
#[tokio::test]
async fn a_patch_that_fails_half_way_changes_nothing() {
    on_both("a_patch_that_fails_half_way_changes_nothing", |fixture| async move {
        let policy = two_services(&fixture).await;
        let checkout = Ref::Name("checkout".into());
        let before = fixture.app.service(&checkout).await.unwrap();
        let patch = json!({"escalation_policy": policy, "group_by": ["alertname"], "description": "takes money",
            "name": "ledger"});
        let err = fixture.app.update_service(&firebreak_app::Principal::system(), &checkout, body(patch)).await.unwrap_err();
        assert!(matches!(&err, Error::Conflict(m) if m == "a service named \"ledger\" already exists"), "{err}");
        assert_eq!(fixture.app.service(&checkout).await.unwrap(), before, "nothing changed");

        // The same change without the bad name is made whole.
        let patch = json!({"escalation_policy": policy, "group_by": ["alertname"], "description": "takes money"});
        let after = fixture.app.update_service(&firebreak_app::Principal::system(), &checkout, body(patch)).await.unwrap();
        assert_eq!(after.escalation_policy_id, Some(policy));
        assert_eq!(after.service.description, "takes money");
        assert_eq!(after.settings.grouping.by.len(), 1);
        fixture.stop().await;
    })
    .await;
}
