//! Grading runs (F2) on SQLite and PostgreSQL over the demo: the candidate list ranks every
//! active customer with its evidence, the committee adjusts and decides (not the one who
//! computed it), approval gives the changed customers their grade, tier, code and history.

use chrono::{Duration, TimeZone, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::customer::{Grade, Tier};
use reqloop_domain::grading::RunKind;
use reqloop_domain::ids::{CustomerId, UserId};
use reqloop_domain::user::{DataScope, Role};
use reqloop_store::{
    both_backends, Adjustment, CandidateFilter, Error, NewRun, RunDecision, Store,
};

fn actor(id: i64, username: &str, role: Role) -> Actor {
    Actor {
        user_id: UserId(id),
        username: username.into(),
        role,
        department_id: None,
        customer_id: None,
        scope: DataScope::All,
    }
}

async fn user(store: &Store, name: &str) -> Actor {
    let u = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
        .unwrap();
    actor(u.id.0, &u.username, u.role)
}

both_backends!(
    a_run_is_computed_adjusted_and_approved_by_the_committee,
    |db| {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        reqloop_store::demo::load(&db.store, t0).await.unwrap();
        let marketing = user(&db.store, "marketing").await;
        let exec = user(&db.store, "exec").await;
        let quality = user(&db.store, "quality").await;

        // The demo leaves this half-year's adjustment awaiting the committee: one draft at a time.
        let runs = db
            .store
            .list_grading_runs(&marketing, None, None)
            .await
            .unwrap();
        assert_eq!(runs.total, 2);
        let draft = runs
            .items
            .iter()
            .find(|r| r.state == "draft")
            .unwrap()
            .clone();
        let again = NewRun {
            kind: RunKind::Annual,
            year: 2026,
            half: None,
        };
        let e = db
            .store
            .start_grading_run(&marketing, again.clone(), t0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Rule("draft_open")), "{e:?}");
        let e = db
            .store
            .start_grading_run(&quality, again, t0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)));

        // Every active customer is ranked; the largest volume first; the top 8 ranks are A.
        let all = db
            .store
            .grading_candidates(
                &exec,
                draft.id,
                &CandidateFilter {
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(all.total, draft.customers);
        assert!(all.items.windows(2).all(|w| w[0].volume >= w[1].volume));
        for c in &all.items {
            let expect = match c.rank {
                1..=8 => "A",
                9..=12 => "B",
                _ => "C",
            };
            assert_eq!(c.proposed_grade, expect, "rank {}", c.rank);
        }
        let share: f64 = all.items.iter().map(|c| c.share).sum();
        assert!((share - 1.0).abs() < 1e-6);
        // The customer that grew this year moves from C to A; growth is its evidence.
        let grown = all
            .items
            .iter()
            .find(|c| c.current_grade == "C" && c.proposed_grade == "A")
            .expect("the grown customer");
        assert!(grown.growth.unwrap() > 1.0, "{:?}", grown.growth);
        assert!(grown.changed);
        let changed = db
            .store
            .grading_candidates(
                &exec,
                draft.id,
                &CandidateFilter {
                    changed: Some(true),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(changed.total, draft.changes);
        assert!(changed.items.iter().all(|c| c.changed));

        // The committee adjusts one candidate: a departure from the proposal needs a reason;
        // the run's version guards against stale edits.
        let target = changed.items.last().unwrap().clone();
        let adjust = |version, note: &str| Adjustment {
            version,
            grade: target.current_grade.parse::<Grade>().unwrap(),
            tier: target.current_tier.parse::<Tier>().unwrap(),
            note: note.into(),
        };
        let e = db
            .store
            .adjust_candidate(
                &exec,
                draft.id,
                target.customer_id,
                adjust(draft.version, ""),
                t0,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
        let kept = db
            .store
            .adjust_candidate(
                &exec,
                draft.id,
                target.customer_id,
                adjust(draft.version, "合同续签在即，维持现分类分级"),
                t0,
            )
            .await
            .unwrap();
        assert!(!kept.changed, "kept as it is: no longer a change");
        let e = db
            .store
            .adjust_candidate(
                &exec,
                draft.id,
                target.customer_id,
                adjust(draft.version, "again"),
                t0,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Stale));
        let run = db.store.get_grading_run(&exec, draft.id).await.unwrap();
        assert_eq!(run.changes, draft.changes - 1);

        // The one who computed it does not approve it; a rejection needs a reason.
        let decide = |version, approve, note: &str| RunDecision {
            version,
            approve,
            note: note.into(),
        };
        let e = db
            .store
            .decide_grading_run(&marketing, run.id, decide(run.version, true, ""), t0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Rule("own_run")));
        let e = db
            .store
            .decide_grading_run(&exec, run.id, decide(run.version, false, " "), t0)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));

        let before = db
            .store
            .get_customer(&exec, CustomerId(grown.customer_id))
            .await
            .unwrap();
        let t1 = t0 + Duration::hours(1);
        let applied = db
            .store
            .decide_grading_run(&exec, run.id, decide(run.version, true, "同意"), t1)
            .await
            .unwrap();
        assert_eq!(applied.applied, run.changes);
        assert_eq!(applied.skipped, 0);
        assert_eq!(applied.run.state, "approved");
        let after = db
            .store
            .get_customer(&exec, CustomerId(grown.customer_id))
            .await
            .unwrap();
        assert_eq!(after.fields.grade, Grade::A);
        assert_ne!(after.code, before.code, "the code shows the grade");
        assert!(after.code.starts_with('A'), "{}", after.code);
        let history = db
            .store
            .grade_history(&exec, CustomerId(grown.customer_id))
            .await
            .unwrap();
        assert_eq!(history[0].run_id, Some(run.id));
        assert_eq!(
            (history[0].from_grade.as_str(), history[0].to_grade.as_str()),
            ("C", "A")
        );
        assert_eq!(history[0].to_code, after.code);
        // The kept customer did not move.
        let kept_now = db
            .store
            .get_customer(&exec, CustomerId(target.customer_id))
            .await
            .unwrap();
        assert_eq!(kept_now.fields.grade.as_str(), target.current_grade);
        // Decided runs do not change any more.
        let e = db
            .store
            .decide_grading_run(&exec, run.id, decide(applied.run.version, true, ""), t1)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Rule("run_decided")));

        // A new draft, rejected: nothing changes.
        let next = db
            .store
            .start_grading_run(
                &marketing,
                NewRun {
                    kind: RunKind::Annual,
                    year: 2026,
                    half: None,
                },
                t1,
            )
            .await
            .unwrap();
        let rejected = db
            .store
            .decide_grading_run(
                &exec,
                next.id,
                decide(next.version, false, "数据待核实"),
                t1,
            )
            .await
            .unwrap();
        assert_eq!(
            (rejected.applied, rejected.run.state.as_str()),
            (0, "rejected")
        );
        assert!(db.store.verify_audit().await.unwrap().result.is_ok());
    }
);
