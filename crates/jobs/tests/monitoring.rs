//! Response-time breaches and early warnings, raised by the background passes on the demo data:
//! each cause once, on one node or two against one database.

use chrono::{Duration, TimeZone, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::user::DataScope;
use reqloop_domain::warning::WarningStep;
use reqloop_store::testing::admin;
use reqloop_store::{both_backends, Store, WarningFilter, WarningStepRequest};

async fn open_causes(store: &Store) -> (i64, usize) {
    let (mut causes, mut page) = (Vec::new(), 1);
    let mut total;
    loop {
        let p = store
            .list_warnings(
                &admin(),
                &WarningFilter {
                    open: Some(true),
                    page: Some(page),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        total = p.total;
        if p.items.is_empty() {
            break;
        }
        causes.extend(
            p.items
                .iter()
                .map(|w| (w.rule_id, w.subject.clone(), w.subject_id)),
        );
        page += 1;
    }
    causes.sort();
    causes.dedup();
    (total, causes.len())
}

both_backends!(warnings_are_raised_once_per_cause_on_two_nodes, |db| {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap();
    reqloop_store::demo::load(&db.store, t0).await.unwrap();
    let other = Store::connect(&db.url).await.unwrap();
    let (before, _) = open_causes(&db.store).await;
    let at = t0 + Duration::days(4);
    db.store.record_breaches(at).await.unwrap();
    let (a, b) = tokio::join!(db.store.raise_warnings(at), other.raise_warnings(at));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (total, causes) = open_causes(&db.store).await;
    assert!(
        total > before,
        "four days on, the demo's hand-offs are overdue"
    );
    assert_eq!(a.raised + b.raised, (total - before) as u64, "{a:?} {b:?}");
    assert_eq!(causes as i64, total, "one warning per cause");
    let again = db.store.raise_warnings(at).await.unwrap();
    assert_eq!((again.raised, again.escalated), (0, 0), "nothing new");
    // Ten days on the same overdue work is later still: the warnings escalate, none is added.
    let later = db
        .store
        .raise_warnings(at + Duration::days(10))
        .await
        .unwrap();
    assert!(later.escalated > 0, "{later:?}");
    let (total_later, causes_later) = open_causes(&db.store).await;
    assert_eq!(causes_later as i64, total_later);
    // The dashboard's tally, kept by two nodes' passes and the escalations, equals a recount.
    assert_eq!(
        db.store.warning_dashboard(&admin()).await.unwrap(),
        db.store.warning_recount().await.unwrap()
    );
    assert!(db.store.verify_audit().await.unwrap().result.is_ok());
});

both_backends!(the_demo_has_warnings_of_each_level_and_state, |db| {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
    reqloop_store::demo::load(&db.store, now).await.unwrap();
    let count = |f: WarningFilter| {
        let store = &db.store;
        async move { store.list_warnings(&admin(), &f).await.unwrap().total }
    };
    for level in reqloop_domain::warning::Level::ALL {
        let f = WarningFilter {
            level: Some(*level),
            ..Default::default()
        };
        assert!(count(f).await > 0, "a {level:?} warning");
    }
    for state in reqloop_domain::warning::WarningState::ALL {
        let f = WarningFilter {
            state: Some(*state),
            ..Default::default()
        };
        assert!(count(f).await > 0, "a {state:?} warning");
    }
});

both_backends!(
    a_warning_is_assigned_resolved_and_verified_by_someone_else,
    |db| {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
        reqloop_store::demo::load(&db.store, now).await.unwrap();
        let users = db.store.list_users().await.unwrap();
        let who = |name: &str| {
            let u = users.iter().find(|u| u.username == name).unwrap();
            Actor {
                user_id: u.id,
                username: u.username.clone(),
                role: u.role,
                department_id: u.department_id,
                customer_id: None,
                scope: DataScope::All,
            }
        };
        let (marketing, quality, liuyang) = (who("marketing"), who("quality"), who("liuyang"));
        let w = db
            .store
            .list_warnings(
                &admin(),
                &WarningFilter {
                    state: Some(reqloop_domain::warning::WarningState::Raised),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .remove(0);
        let req = |version, step, note: &str, assignee_id| WarningStepRequest {
            version,
            step,
            note: note.into(),
            assignee_id,
        };
        let e = db
            .store
            .step_warning(
                &marketing,
                w.id,
                req(w.version, WarningStep::Resolve, "x", None),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, reqloop_store::Error::Rule("warning_state")),
            "{e:?}"
        );
        let e = db
            .store
            .step_warning(
                &liuyang,
                w.id,
                req(w.version, WarningStep::Assign, "", Some(3)),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, reqloop_store::Error::Forbidden(_)),
            "an account manager does not assign"
        );
        let a = db
            .store
            .step_warning(
                &marketing,
                w.id,
                req(w.version, WarningStep::Assign, "", Some(liuyang.user_id.0)),
                now,
            )
            .await
            .unwrap();
        assert_eq!(a.state, "assigned");
        let e = db
            .store
            .step_warning(
                &liuyang,
                w.id,
                req(w.version, WarningStep::Resolve, "done", None),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, reqloop_store::Error::Stale),
            "the version read is stale"
        );
        let e = db
            .store
            .step_warning(
                &liuyang,
                w.id,
                req(a.version, WarningStep::Resolve, "  ", None),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, reqloop_store::Error::Invalid(_)),
            "a resolution says what was done"
        );
        let r = db
            .store
            .step_warning(
                &liuyang,
                w.id,
                req(a.version, WarningStep::Resolve, "已处理", None),
                now,
            )
            .await
            .unwrap();
        assert_eq!(r.resolved_by.as_deref(), Some("liuyang"));
        let v = db
            .store
            .step_warning(
                &quality,
                w.id,
                req(r.version, WarningStep::Verify, "复核有效", None),
                now,
            )
            .await
            .unwrap();
        assert_eq!(v.state, "verified");
        // The same cause at the same level stays closed; the pass does not raise it again.
        db.store.raise_warnings(now).await.unwrap();
        let again = db
            .store
            .list_warnings(
                &admin(),
                &WarningFilter {
                    rule_id: Some(w.rule_id),
                    customer_id: Some(w.customer_id),
                    open: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(
            again
                .items
                .iter()
                .all(|x| x.subject_id != w.subject_id || x.subject != w.subject),
            "not raised again for the verified cause"
        );
        // A verified warning leaves the dashboard's tally.
        assert_eq!(
            db.store.warning_dashboard(&admin()).await.unwrap(),
            db.store.warning_recount().await.unwrap()
        );
        assert!(db.store.verify_audit().await.unwrap().result.is_ok());
    }
);

both_backends!(a_breach_is_recorded_once_and_never_while_waiting, |db| {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
    reqloop_store::demo::load(&db.store, now).await.unwrap();
    let page = db
        .store
        .list_requirements(
            &admin(),
            &reqloop_store::RequirementFilter {
                per_page: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut running = None;
    for r in page.items {
        if db
            .store
            .clock_of(&r, now)
            .await
            .unwrap()
            .is_some_and(|c| !c.overdue)
        {
            running = Some(r);
            break;
        }
    }
    let r = running.expect("a requirement whose clock still runs");
    let waiting = db
        .store
        .set_requirement_waiting(
            &admin(),
            r.id,
            reqloop_store::WaitRequest {
                version: r.version,
                waiting: true,
                note: "等待客户提供图纸".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert!(waiting.waiting_since.is_some());
    let later = now + Duration::days(30);
    let first = db.store.record_breaches(later).await.unwrap();
    assert!(first.recorded > 0, "a month on, clocks have run out");
    let second = db.store.record_breaches(later).await.unwrap();
    assert_eq!(second.recorded, 0, "each breach once");
    let breaches = db
        .store
        .list_breaches(
            &admin(),
            &reqloop_store::BreachFilter {
                record_type: Some("requirement".into()),
                customer_id: Some(r.fields.customer_id.0),
                per_page: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        breaches.items.iter().all(|b| b.record_id != r.id),
        "a requirement waiting for the customer does not run out"
    );
    // Resumed after 30 days: the time waited is added; the clock has what it had left.
    let resumed = db
        .store
        .set_requirement_waiting(
            &admin(),
            r.id,
            reqloop_store::WaitRequest {
                version: waiting.version,
                waiting: false,
                note: String::new(),
            },
            later,
        )
        .await
        .unwrap();
    assert!(resumed.paused_minutes > 0);
    let clock = db.store.clock_of(&resumed, later).await.unwrap().unwrap();
    let before = db.store.clock_of(&waiting, now).await.unwrap().unwrap();
    assert_eq!(clock.remaining_minutes, before.remaining_minutes);
    assert!(!clock.waiting && !clock.overdue);
    let e = db
        .store
        .set_requirement_waiting(
            &admin(),
            r.id,
            reqloop_store::WaitRequest {
                version: waiting.version,
                waiting: true,
                note: "x".into(),
            },
            later,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, reqloop_store::Error::Stale));
});
