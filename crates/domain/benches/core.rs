//! criterion benchmarks of the pure core (issue 9): the state machines, working-time
//! arithmetic, grading, KPI maths, similarity, search tokens, the audit chain and import rows.
//! `cargo bench -p reqloop-domain`; the numbers go to BENCHMARKS.md.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use reqloop_domain::audit::{self, Entry};
use reqloop_domain::calendar::built_in_calendar;
use reqloop_domain::complaint::{self, ComplaintKind, ComplaintState, ComplaintStep};
use reqloop_domain::grading::{self, GradeRules};
use reqloop_domain::import::{self, Cell, Header, ImportKind};
use reqloop_domain::kpi::Counts;
use reqloop_domain::requirement::{self, Stage, StageFacts};
use reqloop_domain::{search, similarity, warning};

fn state_machines(c: &mut Criterion) {
    let facts = StageFacts {
        items: 3,
        outputs: Stage::ALL.to_vec(),
        merged: false,
    };
    c.bench_function("requirement transition, every pair of stages", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for &from in Stage::ALL {
                for &to in Stage::ALL {
                    allowed += requirement::transition(from, to, "返工", &facts).is_ok() as u32;
                }
            }
            black_box(allowed)
        })
    });
    c.bench_function("complaint step, every state and step", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for &from in ComplaintState::ALL {
                for &step in ComplaintStep::ALL {
                    let next = complaint::next(
                        black_box(ComplaintKind::Complaint),
                        black_box(from),
                        black_box(step),
                    );
                    allowed += next.is_ok() as u32;
                }
            }
            black_box(allowed)
        })
    });
    let rules = warning::default_rules();
    c.bench_function("warning levels of the default rules", |b| {
        b.iter(|| {
            let mut raised = 0;
            for r in &rules {
                for v in [0, 1, 3, 5, 10, 30] {
                    raised += r.level(black_box(v)).is_some() as u32;
                }
            }
            black_box(raised)
        })
    });
}

fn working_time(c: &mut Criterion) {
    let cal = built_in_calendar();
    // Friday before the National Day week of 2025: the clock runs across the holiday and its
    // make-up Saturday.
    let start = Utc.with_ymd_and_hms(2025, 9, 26, 7, 30, 0).unwrap();
    c.bench_function("add 2 working days across the National Day week", |b| {
        b.iter(|| cal.add_days(black_box(start), 2))
    });
    c.bench_function("add 4 working hours", |b| {
        b.iter(|| cal.add_minutes(black_box(start), 240))
    });
    let end = Utc.with_ymd_and_hms(2025, 12, 31, 10, 0, 0).unwrap();
    c.bench_function("working minutes over three months", |b| {
        b.iter(|| cal.minutes_between(black_box(start), black_box(end)))
    });
}

fn grading(c: &mut Criterion) {
    // 100,000 customers with many ties (volumes in steps of 1,000 yuan).
    let volumes: Vec<(i64, i64)> = (0..100_000i64)
        .map(|id| (id, (id * 7919 % 5000) * 1000))
        .collect();
    let rules = GradeRules::default();
    let mut g = c.benchmark_group("grading");
    g.throughput(Throughput::Elements(volumes.len() as u64));
    g.sample_size(20);
    g.bench_function("grade 100,000 customers", |b| {
        b.iter(|| grading::grade(black_box(&volumes), &rules))
    });
    g.finish();
}

fn kpis(c: &mut Criterion) {
    // A year of months for 1,000 people, summed and turned into rates.
    let months: Vec<Counts> = (0..12_000i64)
        .map(|i| Counts {
            received: 10 + i % 7,
            completed: 8 + i % 5,
            on_time: 7 + i % 3,
            late: i % 4,
            scores: [i % 2, 1, 2, 5 + i % 3, 9],
        })
        .collect();
    c.bench_function("KPI rates of 12,000 person-months", |b| {
        b.iter(|| {
            let mut total = Counts::default();
            for m in &months {
                total.add(m);
            }
            black_box((total.timeliness(), total.completion(), total.satisfied()))
        })
    });
}

fn text(c: &mut Criterion) {
    let a = "客户要求缩短交期，交货期从30天缩短到20天，并提供出厂检验报告和第三方检测证书";
    let b = "希望交期延误时提前通知，交货期保持30天，出厂检验报告随货提供";
    c.bench_function("similarity of two requirement texts", |bn| {
        bn.iter(|| similarity::similarity(black_box(a), black_box(b)))
    });
    c.bench_function("relate a new requirement to a candidate", |bn| {
        bn.iter(|| similarity::relate(black_box(a), black_box(b), true))
    });
    c.bench_function("search tokens of a requirement text", |bn| {
        bn.iter(|| search::tokens(black_box(a)))
    });
}

fn audit_chain(c: &mut Criterion) {
    let entry = Entry {
        seq: 1_000_001,
        at: "2026-11-30T08:00:00Z".into(),
        actor_id: Some(7),
        actor_name: "zhangsan".into(),
        entity: "requirement".into(),
        entity_id: "1000001".into(),
        action: "create".into(),
        before: None,
        after: Some(
            r#"{"code":"XQ-2026-000001","title":"缩短交期","stage":"identification"}"#.into(),
        ),
        hash: String::new(),
    };
    c.bench_function("audit chain hash of one entry", |b| {
        b.iter(|| audit::chain_hash(black_box(audit::GENESIS), black_box(&entry)))
    });
}

fn import_rows(c: &mut Criterion) {
    fn labels(key: &str) -> [&'static str; 2] {
        match key {
            "import.external_key" => ["外部编号", "External key"],
            "import.customer_ref" => ["客户", "Customer"],
            "req.title" => ["需求标题", "Title"],
            "req.channel" => ["来源渠道", "Channel"],
            "req.category" => ["类别", "Category"],
            "req.nature" => ["性质", "Nature"],
            "req.kind" => ["类型", "Kind"],
            "req.urgency" => ["紧急程度", "Urgency"],
            "req.collected_on" => ["收集日期", "Collected on"],
            "channel.visit" => ["拜访", "Visit"],
            "category.product" => ["产品", "Product"],
            "nature.functional" => ["功能性", "Functional"],
            "kind.stated" => ["明示", "Stated"],
            "urgency.urgent" => ["紧急", "Urgent"],
            _ => ["", ""],
        }
    }
    let cells = |v: &[&str]| -> Vec<Cell> { v.iter().map(|s| Cell::Text(s.to_string())).collect() };
    let header = Header::read(
        ImportKind::Requirements,
        &cells(&[
            "外部编号",
            "客户",
            "需求标题",
            "来源渠道",
            "类别",
            "性质",
            "类型",
            "紧急程度",
            "收集日期",
        ]),
        &labels,
    )
    .expect("header");
    let row = cells(&[
        "EXT-000001",
        "C-A-0001",
        "缩短交期到20天",
        "拜访",
        "产品",
        "功能性",
        "明示",
        "紧急",
        "2026年3月5日",
    ]);
    c.bench_function("parse one import row (requirement)", |b| {
        b.iter_batched(
            || row.clone(),
            |r| import::parse_row(&header, 2, &r, &labels).expect("a valid row"),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(
    benches,
    state_machines,
    working_time,
    grading,
    kpis,
    text,
    audit_chain,
    import_rows
);
criterion_main!(benches);
