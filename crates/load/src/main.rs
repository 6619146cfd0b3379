//! `reqloop-load`: drives a running `reqloop serve` on this machine with a given number of
//! clients for a bounded time per scenario and prints, per operation, throughput, its ratio to
//! `/livez` measured in the same run, and p50/p95/p99 latency (issue 9). The clients are tasks on
//! one thread, each with its own keep-alive HTTP/1.1 connection (hyper's connection API, no
//! pool), so the tool costs one core at most and little per request.
//!
//! `reqloop-load --base http://127.0.0.1:8080 --clients 8 --seconds 10`

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::HOST;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Load generator for ReqLoop (127.0.0.1 only)")]
struct Args {
    /// The server; only loopback addresses are accepted.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[arg(long, default_value = "admin")]
    user: String,
    #[arg(long, default_value = "admin123")]
    password: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Scenarios, one after another: each operation alone, and `mix` for all of them together
    /// in the proportions of a working day.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "livez,list,get,search,page,create,transition,kpis,warnings,mix"
    )]
    scenarios: Vec<String>,
    /// The server's process id, to report its resident memory after the run.
    #[arg(long)]
    pid: Option<u32>,
}

/// What a client does in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Livez,
    List,
    Get,
    Search,
    Page,
    Create,
    Transition,
    Kpis,
    Warnings,
}

impl Op {
    const ALL: [Op; 9] = [
        Op::Livez,
        Op::List,
        Op::Get,
        Op::Search,
        Op::Page,
        Op::Create,
        Op::Transition,
        Op::Kpis,
        Op::Warnings,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Livez => "livez",
            Op::List => "list",
            Op::Get => "get",
            Op::Search => "search",
            Op::Page => "page",
            Op::Create => "create",
            Op::Transition => "transition",
            Op::Kpis => "kpis",
            Op::Warnings => "warnings",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Op::Livez => "GET /livez (the HTTP floor)",
            Op::List => "GET /api/v1/requirements?customer_id=…&stage=…&per_page=50",
            Op::Get => "GET /api/v1/requirements/{id}",
            Op::Search => "GET /api/v1/search?q=…",
            Op::Page => "GET /requirements (HTML list page)",
            Op::Create => "POST /api/v1/requirements (with audit entry)",
            Op::Transition => "POST /api/v1/requirements/{id}/transitions",
            Op::Kpis => "GET /api/v1/kpis (KPI dashboard)",
            Op::Warnings => "GET /api/v1/warning-dashboard",
        }
    }

    /// Share of a working day's requests (the `mix` scenario): mostly reading lists and
    /// records, some searching, a little writing and the dashboards now and then.
    fn weight(self) -> u32 {
        match self {
            Op::Livez => 0,
            Op::List => 30,
            Op::Get => 25,
            Op::Search => 10,
            Op::Page => 10,
            Op::Create => 8,
            Op::Transition => 8,
            Op::Kpis => 5,
            Op::Warnings => 4,
        }
    }
}

const STAGES: [&str; 6] = [
    "review",
    "determination",
    "transmission",
    "realization",
    "verification",
    "closed",
];
const WORDS: [&str; 8] = [
    "交期",
    "检测报告",
    "包装",
    "价格",
    "质量",
    "认证",
    "交货期",
    "尺寸",
];

/// What every client reads: where the server is and which records exist.
struct Target {
    /// `127.0.0.1:PORT`
    host: String,
    auth: String,
    customers: Vec<i64>,
    requirements: (i64, i64),
}

/// One client: its connection, its dice and the requirement it moves back and forth.
struct Client {
    t: Rc<Target>,
    conn: Option<SendRequest<Full<Bytes>>>,
    rng: StdRng,
    moving: Option<(i64, bool)>,
}

/// Latencies (µs) and failures of one operation.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    failed: u64,
}

type Failure = String;

impl Client {
    fn new(t: Rc<Target>, seed: u64) -> Client {
        Client {
            t,
            conn: None,
            rng: StdRng::seed_from_u64(seed),
            moving: None,
        }
    }

    /// Sends one request and reads the answer to its end: the body of a 2xx answer, or why not.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Bytes, Failure> {
        let fail = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => self.connect().await.map_err(|e| fail(&e))?,
        };
        conn.ready().await.map_err(|e| fail(&e))?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.t.host)
            .header(AUTHORIZATION, &self.t.auth);
        let body = match body {
            Some(v) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = conn
            .send_request(req.body(body).map_err(|e| fail(&e))?)
            .await
            .map_err(|e| fail(&e))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .to_bytes();
        self.conn = Some(conn);
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(fail(&format!(
                "{status} {}",
                String::from_utf8_lossy(&bytes)
            )))
        }
    }

    /// A new keep-alive connection; its driver runs as a task beside the client.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = tokio::net::TcpStream::connect(&self.t.host)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(send)
    }

    async fn send_json(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{method} {path}: {e}"))
    }

    fn customer(&mut self) -> i64 {
        self.t.customers[self.rng.gen_range(0..self.t.customers.len())]
    }

    fn new_requirement(&mut self) -> Value {
        json!({
            "customer_id": self.customer(), "title": "压测需求：交期缩短到30天",
            "description": "负载测试生成", "channel": "visit", "category": "product",
            "sub_category": "delivery_quantity", "nature": "non_functional", "kind": "stated",
            "urgency": "important", "source_person": "王丽", "collected_on": "2026-11-20"
        })
    }

    /// A requirement of this client's own with an item, waiting in identification: what the
    /// transition operation moves to review and back.
    async fn prepare_moving(&mut self) -> Result<(), Failure> {
        let body = self.new_requirement();
        let r = self
            .send_json("POST", "/api/v1/requirements", Some(body))
            .await?;
        let id = r["id"].as_i64().ok_or("no id in the created requirement")?;
        self.send_json(
            "POST",
            &format!("/api/v1/requirements/{id}/items"),
            Some(json!({"description": "尺寸公差", "category": "product",
                        "acceptance_criterion": "按图纸", "department_id": 2})),
        )
        .await?;
        self.moving = Some((id, false));
        Ok(())
    }

    async fn run(&mut self, op: Op) -> Result<Bytes, Failure> {
        match op {
            Op::Livez => self.send("GET", "/livez", None).await,
            Op::List => {
                let c = self.customer();
                let stage = STAGES[self.rng.gen_range(0..STAGES.len())];
                let path =
                    format!("/api/v1/requirements?customer_id={c}&stage={stage}&per_page=50");
                self.send("GET", &path, None).await
            }
            Op::Get => {
                let (lo, hi) = self.t.requirements;
                let id = self.rng.gen_range(lo..=hi);
                self.send("GET", &format!("/api/v1/requirements/{id}"), None)
                    .await
            }
            Op::Search => {
                let w = WORDS[self.rng.gen_range(0..WORDS.len())];
                self.send("GET", &format!("/api/v1/search?q={}", encode(w)), None)
                    .await
            }
            Op::Page => self.send("GET", "/requirements", None).await,
            Op::Create => {
                let body = self.new_requirement();
                self.send("POST", "/api/v1/requirements", Some(body)).await
            }
            Op::Transition => {
                if self.moving.is_none() {
                    self.prepare_moving().await?;
                }
                let (id, at_review) = self.moving.expect("prepared");
                let body = if at_review {
                    json!({"to": "identification", "reason": "压测：退回补充识别"})
                } else {
                    json!({"to": "review"})
                };
                let path = format!("/api/v1/requirements/{id}/transitions");
                let r = self.send("POST", &path, Some(body)).await;
                if r.is_ok() {
                    self.moving = Some((id, !at_review));
                }
                r
            }
            Op::Kpis => self.send("GET", "/api/v1/kpis", None).await,
            Op::Warnings => self.send("GET", "/api/v1/warning-dashboard", None).await,
        }
    }

    /// Requests until `deadline`: `ops[0]` alone, or an op drawn by weight each time.
    async fn drive(mut self, ops: Vec<Op>, deadline: Instant) -> BTreeMap<Op, Tally> {
        let total_weight: u32 = ops.iter().map(|o| o.weight().max(1)).sum();
        let mut tallies: BTreeMap<Op, Tally> = BTreeMap::new();
        // Set-up outside the clock: the transition's own requirement.
        if ops.contains(&Op::Transition) {
            if let Err(e) = self.prepare_moving().await {
                eprintln!("cannot prepare a requirement to move: {e}");
            }
        }
        while Instant::now() < deadline {
            let op = pick(&ops, self.rng.gen_range(0..total_weight));
            let start = Instant::now();
            let r = self.run(op).await;
            let micros = start.elapsed().as_micros().min(u32::MAX as u128) as u32;
            let tally = tallies.entry(op).or_default();
            match r {
                Ok(_) => tally.micros.push(micros),
                Err(e) => {
                    if tally.failed == 0 {
                        eprintln!("{}: {e}", op.name());
                    }
                    tally.failed += 1;
                }
            }
        }
        tallies
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The op a roll in `0..Σ weight` falls on.
fn pick(ops: &[Op], mut roll: u32) -> Op {
    for &o in ops {
        let w = o.weight().max(1);
        if roll < w {
            return o;
        }
        roll -= w;
    }
    ops[0]
}

/// Runs `ops` (one op alone, or the weighted mix) with `clients` concurrent clients for `secs`.
async fn scenario(t: &Rc<Target>, ops: &[Op], clients: usize, secs: u64) -> BTreeMap<Op, Tally> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let c = Client::new(t.clone(), 0x5eed + i as u64);
            tokio::task::spawn_local(c.drive(ops.to_vec(), deadline))
        })
        .collect();
    let mut per_client = Vec::new();
    for h in handles {
        per_client.push(h.await.expect("client task"));
    }
    let mut merged: BTreeMap<Op, Tally> = BTreeMap::new();
    for tallies in per_client {
        for (op, t) in tallies {
            let m = merged.entry(op).or_default();
            m.micros.extend(t.micros);
            m.failed += t.failed;
        }
    }
    merged
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// Logs in and looks up which customers and requirements exist.
async fn discover(args: &Args) -> Result<Target, Failure> {
    let host = args
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut anonymous = Client::new(
        Rc::new(Target {
            host: host.clone(),
            auth: String::new(),
            customers: Vec::new(),
            requirements: (0, 0),
        }),
        1,
    );
    let login = anonymous
        .send_json(
            "POST",
            "/api/v1/auth/login",
            Some(json!({"username": args.user, "password": args.password})),
        )
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or("no token in the login answer")?;
    let mut c = Client::new(
        Rc::new(Target {
            host: host.clone(),
            auth: format!("Bearer {token}"),
            customers: Vec::new(),
            requirements: (0, 0),
        }),
        1,
    );
    let newest = c
        .send_json("GET", "/api/v1/requirements?per_page=1", None)
        .await?;
    let oldest = c
        .send_json("GET", "/api/v1/requirements?per_page=1&sort=id", None)
        .await?;
    let id = |v: &Value| v["items"][0]["id"].as_i64().unwrap_or(0);
    let requirements = (id(&oldest), id(&newest));
    // Customers from up to ten pages spread over the whole list (ordered by grade, then code).
    let first = c
        .send_json("GET", "/api/v1/customers?per_page=200", None)
        .await?;
    let pages = (first["total"].as_i64().unwrap_or(0) + 199) / 200;
    let sampled = pages.min(10);
    let mut customers = Vec::new();
    for k in 0..sampled {
        let page = 1 + k * pages / sampled;
        let path = format!("/api/v1/customers?per_page=200&page={page}");
        let p = c.send_json("GET", &path, None).await?;
        for item in p["items"].as_array().into_iter().flatten() {
            customers.extend(item["id"].as_i64());
        }
    }
    if customers.is_empty() || requirements.1 == 0 {
        return Err("the database has no customers or no requirements".into());
    }
    Ok(Target {
        host,
        auth: format!("Bearer {token}"),
        customers,
        requirements,
    })
}

/// Bytes of a first visit to the requirement list: the page and the stylesheets and scripts it
/// names (uncompressed, so an upper bound of what travels).
async fn first_load_bytes(c: &mut Client) -> Result<u64, Failure> {
    let html = c.send("GET", "/requirements", None).await?;
    let html = String::from_utf8_lossy(&html);
    let mut total = html.len() as u64;
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap_or("");
            if url.starts_with("/assets/") {
                total += c.send("GET", url, None).await?.len() as u64;
            }
        }
    }
    Ok(total)
}

fn resident_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let args = Args::parse();
    let host = args
        .base
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost") {
        eprintln!("reqloop-load drives servers on this machine only (http://127.0.0.1:PORT)");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The clients and their connections are tasks of this one thread.
    let local = tokio::task::LocalSet::new();
    if let Err(e) = local.block_on(&runtime, run(&args)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

async fn run(args: &Args) -> Result<(), Failure> {
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        scenarios.push(if name == "mix" {
            Op::ALL.into_iter().filter(|o| o.weight() > 0).collect()
        } else {
            match Op::ALL.into_iter().find(|o| o.name() == name) {
                Some(o) => vec![o],
                None => return Err(format!("unknown scenario {name}")),
            }
        });
    }
    let t = Rc::new(
        discover(args)
            .await
            .map_err(|e| format!("cannot start: {e}"))?,
    );
    println!(
        "{} clients, {} s per scenario, {} customers sampled, requirement ids {}–{}",
        args.clients,
        args.seconds,
        t.customers.len(),
        t.requirements.0,
        t.requirements.1
    );
    match first_load_bytes(&mut Client::new(t.clone(), 2)).await {
        Ok(b) => println!(
            "first load of /requirements (page, styles, scripts; uncompressed): {:.1} KB",
            b as f64 / 1024.0
        ),
        Err(e) => println!("first load of /requirements: failed ({e})"),
    }
    println!();
    println!("| scenario | operation | requests | req/s | ratio to /livez | p50 ms | p95 ms | p99 ms | failed |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut livez_rate: Option<f64> = None;
    for (name, ops) in args.scenarios.iter().zip(scenarios) {
        let alone = ops.len() == 1;
        for (op, mut tally) in scenario(&t, &ops, args.clients, args.seconds).await {
            tally.micros.sort_unstable();
            let n = tally.micros.len();
            let rate = n as f64 / args.seconds as f64;
            if op == Op::Livez && alone {
                livez_rate = Some(rate);
            }
            let ratio = livez_rate
                .filter(|_| alone)
                .map_or("—".to_string(), |l| format!("{:.3}", rate / l));
            println!(
                "| {name} | {} | {n} | {rate:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {} |",
                op.describe(),
                percentile(&tally.micros, 0.50),
                percentile(&tally.micros, 0.95),
                percentile(&tally.micros, 0.99),
                tally.failed
            );
        }
    }
    if let Some(mb) = args.pid.and_then(resident_mb) {
        println!("\nserver resident memory after the run: {mb:.1} MB");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&ms, 0.50), 50.0);
        assert_eq!(percentile(&ms, 0.99), 99.0);
        assert_eq!(percentile(&ms, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_roll_falls_on_the_ops_by_weight() {
        let ops = [Op::List, Op::Get];
        assert_eq!(pick(&ops, 0), Op::List);
        assert_eq!(pick(&ops, Op::List.weight() - 1), Op::List);
        assert_eq!(pick(&ops, Op::List.weight()), Op::Get);
        assert_eq!(
            pick(&ops, Op::List.weight() + Op::Get.weight() - 1),
            Op::Get
        );
    }

    #[test]
    fn query_words_are_percent_encoded() {
        assert_eq!(encode("交期"), "%E4%BA%A4%E6%9C%9F");
        assert_eq!(encode("a b"), "a%20b");
    }
}
