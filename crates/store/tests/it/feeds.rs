//! Calendar feed tokens on both backends.

use firebreak_store::{FEED_TOKEN_PREFIX, Feed, NewUser, StoreError};

use crate::{at, empty_schedule, on_both, write};

#[tokio::test]
async fn feed_tokens_open_their_feed_until_replaced() {
    on_both("feed_tokens_open_their_feed_until_replaced", |store| async move {
        let schedule = write(&store, async |tx| {
            tx.create_schedule("primary", &empty_schedule("Europe/Berlin"), at(0)).await
        })
        .await
        .unwrap();
        let user = write(&store, async |tx| {
            tx.create_user(
                &NewUser { name: "Ana".into(), email: "ana@example.com".into(), time_zone: "UTC".into() },
                at(0),
            )
            .await
        })
        .await
        .unwrap();
        assert_eq!(store.feed_by_token("fbc_0123").await.unwrap(), None, "nothing has a token yet");

        let first = write(&store, async |tx| tx.set_schedule_feed_token(schedule.id).await).await.unwrap();
        assert!(first.starts_with(FEED_TOKEN_PREFIX) && first.len() == 68, "{first}");
        assert_eq!(store.feed_by_token(&first).await.unwrap(), Some(Feed::Schedule(schedule.id)));
        let second = write(&store, async |tx| tx.set_schedule_feed_token(schedule.id).await).await.unwrap();
        assert_ne!(first, second);
        assert_eq!(store.feed_by_token(&first).await.unwrap(), None, "the replaced token stops working");
        assert_eq!(store.feed_by_token(&second).await.unwrap(), Some(Feed::Schedule(schedule.id)));

        let user_token = write(&store, async |tx| tx.set_user_feed_token(user.id).await).await.unwrap();
        assert_eq!(store.feed_by_token(&user_token).await.unwrap(), Some(Feed::User(user.id)));
        assert_eq!(
            store.feed_by_token(&second).await.unwrap(),
            Some(Feed::Schedule(schedule.id)),
            "a user's token leaves the schedule's alone"
        );
        let replaced = write(&store, async |tx| tx.set_user_feed_token(user.id).await).await.unwrap();
        assert_eq!(store.feed_by_token(&user_token).await.unwrap(), None);
        assert_eq!(store.feed_by_token(&replaced).await.unwrap(), Some(Feed::User(user.id)));

        // Lookalikes: another kind of secret, the hash itself, case changes, truncation, junk.
        let api_token = write(&store, async |tx| tx.create_token("ci", at(0)).await).await.unwrap();
        let hash = firebreak_store::secret::hash(&replaced);
        for bogus in [
            api_token.as_str(),
            hash.as_str(),
            &replaced.to_uppercase(),
            &replaced[..replaced.len() - 1],
            &format!("{replaced}0"),
            &format!("{FEED_TOKEN_PREFIX}{}", "f".repeat(500)),
            "",
            "fbc_",
            "fbc_'; DROP TABLE users; --",
        ] {
            assert_eq!(store.feed_by_token(bogus).await.unwrap(), None, "{bogus:?}");
        }

        let err = write(&store, async |tx| tx.set_schedule_feed_token(999).await).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m == "there is no schedule 999"), "{err}");
        let err = write(&store, async |tx| tx.set_user_feed_token(999).await).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(m) if m == "there is no user 999"), "{err}");
    })
    .await;
}
