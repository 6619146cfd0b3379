//! Test databases for the suites of every crate: a fresh SQLite file or a fresh PostgreSQL
//! database per test, migrated, dropped afterwards. The PostgreSQL server is never optional:
//! when it cannot be reached the test fails loudly.

use crate::{Backend, Store};

/// The server the PostgreSQL half of the suite uses (trust auth on these machines).
pub fn postgres_admin_url() -> String {
    std::env::var("REQLOOP_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The administrator the demo creates first (user 1, every scope), as an actor for store-level
/// tests.
pub fn admin() -> reqloop_domain::access::Actor {
    reqloop_domain::access::Actor {
        user_id: reqloop_domain::ids::UserId(1),
        username: "admin".into(),
        role: reqloop_domain::user::Role::Admin,
        department_id: None,
        customer_id: None,
        scope: reqloop_domain::user::DataScope::All,
    }
}

/// A migrated, empty database for one test.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    name: String,
    backend: Backend,
    _dir: Option<TempDir>,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "reqloop_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = dir.join("test.db").display().to_string();
                let store = Store::connect(&url).await.expect("open sqlite");
                store.migrate().await.expect("migrate sqlite");
                TestDb {
                    store,
                    url,
                    name,
                    backend,
                    _dir: Some(TempDir(dir)),
                }
            }
            Backend::Postgres => {
                let admin = server_pool().await;
                drop_stale(&admin).await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = postgres_admin_url();
                let url = format!(
                    "{}/{name}",
                    base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b)
                );
                // Attachments go to a temporary directory, removed with the test.
                let files = std::env::temp_dir().join(&name);
                let store = Store::connect(&url)
                    .await
                    .expect("open postgres test database")
                    .with_files_dir(files.clone());
                store.migrate().await.expect("migrate postgres");
                TestDb {
                    store,
                    url,
                    name,
                    backend,
                    _dir: Some(TempDir(files)),
                }
            }
        }
    }

    /// The number of rows of a table (tests compare before and after).
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.store.pool)
            .await
            .expect("count");
        n
    }

    /// Closes the pool and drops the PostgreSQL database (SQLite's folder goes on drop).
    pub async fn finish(self) {
        self.store.close().await;
        if self.backend == Backend::Postgres {
            let admin = server_pool().await;
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

async fn server_pool() -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = postgres_admin_url();
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {url} is required for the test suite and could not be reached: {e}"
            )
        })
}

/// Drops test databases left behind by test processes that no longer run.
async fn drop_stale(admin: &sqlx::AnyPool) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'reqloop_t_%'")
            .fetch_all(admin)
            .await
            .unwrap_or_default();
    for n in names {
        let pid = n.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"))
                .execute(admin)
                .await;
        }
    }
}

/// Runs one async test body on SQLite and on PostgreSQL:
/// `both_backends!(name, |db| { … });` makes `name::sqlite` and `name::postgres`, with `db: &TestDb`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let owned = $crate::testing::TestDb::new($crate::Backend::Sqlite).await;
                {
                    let $db = &owned;
                    $body
                }
                owned.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let owned = $crate::testing::TestDb::new($crate::Backend::Postgres).await;
                {
                    let $db = &owned;
                    $body
                }
                owned.finish().await;
            }
        }
    };
}

/// A plain pool on a test database, for tampering with rows behind the store's back.
pub async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("postgres") {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    };
    sqlx::pool::PoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("raw pool")
}
