//! `reqloop`: the one binary. Wires store + web + jobs.

use std::io::{BufReader, BufWriter};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reqloop_domain::time::{Clock, SystemClock};
use reqloop_domain::user::{NewUser, Role};
use reqloop_store::{Store, Who};

#[derive(Parser)]
#[command(
    name = "reqloop",
    version,
    about = "ReqLoop — 客户需求闭环管理系统 / customer-requirements closed-loop management"
)]
struct Cli {
    /// SQLite file path or postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "REQLOOP_DATABASE_URL",
        default_value = "reqloop.db"
    )]
    db: String,
    /// Where attachment files live: by default next to the SQLite file (`<db>.files`), or
    /// `./reqloop-files` on PostgreSQL (give every node the same shared directory).
    #[arg(long, global = true, env = "REQLOOP_FILES")]
    files: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (UI + API) and the background scheduler.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo data into an empty database first.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (when served over HTTPS).
        #[arg(long)]
        secure_cookies: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data into an empty database.
    Demo,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import records from .xlsx or .csv (not built yet).
    Import { kind: String, file: String },
    /// Export records to .xlsx or .csv (not built yet).
    Export { kind: String, file: String },
    /// Build the search index now (the server keeps it up to date by itself); `--full` rebuilds
    /// it from scratch.
    Reindex {
        #[arg(long)]
        full: bool,
    },
    /// Write a consistent backup of the whole database (safe while the server runs).
    Backup { file: String },
    /// Restore a backup into an empty database.
    Restore { file: String },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        role: String,
        /// Department code (staff), e.g. marketing, design, quality.
        #[arg(long)]
        department: Option<String>,
        /// Customer code (portal users).
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits non-zero naming the first broken entry.
    Verify,
}

/// Each login hashes with argon2 over a 19 MiB block. glibc raises its mmap threshold after the
/// first such block is freed, so later blocks come from per-thread arenas and stay resident
/// (one per arena: hundreds of MB). A fixed threshold keeps large blocks on mmap, returned to
/// the OS when freed.
fn keep_large_allocations_on_mmap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    keep_large_allocations_on_mmap();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REQLOOP_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(db: &str, files: Option<&str>) -> Result<Store, String> {
    let mut store = Store::connect(db)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", redact(db)))?;
    if let Some(dir) = files {
        store = store.with_files_dir(dir);
    }
    store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    Ok(store)
}

/// A database URL without its password, for messages.
fn redact(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(s), Some(at)) if at > s => match db[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}://{user}:***{}", &db[..s], &db[at..]),
            None => db.to_string(),
        },
        _ => db.to_string(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let clock = SystemClock;
    match cli.command {
        Command::Serve {
            bind,
            demo,
            secure_cookies,
        } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            if demo {
                load_demo(&store, clock.now()).await?;
            }
            let node = format!(
                "{}-{}",
                std::process::id(),
                reqloop_store::random_token().get(..8).unwrap_or("node")
            );
            tokio::spawn(reqloop_jobs::run(
                store.clone(),
                node,
                Duration::from_secs(60),
            ));
            tokio::spawn(reqloop_jobs::index_search(
                store.clone(),
                Duration::from_secs(2),
            ));
            tokio::spawn(reqloop_jobs::notify(store.clone(), Duration::from_secs(5)));
            tokio::spawn(reqloop_jobs::checkpoint(
                store.clone(),
                Duration::from_millis(100),
            ));
            let app = reqloop_web::router(reqloop_web::AppState {
                store,
                clock: Arc::new(SystemClock),
                secure_cookies,
            });
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!("ReqLoop listening on http://{addr}");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open(&cli.db, cli.files.as_deref()).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            load_demo(&store, clock.now()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    password,
                    role,
                    department,
                    customer,
                    name,
                },
        } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            let role: Role = role.parse().map_err(|_| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {role}; one of {}", all.join(", "))
            })?;
            let department_id = match department {
                Some(d) => Some(
                    store
                        .department_by_code(&d)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or(format!("unknown department {d}"))?,
                ),
                None => None,
            };
            let customer_id = match customer {
                Some(code) => Some(
                    store
                        .customer_by_code(&code)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or(format!("unknown customer {code}"))?,
                ),
                None => None,
            };
            let user = NewUser {
                username,
                display_name: name.unwrap_or_default(),
                password,
                role,
                department_id,
                customer_id,
                data_scope: None,
                email: String::new(),
            };
            let u = store
                .create_user(&Who::system(), user, clock.now())
                .await
                .map_err(|e| match e {
                    reqloop_store::Error::Invalid(errs) => {
                        let list: Vec<String> = errs
                            .0
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.code))
                            .collect();
                        format!("invalid user: {}", list.join(", "))
                    }
                    other => other.to_string(),
                })?;
            println!("created user {} ({}) with id {}", u.username, u.role, u.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { .. } | Command::Export { .. } => {
            eprintln!("import/export is not built yet (issue: import and export)");
            Ok(ExitCode::from(2))
        }
        Command::Reindex { full } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            if full {
                store.reset_search().await.map_err(|e| e.to_string())?;
            }
            let started = std::time::Instant::now();
            let p = store.index_search().await.map_err(|e| e.to_string())?;
            println!(
                "indexed {} records, removed {}, in {:.1} s",
                p.indexed,
                p.removed,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            let f =
                std::fs::File::create(&file).map_err(|e| format!("cannot create {file}: {e}"))?;
            let n = store
                .backup(&mut BufWriter::new(f))
                .await
                .map_err(|e| e.to_string())?;
            println!("backed up {n} rows to {file}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            let f = std::fs::File::open(&file).map_err(|e| format!("cannot open {file}: {e}"))?;
            let n = store
                .restore(BufReader::new(f))
                .await
                .map_err(|e| e.to_string())?;
            println!("restored {n} rows from {file}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            let report = store.verify_audit().await.map_err(|e| e.to_string())?;
            match report.result {
                Ok(()) => {
                    println!(
                        "audit chain intact: {} entries; {} records match their audited state",
                        report.entries, report.records
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(b) => {
                    eprintln!("audit chain BROKEN: {b}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn load_demo(store: &Store, now: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    match reqloop_store::demo::load(store, now)
        .await
        .map_err(|e| e.to_string())?
    {
        reqloop_store::demo::Loaded::Loaded {
            users,
            customers,
            requirements,
        } => println!(
            "demo data loaded: {users} users, {customers} customers, {requirements} requirements \
             (admin / admin123; others / {})",
            reqloop_store::demo::DEMO_PASSWORD
        ),
        reqloop_store::demo::Loaded::AlreadyPopulated => {
            println!("the database already has data; demo data not loaded")
        }
    }
    Ok(())
}
