//! The `reqloop` binary end to end, on SQLite and PostgreSQL.

use std::process::{Command, Output};

use reqloop_store::both_backends;

fn reqloop(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reqloop"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("REQLOOP_LOG", "warn")
        .output()
        .expect("run reqloop")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

both_backends!(audit_verify_catches_a_row_edited_by_hand, |db| {
    let demo = reqloop(&db.url, &["demo"]);
    assert!(demo.status.success(), "{}", text(&demo));
    assert!(text(&demo).contains("demo data loaded"));
    let ok = reqloop(&db.url, &["audit", "verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("intact"));

    let added = reqloop(
        &db.url,
        &[
            "user",
            "add",
            "--username",
            "lina",
            "--password",
            "secret-123",
            "--role",
            "reviewer",
            "--department",
            "design",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    let bad_role = reqloop(
        &db.url,
        &[
            "user",
            "add",
            "--username",
            "x",
            "--password",
            "secret-123",
            "--role",
            "boss",
        ],
    );
    assert!(!bad_role.status.success());
    assert!(text(&bad_role).contains("unknown role"));
    let short = reqloop(
        &db.url,
        &[
            "user",
            "add",
            "--username",
            "y",
            "--password",
            "short",
            "--role",
            "reviewer",
        ],
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("password"));

    let pool = reqloop_store::testing::raw_pool(&db.url).await;
    sqlx::query("UPDATE customers SET name = '篡改' WHERE id = 3")
        .execute(&pool)
        .await
        .unwrap();
    let broken = reqloop(&db.url, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken).contains("customer 3"), "{}", text(&broken));
    sqlx::query("UPDATE audit_log SET actor_name = 'nobody' WHERE seq = 5")
        .execute(&pool)
        .await
        .unwrap();
    let chain = reqloop(&db.url, &["audit", "verify"]);
    assert_eq!(chain.status.code(), Some(1));
    assert!(text(&chain).contains("entry 5"), "{}", text(&chain));
    pool.close().await;
});

#[test]
fn backup_and_restore_between_files() {
    let dir = std::env::temp_dir().join(format!("reqloop_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b, file) = (dir.join("a.db"), dir.join("b.db"), dir.join("backup.jsonl"));
    let (a, b, file) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        file.to_str().unwrap(),
    );
    assert!(reqloop(a, &["demo"]).status.success());
    let backup = reqloop(a, &["backup", file]);
    assert!(backup.status.success(), "{}", text(&backup));
    let restore = reqloop(b, &["restore", file]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(reqloop(b, &["audit", "verify"]).status.success());
    let again = reqloop(b, &["restore", file]);
    assert!(
        !again.status.success(),
        "restore refuses a database that has data"
    );
    std::fs::remove_dir_all(&dir).ok();
}
