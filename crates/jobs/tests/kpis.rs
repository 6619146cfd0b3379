//! The KPI roll-up (F23) on SQLite and PostgreSQL: kept by the transactions and the breach pass,
//! it always equals a full recount from the records, and every response clock counts once.

use chrono::{Duration, TimeZone, Utc};
use reqloop_domain::kpi::{Counts, Dimension};
use reqloop_domain::requirement::Stage;
use reqloop_store::testing::admin;
use reqloop_store::{both_backends, RequirementFilter, Store};

async fn assert_rollup_is_recount(store: &Store) -> Counts {
    let mut all = Counts::default();
    for dim in [Dimension::Person, Dimension::Customer] {
        let rollup = store.kpi_rollup(dim, "2000-01", "2100-12").await.unwrap();
        let recount = store.kpi_recount(dim, "2000-01", "2100-12").await.unwrap();
        assert_eq!(rollup, recount, "{dim}");
        if dim == Dimension::Person {
            for c in rollup.values() {
                all.add(c);
            }
        }
    }
    all
}

/// Requirements (of the first 200) that can be sent back a stage and whose clock still runs at
/// `at` (so no breach of it is on record yet).
async fn reworkable(
    store: &Store,
    at: chrono::DateTime<Utc>,
) -> Vec<reqloop_domain::requirement::Requirement> {
    let all = store
        .list_requirements(
            &admin(),
            &RequirementFilter {
                per_page: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|r| {
            r.merged_into.is_none()
                && r.waiting_since.is_none()
                && !matches!(r.stage, Stage::Identification | Stage::Closed)
        });
    let mut out = Vec::new();
    for r in all {
        if store
            .clock_of(&r, at)
            .await
            .unwrap()
            .is_some_and(|c| !c.overdue)
        {
            out.push(r);
        }
    }
    out
}

both_backends!(the_kpi_rollup_equals_a_full_recount, |db| {
    let t0 = Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap();
    reqloop_store::demo::load(&db.store, t0).await.unwrap();
    let after_demo = assert_rollup_is_recount(&db.store).await;
    assert!(after_demo.received >= 200 && after_demo.completed > 0);
    assert!(after_demo.on_time > 0, "the demo's moves were on time");
    assert!(after_demo.answers() > 0, "the demo's surveys count");

    let mut candidates = reworkable(&db.store, t0).await;
    assert!(candidates.len() >= 3);
    // A rework well within the stage's time: on time.
    let r = candidates.remove(0);
    db.store
        .transition_requirement(
            &admin(),
            r.id,
            Stage::ALL[r.stage.index() - 1],
            "客户补充了要求，退回重新处理",
            Some(r.version),
            t0 + Duration::minutes(30),
        )
        .await
        .unwrap();
    // Three weeks on, before any breach pass: this move is late, and recorded as a breach now.
    let t1 = t0 + Duration::days(21);
    let r = candidates.remove(0);
    db.store
        .transition_requirement(
            &admin(),
            r.id,
            Stage::ALL[r.stage.index() - 1],
            "退回：评审意见需重新确认",
            Some(r.version),
            t1,
        )
        .await
        .unwrap();
    let mid = assert_rollup_is_recount(&db.store).await;
    assert_eq!(mid.late, after_demo.late + 1, "the late move counted once");
    assert_eq!(mid.on_time, after_demo.on_time + 1);

    // The pass records every other clock that ran out; each counts late once.
    let pass = db.store.record_breaches(t1).await.unwrap();
    assert!(pass.recorded > 0);
    let passed = assert_rollup_is_recount(&db.store).await;
    assert!(passed.late > mid.late);
    assert_eq!(db.store.record_breaches(t1).await.unwrap().recorded, 0);
    // A move of a clock the pass has counted already adds nothing more.
    let r = candidates.remove(0);
    db.store
        .transition_requirement(
            &admin(),
            r.id,
            Stage::ALL[r.stage.index() - 1],
            "退回：交付计划调整",
            Some(r.version),
            t1 + Duration::hours(1),
        )
        .await
        .unwrap();
    let last = assert_rollup_is_recount(&db.store).await;
    assert_eq!(
        (last.on_time, last.late),
        (passed.on_time, passed.late),
        "a breached clock counted once"
    );
    assert_eq!(last.received, after_demo.received);
});
