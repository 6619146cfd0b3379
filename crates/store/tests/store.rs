//! Storage rules, each run on SQLite and on PostgreSQL.

use chrono::{TimeZone, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::audit::ChainBreak;
use reqloop_domain::customer::{ContactFields, CustomerFields, CustomerPatch, Grade};
use reqloop_domain::ids::{CustomerId, DepartmentId, UserId};
use reqloop_domain::user::{DataScope, NewUser, Role, User};
use reqloop_store::testing::TestDb;
use reqloop_store::{both_backends, CustomerFilter, Error, LoginOutcome, Store, Who};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        role: u.role,
        department_id: u.department_id,
        customer_id: u.customer_id,
        scope: u.data_scope,
    }
}

async fn user(store: &Store, name: &str, role: Role, dept: Option<i64>) -> User {
    store
        .create_user(
            &Who::system(),
            NewUser {
                username: name.into(),
                display_name: name.into(),
                password: "password-123".into(),
                role,
                department_id: dept.map(DepartmentId),
                customer_id: None,
                data_scope: None,
                email: String::new(),
            },
            now(),
        )
        .await
        .unwrap()
}

fn fields(name: &str, manager: Option<UserId>) -> CustomerFields {
    let mut f: CustomerFields =
        serde_json::from_value(serde_json::json!({"name": name, "province": "江苏省"})).unwrap();
    f.account_manager_id = manager;
    f
}

fn all(page_size: i64) -> CustomerFilter {
    CustomerFilter {
        per_page: Some(page_size),
        ..Default::default()
    }
}

both_backends!(customer_codes_follow_the_rule_and_show_the_grade, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let a = db
        .store
        .create_customer(&admin, fields("恒远轨道", None), now())
        .await
        .unwrap();
    let b = db
        .store
        .create_customer(&admin, fields("华东钢铁", None), now())
        .await
        .unwrap();
    assert_eq!(a.code, "C-JS-0001");
    assert_eq!(b.code, "C-JS-0002");
    let patch = CustomerPatch {
        version: a.version,
        grade: Some(Grade::A),
        ..Default::default()
    };
    let a2 = db
        .store
        .update_customer(&admin, a.id, patch, now())
        .await
        .unwrap();
    assert_eq!(
        a2.code, "A-JS-0001",
        "a new grade gives a code that shows it"
    );
    db.store
        .set_customer_code_rule(&Who::system(), "KH{year}{seq:3}", now())
        .await
        .unwrap();
    let c = db
        .store
        .create_customer(&admin, fields("北方重工", None), now())
        .await
        .unwrap();
    assert_eq!(c.code, "KH2026001");
    assert!(matches!(
        db.store
            .set_customer_code_rule(&Who::system(), "{grade}", now())
            .await,
        Err(Error::Invalid(_))
    ));
});

both_backends!(stale_versions_are_rejected_and_nothing_changes, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let c = db
        .store
        .create_customer(&admin, fields("恒远轨道", None), now())
        .await
        .unwrap();
    let first = CustomerPatch {
        version: 1,
        short_name: Some("恒远".into()),
        ..Default::default()
    };
    let second = CustomerPatch {
        version: 1,
        short_name: Some("远".into()),
        ..Default::default()
    };
    db.store
        .update_customer(&admin, c.id, first, now())
        .await
        .unwrap();
    assert!(matches!(
        db.store.update_customer(&admin, c.id, second, now()).await,
        Err(Error::Stale)
    ));
    let got = db.store.get_customer(&admin, c.id).await.unwrap();
    assert_eq!((got.version, got.fields.short_name.as_str()), (2, "恒远"));
});

both_backends!(concurrent_updates_lose_nothing, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let c = db
        .store
        .create_customer(&admin, fields("恒远轨道", None), now())
        .await
        .unwrap();
    let mut handles = Vec::new();
    for i in 0..8 {
        let (store, admin) = (db.store.clone(), admin.clone());
        handles.push(tokio::spawn(async move {
            let patch = CustomerPatch {
                version: 1,
                remarks: Some(format!("writer {i}")),
                ..Default::default()
            };
            store.update_customer(&admin, c.id, patch, now()).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Stale) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one writer wins");
    assert_eq!(
        db.store.get_customer(&admin, c.id).await.unwrap().version,
        2
    );
    assert!(db.store.verify_audit().await.unwrap().result.is_ok());
});

both_backends!(own_scope_sees_only_own_customers, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let zhang = actor(&user(&db.store, "zhang", Role::AccountManager, Some(1)).await);
    let liu = actor(&user(&db.store, "liu", Role::AccountManager, Some(1)).await);
    let reviewer = actor(&user(&db.store, "rev", Role::Reviewer, Some(2)).await);
    let mine = db
        .store
        .create_customer(&zhang, fields("张的客户", None), now())
        .await
        .unwrap();
    assert_eq!(
        mine.fields.account_manager_id,
        Some(zhang.user_id),
        "created for oneself"
    );
    let theirs = db
        .store
        .create_customer(&admin, fields("刘的客户", Some(liu.user_id)), now())
        .await
        .unwrap();

    let seen = db.store.list_customers(&zhang, &all(50)).await.unwrap();
    assert_eq!(seen.total, 1);
    assert_eq!(seen.items[0].id, mine.id);
    assert!(matches!(
        db.store.get_customer(&zhang, theirs.id).await,
        Err(Error::NotFound)
    ));
    let patch = CustomerPatch {
        version: 1,
        remarks: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        db.store
            .update_customer(&zhang, theirs.id, patch, now())
            .await,
        Err(Error::NotFound)
    ));
    let give_away = CustomerPatch {
        version: 1,
        account_manager_id: Some(Some(liu.user_id)),
        ..Default::default()
    };
    assert!(matches!(
        db.store
            .update_customer(&zhang, mine.id, give_away, now())
            .await,
        Err(Error::Forbidden(_))
    ));
    // The reviewer's department (2) has no account managers: nothing to see.
    assert_eq!(
        db.store
            .list_customers(&reviewer, &all(50))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        db.store
            .list_customers(&admin, &all(50))
            .await
            .unwrap()
            .total,
        2
    );
});

both_backends!(confidential_fields_reach_only_cleared_roles, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let zhang = actor(&user(&db.store, "zhang", Role::AccountManager, Some(1)).await);
    let mut f = fields("恒远轨道", Some(zhang.user_id));
    f.confidential = serde_json::from_value(
        serde_json::json!({"credit_rating": "poor", "financial_status": "拖欠"}),
    )
    .unwrap();
    let c = db.store.create_customer(&admin, f, now()).await.unwrap();
    assert!(db
        .store
        .get_customer(&admin, c.id)
        .await
        .unwrap()
        .fields
        .confidential
        .is_some());
    let as_am = db.store.get_customer(&zhang, c.id).await.unwrap();
    assert!(as_am.fields.confidential.is_none());
    assert!(!serde_json::to_string(&as_am).unwrap().contains("拖欠"));
    // An update by the account manager keeps the confidential values it cannot see.
    let patch = CustomerPatch {
        version: 1,
        remarks: Some("拜访".into()),
        ..Default::default()
    };
    db.store
        .update_customer(&zhang, c.id, patch, now())
        .await
        .unwrap();
    let conf = db
        .store
        .get_customer(&admin, c.id)
        .await
        .unwrap()
        .fields
        .confidential
        .unwrap();
    assert_eq!(conf.financial_status, "拖欠");
    let history = db.store.customer_history(&zhang, c.id).await.unwrap();
    assert!(history
        .iter()
        .flat_map(|h| &h.changes)
        .all(|ch| !ch.field.starts_with("confidential")));
});

both_backends!(filters_sort_and_paging, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    for (i, name) in ["甲钢铁", "乙轨道", "丙电力", "丁钢铁"].iter().enumerate() {
        let mut f = fields(name, None);
        f.industry = if name.contains("钢铁") {
            "钢铁冶金".into()
        } else {
            "其他".into()
        };
        f.annual_revenue = (i as i64 + 1) * 1000;
        f.grade = if i == 3 { Grade::A } else { Grade::C };
        db.store.create_customer(&admin, f, now()).await.unwrap();
    }
    let page = db.store.list_customers(&admin, &all(50)).await.unwrap();
    assert_eq!(page.items[0].fields.name, "丁钢铁", "grade A comes first");
    let steel = CustomerFilter {
        industry: Some("钢铁冶金".into()),
        ..all(50)
    };
    assert_eq!(
        db.store.list_customers(&admin, &steel).await.unwrap().total,
        2
    );
    let q = CustomerFilter {
        q: Some("轨道".into()),
        ..all(50)
    };
    assert_eq!(
        db.store.list_customers(&admin, &q).await.unwrap().items[0]
            .fields
            .name,
        "乙轨道"
    );
    let pct = CustomerFilter {
        q: Some("%".into()),
        ..all(50)
    };
    assert_eq!(
        db.store.list_customers(&admin, &pct).await.unwrap().total,
        0,
        "LIKE wildcards are literal"
    );
    let by_revenue = CustomerFilter {
        sort: Some("-annual_revenue".into()),
        per_page: Some(2),
        page: Some(2),
        ..Default::default()
    };
    let p2 = db.store.list_customers(&admin, &by_revenue).await.unwrap();
    assert_eq!((p2.total, p2.items.len()), (4, 2));
    assert_eq!(p2.items[0].fields.annual_revenue, 2000);
    let bad = CustomerFilter {
        sort: Some("name; DROP TABLE customers".into()),
        ..Default::default()
    };
    assert!(matches!(
        db.store.list_customers(&admin, &bad).await,
        Err(Error::Invalid(_))
    ));
});

both_backends!(archive_hides_but_keeps, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let c = db
        .store
        .create_customer(&admin, fields("恒远轨道", None), now())
        .await
        .unwrap();
    db.store
        .archive_customer(&admin, c.id, 1, now())
        .await
        .unwrap();
    assert_eq!(
        db.store
            .list_customers(&admin, &all(50))
            .await
            .unwrap()
            .total,
        0
    );
    let with_archived = CustomerFilter {
        archived: Some(true),
        ..all(50)
    };
    assert_eq!(
        db.store
            .list_customers(&admin, &with_archived)
            .await
            .unwrap()
            .total,
        1
    );
    assert!(db.store.get_customer(&admin, c.id).await.unwrap().archived);
    let patch = CustomerPatch {
        version: 2,
        remarks: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        db.store.update_customer(&admin, c.id, patch, now()).await,
        Err(Error::Rule("archived"))
    ));
});

both_backends!(bad_input_writes_nothing, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let mut f = fields("", None);
    f.phone = "not a phone".into();
    assert!(matches!(
        db.store.create_customer(&admin, f, now()).await,
        Err(Error::Invalid(_))
    ));
    let ghost = fields("幽灵", Some(UserId(999)));
    assert!(matches!(
        db.store.create_customer(&admin, ghost, now()).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        db.store
            .list_customers(&admin, &all(50))
            .await
            .unwrap()
            .total,
        0
    );
    let c = db
        .store
        .create_customer(&admin, fields("恒远", None), now())
        .await
        .unwrap();
    let bad_contact = ContactFields {
        name: "王".into(),
        email: "bad@".into(),
        ..Default::default()
    };
    assert!(db
        .store
        .add_contact(&admin, c.id, bad_contact, now())
        .await
        .is_err());
    assert!(db
        .store
        .list_contacts(&admin, c.id)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        db.store.get_customer(&admin, CustomerId(424242)).await,
        Err(Error::NotFound)
    ));
});

both_backends!(audit_chain_verifies_and_catches_tampering, |db| {
    let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
    let c = db
        .store
        .create_customer(&admin, fields("恒远轨道", None), now())
        .await
        .unwrap();
    let contact = ContactFields {
        name: "王丽".into(),
        ..Default::default()
    };
    db.store
        .add_contact(&admin, c.id, contact, now())
        .await
        .unwrap();
    let report = db.store.verify_audit().await.unwrap();
    assert_eq!(report.result, Ok(()));
    assert_eq!(report.entries, 3, "user, customer, contact");
    let history = db.store.customer_history(&admin, c.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].changes.iter().any(|ch| ch.field == "name"));

    let pool = reqloop_store::testing::raw_pool(&db.url).await;
    // Someone edits a customer row by hand, bypassing ReqLoop: the row no longer matches its
    // last audited image.
    sqlx::query("UPDATE customers SET annual_revenue = 1 WHERE id = $1")
        .bind(c.id.0)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        db.store.verify_audit().await.unwrap().result,
        Err(ChainBreak::RecordAltered {
            entity: "customer".into(),
            entity_id: c.id.0.to_string()
        })
    );
    sqlx::query("UPDATE customers SET annual_revenue = 0 WHERE id = $1")
        .bind(c.id.0)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    sqlx::query("DELETE FROM contacts")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        db.store.verify_audit().await.unwrap().result,
        Err(ChainBreak::RecordCount { .. })
    ));
    // Someone edits the trail itself.
    sqlx::query(
        "UPDATE audit_log SET after_json = REPLACE(after_json, '恒远', '假的') WHERE seq = 2",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        db.store.verify_audit().await.unwrap().result,
        Err(ChainBreak::Altered { seq: 2 })
    );
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        db.store.verify_audit().await.unwrap().result,
        Err(ChainBreak::Missing {
            expected: 2,
            found: 3
        })
    );
    pool.close().await;
});

both_backends!(login_is_throttled_and_sessions_live_in_the_database, |db| {
    user(&db.store, "zhang", Role::AccountManager, Some(1)).await;
    let ok = db
        .store
        .authenticate("zhang", "password-123", "127.0.0.1", now())
        .await
        .unwrap();
    let LoginOutcome::Ok(u) = ok else {
        panic!("login failed")
    };
    let token = db.store.create_session(&u, now()).await.unwrap();
    let s = db
        .store
        .session(&token, now())
        .await
        .unwrap()
        .expect("live session");
    assert_eq!(s.actor.role, Role::AccountManager);
    assert_eq!(s.actor.scope, DataScope::Own);
    assert!(
        db.store
            .session(&token, now() + chrono::Duration::hours(13))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(db.store.session("forged", now()).await.unwrap().is_none());
    assert!(matches!(
        db.store
            .authenticate("nobody", "x", "127.0.0.1", now())
            .await
            .unwrap(),
        LoginOutcome::Invalid
    ));
    for _ in 0..5 {
        assert!(matches!(
            db.store
                .authenticate("zhang", "wrong", "10.0.0.1", now())
                .await
                .unwrap(),
            LoginOutcome::Invalid
        ));
    }
    assert!(matches!(
        db.store
            .authenticate("zhang", "password-123", "127.0.0.1", now())
            .await
            .unwrap(),
        LoginOutcome::Throttled
    ));
    db.store.delete_session(&token).await.unwrap();
    assert!(db.store.session(&token, now()).await.unwrap().is_none());
    assert!(matches!(
        db.store
            .create_user(
                &Who::system(),
                NewUser {
                    username: "zhang".into(),
                    display_name: String::new(),
                    password: "password-123".into(),
                    role: Role::Reviewer,
                    department_id: None,
                    customer_id: None,
                    data_scope: None,
                    email: String::new(),
                },
                now()
            )
            .await,
        Err(Error::Duplicate("username"))
    ));
});

both_backends!(jobs_are_claimed_by_exactly_one_node, |db| {
    let lease = chrono::Duration::minutes(5);
    assert!(db
        .store
        .claim_job("purge", "node-a", now(), lease)
        .await
        .unwrap());
    assert!(!db
        .store
        .claim_job("purge", "node-b", now(), lease)
        .await
        .unwrap());
    db.store
        .finish_job(
            "purge",
            "node-a",
            now(),
            now() + chrono::Duration::hours(1),
            "ok",
        )
        .await
        .unwrap();
    assert!(
        !db.store
            .claim_job("purge", "node-b", now(), lease)
            .await
            .unwrap(),
        "not due yet"
    );
    assert!(db
        .store
        .claim_job("purge", "node-b", now() + chrono::Duration::hours(2), lease)
        .await
        .unwrap());
});

both_backends!(demo_loads_once_and_backup_restores_identically, |db| {
    assert_eq!(
        db.store.tables_missing_from_backup().await.unwrap(),
        Vec::<String>::new(),
        "every table is backed up"
    );
    let loaded = reqloop_store::demo::load(&db.store, now()).await.unwrap();
    assert!(
        matches!(loaded, reqloop_store::demo::Loaded::Loaded { customers, .. } if customers >= 40)
    );
    assert_eq!(
        reqloop_store::demo::load(&db.store, now()).await.unwrap(),
        reqloop_store::demo::Loaded::AlreadyPopulated
    );
    // Changes in every state (issue 4).
    let demo_admin = actor(&db.store.user_by_username("admin").await.unwrap().unwrap());
    for state in reqloop_domain::change::ChangeState::ALL {
        let f = reqloop_store::ChangeFilter {
            state: Some(*state),
            ..Default::default()
        };
        let found = db.store.list_changes(&demo_admin, &f).await.unwrap();
        assert!(found.total >= 1, "a demo change {state}");
    }
    for state in reqloop_domain::complaint::ComplaintState::ALL {
        let f = reqloop_store::ComplaintFilter {
            state: Some(*state),
            ..Default::default()
        };
        let found = db
            .store
            .list_complaints(&demo_admin, &f, now())
            .await
            .unwrap();
        assert!(found.total >= 1, "a demo complaint {state}");
    }
    // Two years of survey answers, grade A happier than C.
    let a = db
        .store
        .survey_analysis(&reqloop_store::AnalysisQuery {
            from: "2025-01-01".into(),
            to: "2026-12-31".into(),
            by: Some("grade".into()),
            periods: Some(0),
        })
        .await
        .unwrap();
    let mean_of = |g: &str| {
        let h = a
            .aspects
            .iter()
            .filter(|d| d.category == g)
            .fold([0i64; 5], |mut acc, d| {
                for (x, y) in acc.iter_mut().zip(d.histogram) {
                    *x += y;
                }
                acc
            });
        reqloop_domain::survey::mean(&h).unwrap()
    };
    assert!(mean_of("A") > mean_of("C"), "the demo shows a difference");
    assert!(a.answered > 0 && a.invited > a.answered);
    let mut first = Vec::new();
    db.store.backup(&mut first).await.unwrap();
    let target = TestDb::new(db.store.backend()).await;
    target
        .store
        .restore(std::io::Cursor::new(&first))
        .await
        .unwrap();
    let mut second = Vec::new();
    target.store.backup(&mut second).await.unwrap();
    assert_eq!(
        String::from_utf8(first).unwrap(),
        String::from_utf8(second).unwrap()
    );
    assert_eq!(target.store.verify_audit().await.unwrap().result, Ok(()));
    // New rows after a restore get fresh ids.
    let admin = target
        .store
        .user_by_username("admin")
        .await
        .unwrap()
        .unwrap();
    target
        .store
        .create_customer(&actor(&admin), fields("新客户", None), now())
        .await
        .unwrap();
    target.finish().await;
});

both_backends!(
    customer_names_cover_exactly_the_asked_and_visible_customers,
    |db| {
        let admin = actor(&user(&db.store, "admin", Role::Admin, None).await);
        let zhang = actor(&user(&db.store, "zhang", Role::AccountManager, Some(1)).await);
        let mut ids = Vec::new();
        for i in 0..250 {
            let mut f = fields(
                &format!("客户{i}"),
                if i == 249 { Some(zhang.user_id) } else { None },
            );
            f.short_name = if i % 2 == 0 {
                format!("简{i}")
            } else {
                String::new()
            };
            ids.push(
                db.store
                    .create_customer(&admin, f, now())
                    .await
                    .unwrap()
                    .id
                    .0,
            );
        }
        // The 250th customer is beyond any first page of a customer list.
        let names = db
            .store
            .customer_names(&admin, &[ids[249], ids[1], ids[249]])
            .await
            .unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(names[&ids[249]], "客户249");
        assert_eq!(
            names[&ids[1]], "客户1",
            "the full name when there is no short name"
        );
        let theirs = db
            .store
            .customer_names(&zhang, &[ids[0], ids[249]])
            .await
            .unwrap();
        assert_eq!(
            theirs.keys().copied().collect::<Vec<_>>(),
            vec![ids[249]],
            "only customers in scope"
        );
        assert!(db
            .store
            .customer_names(&admin, &[])
            .await
            .unwrap()
            .is_empty());
    }
);
