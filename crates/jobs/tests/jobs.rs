//! Two nodes on one database: each due job runs on exactly one of them.

use chrono::{Duration, TimeZone, Utc};
use reqloop_store::both_backends;

both_backends!(a_due_job_runs_on_exactly_one_node, |db| {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
    let (a, b) = tokio::join!(
        reqloop_jobs::run_due(&db.store, "node-a", now),
        reqloop_jobs::run_due(&db.store, "node-b", now)
    );
    let mut all: Vec<&str> = a.iter().chain(b.iter()).copied().collect();
    all.sort();
    assert_eq!(
        all,
        vec![
            "plan_contacts",
            "purge_expired_sessions",
            "raise_warnings",
            "record_sla_breaches"
        ],
        "each job ran on exactly one node: {a:?} {b:?}"
    );
    assert!(
        reqloop_jobs::run_due(&db.store, "node-a", now + Duration::minutes(4))
            .await
            .is_empty(),
        "none due again yet"
    );
    let later = reqloop_jobs::run_due(&db.store, "node-b", now + Duration::hours(2)).await;
    assert_eq!(
        later,
        vec![
            "purge_expired_sessions",
            "record_sla_breaches",
            "raise_warnings",
            "plan_contacts"
        ],
        "breaches are recorded before the warnings count them"
    );
});

both_backends!(the_purge_removes_expired_sessions_only, |db| {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
    let user = db
        .store
        .create_user(
            &reqloop_store::Who::system(),
            reqloop_domain::user::NewUser {
                username: "zhang".into(),
                display_name: String::new(),
                password: "password-123".into(),
                role: reqloop_domain::user::Role::AccountManager,
                department_id: None,
                customer_id: None,
                data_scope: None,
                email: String::new(),
            },
            now,
        )
        .await
        .unwrap();
    let old = db
        .store
        .create_session(&user, now - Duration::hours(13))
        .await
        .unwrap();
    let fresh = db.store.create_session(&user, now).await.unwrap();
    reqloop_jobs::run_due(&db.store, "node-a", now).await;
    let past = now - Duration::hours(12) - Duration::minutes(30);
    assert!(
        db.store.session(&old, past).await.unwrap().is_none(),
        "the expired session row is gone"
    );
    assert!(db.store.session(&fresh, now).await.unwrap().is_some());
    assert!(db.store.verify_audit().await.unwrap().result.is_ok());
});

both_backends!(a_checkpoint_beside_writes_loses_nothing, |db| {
    let now = Utc::now();
    let write = reqloop_store::demo::load(&db.store, now);
    let (loaded, checkpointed) = tokio::join!(write, async {
        for _ in 0..20 {
            db.store.checkpoint().await?;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok::<_, reqloop_store::Error>(())
    });
    loaded.unwrap();
    checkpointed.unwrap();
    let report = db.store.verify_audit().await.unwrap();
    assert_eq!(report.result, Ok(()));
    assert!(report.entries > 1000, "the demo's writes are all there");
});
