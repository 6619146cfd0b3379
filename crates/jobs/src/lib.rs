//! The background scheduler that runs inside `reqloop serve`. Each job is claimed from the
//! database before it runs, so with several nodes on one PostgreSQL exactly one node runs it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqloop_store::Store;

/// A job: its name, how often it runs, and what it does.
struct Job {
    name: &'static str,
    every: chrono::Duration,
}

const JOBS: &[Job] = &[Job {
    name: "purge_expired_sessions",
    every: chrono::Duration::hours(1),
}];

/// Runs the jobs that are due now; returns the names of those this node ran.
pub async fn run_due(store: &Store, node: &str, now: DateTime<Utc>) -> Vec<&'static str> {
    let mut ran = Vec::new();
    for job in JOBS {
        match store
            .claim_job(job.name, node, now, chrono::Duration::minutes(10))
            .await
        {
            Ok(true) => {
                let result = match job.name {
                    "purge_expired_sessions" => store
                        .purge_expired_sessions(now)
                        .await
                        .map(|n| format!("removed {n}")),
                    _ => Ok("unknown job".to_string()),
                };
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
