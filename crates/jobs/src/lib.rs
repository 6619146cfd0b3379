//! The background scheduler that runs inside `reqloop serve`. Each job is claimed from the
//! database before it runs, so with several nodes on one PostgreSQL exactly one node runs it.

mod send;

use std::time::Duration;

pub use send::{deliver_due, Sent, TIMEOUT as SEND_TIMEOUT};

use chrono::{DateTime, Utc};
use reqloop_store::Store;

/// A job: its name, how often it runs, and what it does.
struct Job {
    name: &'static str,
    every: chrono::Duration,
}

/// In order: breaches are recorded before the warning pass counts them.
const JOBS: &[Job] = &[
    Job {
        name: "purge_expired_sessions",
        every: chrono::Duration::hours(1),
    },
    // F22: a breach is recorded within minutes of the clock running out.
    Job {
        name: "record_sla_breaches",
        every: chrono::Duration::minutes(5),
    },
    // F24: warnings over hand-offs, deliveries, complaints and breaches.
    Job {
        name: "raise_warnings",
        every: chrono::Duration::minutes(15),
    },
    // F25: collection visits by tier, return visits after deliveries.
    Job {
        name: "plan_contacts",
        every: chrono::Duration::hours(1),
    },
];

/// Runs one job; its result as the text kept in the job's row.
async fn run_job(store: &Store, name: &str, now: DateTime<Utc>) -> reqloop_store::Result<String> {
    Ok(match name {
        "purge_expired_sessions" => format!("removed {}", store.purge_expired_sessions(now).await?),
        "record_sla_breaches" => {
            let p = store.record_breaches(now).await?;
            format!("computed {}, recorded {}", p.computed, p.recorded)
        }
        "raise_warnings" => {
            let p = store.raise_warnings(now).await?;
            format!(
                "rules {}, raised {}, escalated {}",
                p.rules, p.raised, p.escalated
            )
        }
        "plan_contacts" => {
            let p = store.plan_contacts(now).await?;
            format!(
                "collection {}, return visits {}",
                p.collection, p.return_visits
            )
        }
        _ => "unknown job".to_string(),
    })
}

/// Runs the jobs that are due now; returns the names of those this node ran.
pub async fn run_due(store: &Store, node: &str, now: DateTime<Utc>) -> Vec<&'static str> {
    let mut ran = Vec::new();
    for job in JOBS {
        match store
            .claim_job(job.name, node, now, chrono::Duration::minutes(10))
            .await
        {
            Ok(true) => {
                let result = run_job(store, job.name, now).await;
                let text = match &result {
                    Ok(t) => t.clone(),
                    Err(e) => format!("error: {e}"),
                };
                if let Err(e) = store
                    .finish_job(job.name, node, now, now + job.every, &text)
                    .await
                {
                    tracing::warn!(job = job.name, error = %e, "could not record the job run");
                }
                ran.push(job.name);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(job = job.name, error = %e, "could not claim the job"),
        }
    }
    ran
}

/// The scheduler loop: checks every `tick` until the process ends.
pub async fn run(store: Store, node: String, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        run_due(&store, &node, Utc::now()).await;
    }
}

/// Checkpoints SQLite's write-ahead log every `tick`, off the request path, so that commits
/// seldom pay for a checkpoint's disk flush (a no-op on PostgreSQL).
pub async fn checkpoint(store: Store, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// Keeps the search index (F30) following the audit log, every `tick` on every node: a pass
/// with nothing new is two reads, and the index lives in the database, so every node sees what
/// any node indexed within seconds of the write.
pub async fn index_search(store: Store, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match store.index_search().await {
            Ok(p) if p.indexed + p.removed > 0 => {
                tracing::debug!(
                    indexed = p.indexed,
                    removed = p.removed,
                    cursor = p.cursor,
                    "search index"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "search indexing failed"),
        }
    }
}

/// Tells people and systems what happened (F31), every `tick` on every node: the notifier
/// writes inbox entries and deliveries from each event's cursor (nodes take turns on it), then
/// the due deliveries are sent.
pub async fn notify(store: Store, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let now = Utc::now();
        if let Err(e) = store.notify(now).await {
            tracing::warn!(error = %e, "notifying failed");
        }
        match deliver_due(&store, now).await {
            Ok(s) if s.failed > 0 => tracing::info!(sent = s.sent, failed = s.failed, "deliveries"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sending failed"),
        }
    }
}
