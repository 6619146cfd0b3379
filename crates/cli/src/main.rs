//! `reqloop`: the one binary. Wires store + web + jobs.

use std::io::{BufReader, BufWriter};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reqloop_domain::access::Actor;
use reqloop_domain::import::ImportKind;
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
    /// Import customers, contacts, requirements or orders from .xlsx or .csv (UTF-8 or GBK),
    /// all or nothing; problems are listed by row and column (and written to --report).
    Import {
        /// customers | contacts | requirements | orders
        kind: String,
        file: String,
        /// Whose name the records are created in (their permissions and data scope apply).
        #[arg(long = "as", default_value = "admin")]
        user: String,
        /// Write the problems to this .xlsx as well.
        #[arg(long)]
        report: Option<String>,
    },
    /// Export customers or requirements to .xlsx or .csv (by the file's extension), with
    /// Chinese headers; streamed, so a million rows fit in little memory.
    Export {
        /// customers | requirements
        kind: String,
        file: String,
        /// Whose view is exported (their data scope and cleared fields apply).
        #[arg(long = "as", default_value = "admin")]
        user: String,
    },
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
        Command::Import {
            kind,
            file,
            user,
            report,
        } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            import(&store, &kind, &file, &user, report.as_deref(), clock.now()).await
        }
        Command::Export { kind, file, user } => {
            let store = open(&cli.db, cli.files.as_deref()).await?;
            export(&store, &kind, &file, &user).await
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

/// The actor a command acts as: an active staff user, named on the command line.
async fn actor(store: &Store, username: &str) -> Result<Actor, String> {
    let u = store
        .user_by_username(username)
        .await
        .map_err(|e| e.to_string())?
        .filter(|u| u.active)
        .ok_or(format!("no active user {username}"))?;
    Ok(Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        department_id: u.department_id,
        customer_id: u.customer_id,
        scope: u.data_scope,
    })
}

async fn import(
    store: &Store,
    kind: &str,
    file: &str,
    user: &str,
    report_file: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ExitCode, String> {
    let kind: ImportKind = kind.parse().map_err(|_| {
        let all: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind {kind}; one of {}", all.join(", "))
    })?;
    let actor = actor(store, user).await?;
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {file}: {e}"))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let feed = reqloop_store::read_file(file.into(), read.clone());
    let xlsx = {
        use std::io::Read;
        let mut head = Vec::with_capacity(4);
        std::fs::File::open(file)
            .and_then(|f| f.take(4).read_to_end(&mut head))
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        reqloop_store::Format::sniff(&head) == reqloop_store::Format::Xlsx
    };
    let started = std::time::Instant::now();
    let bar = tokio::spawn(progress(read.clone(), if xlsx { 0 } else { size }));
    let result = store
        .import(&actor, kind, feed, &reqloop_web::i18n::labels, now)
        .await;
    bar.abort();
    eprintln!();
    let report = result.map_err(|e| e.to_string())?;
    let tr = reqloop_web::i18n::Tr::zh();
    for p in &report.problems {
        let column = p.column.map(|c| tr.t(c)).unwrap_or("—");
        let reason = tr.t(&format!("err.{}", p.code)).to_string();
        let detail = if p.detail.is_empty() {
            String::new()
        } else {
            format!(" 〔{}〕", p.detail)
        };
        eprintln!("第 {} 行 · {column} · {reason}{detail}", p.row);
    }
    if report.problem_count > report.problems.len() as u64 {
        eprintln!(
            "… 另有 {} 个问题",
            report.problem_count - report.problems.len() as u64
        );
    }
    if let Some(path) = report_file {
        let bytes = reqloop_web::import::report_xlsx(&report, tr).map_err(|e| e.to_string())?;
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    if report.written {
        println!(
            "imported {} {}: {} created, {} already on file, in {secs:.1} s ({:.0} rows/s)",
            report.rows,
            kind,
            report.created,
            report.unchanged,
            report.rows as f64 / secs.max(1e-9)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "nothing imported: {} problem(s) in {} rows; fix them and import the file again",
            report.problem_count, report.rows
        );
        Ok(ExitCode::from(1))
    }
}

async fn export(store: &Store, kind: &str, file: &str, user: &str) -> Result<ExitCode, String> {
    use reqloop_web::export;
    let actor = actor(store, user).await?;
    let t = reqloop_web::i18n::Tr::zh();
    let xlsx = match std::path::Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
    {
        Some("xlsx") => true,
        Some("csv") => false,
        _ => return Err(format!("{file}: the file name must end in .xlsx or .csv")),
    };
    let started = std::time::Instant::now();
    let (headers, next): (Vec<String>, Box<dyn FnMut(i64) -> export::Stretch + Send>) = match kind {
        "requirements" => {
            let (h, n) = export::requirements(store.clone(), actor, Default::default(), t);
            (h, Box::new(n))
        }
        "customers" => {
            let staff: std::collections::HashMap<_, _> = store
                .list_users()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|u| (u.id, u.display_name))
                .collect();
            let (h, n) =
                export::customers(store.clone(), actor, Default::default(), Arc::new(staff), t);
            (h, Box::new(n))
        }
        other => {
            return Err(format!(
                "unknown kind {other}; one of customers, requirements"
            ))
        }
    };
    let rows = if xlsx {
        export::write_xlsx(file.into(), kind, headers, next).await?
    } else {
        export::write_csv(std::path::Path::new(file), headers, next).await?
    };
    println!(
        "exported {rows} {kind} to {file} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr while a file is read: by bytes for CSV, by rows for xlsx (its
/// compressed size says little about how many rows it holds).
async fn progress(read: Arc<AtomicU64>, total: u64) {
    use std::io::Write;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let done = read.load(Ordering::Relaxed);
        let line = if total > 0 {
            let share = (done as f64 / total as f64).min(1.0);
            let filled = (share * 30.0) as usize;
            format!(
                "\r[{}{}] {:>5.1}%  {:.1}/{:.1} MB",
                "#".repeat(filled),
                "-".repeat(30 - filled),
                share * 100.0,
                done as f64 / 1e6,
                total as f64 / 1e6
            )
        } else {
            format!("\r{done} rows read")
        };
        let mut err = std::io::stderr();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
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
