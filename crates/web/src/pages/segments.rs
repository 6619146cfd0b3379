//! The segmentation page (F3): segment sizes with the rules that made them, segments by
//! macro-region, the scatter of yearly volume against orders (SVG; a density grid when there are
//! many customers) and the customer pyramid by tier (001§4) beside the grades.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use reqloop_domain::segment::{MacroRegion, Segment};
use reqloop_store::{SegmentQuery, SegmentReport};

use super::{choices, render, report_or_notice, Chrome, Opt};
use crate::auth::PageUser;
use crate::AppState;

/// The plot area of the scatter: x from 50 to 590, y from 10 to 270.
const X0: f64 = 50.0;
const W: f64 = 540.0;
const Y0: f64 = 10.0;
const H: f64 = 260.0;

#[derive(Template)]
#[template(path = "segments.html")]
struct SegmentsPage {
    c: Chrome,
    notice: String,
    regions: Vec<Opt>,
    r: Option<SegmentReport>,
}

fn log(v: i64) -> f64 {
    ((v.max(0) + 1) as f64).log10()
}

impl SegmentsPage {
    fn pct(&self, v: &f64) -> String {
        format!("{:.1}%", v * 100.0)
    }
    fn segments(&self) -> &'static [Segment] {
        Segment::ALL
    }
    /// The axes' upper bounds (log10 of value + 1), at least 1.
    fn bounds(&self) -> (f64, f64) {
        let Some(r) = &self.r else { return (1.0, 1.0) };
        if let Some(g) = &r.grid {
            return (g.max_log_orders, g.max_log_volume);
        }
        let o = r.points.iter().map(|p| log(p.orders)).fold(1.0, f64::max);
        let v = r.points.iter().map(|p| log(p.volume)).fold(1.0, f64::max);
        (o, v)
    }
    /// Each customer as (x, y, segment, strict, title).
    fn dots(&self) -> Vec<(i64, i64, &'static str, bool, String)> {
        let Some(r) = &self.r else { return vec![] };
        let (mo, mv) = self.bounds();
        r.points
            .iter()
            .map(|p| {
                let x = X0 + log(p.orders) / mo * W;
                let y = Y0 + (1.0 - log(p.volume) / mv) * H;
                (
                    x.round() as i64,
                    y.round() as i64,
                    p.segment.as_str(),
                    p.strict,
                    format!("{} · {} · {}", p.name, p.volume, p.orders),
                )
            })
            .collect()
    }
    /// The density grid's cells as (x, y, w, h, opacity in %, count).
    fn cells(&self) -> Vec<(i64, i64, i64, i64, i64, i64)> {
        let Some(g) = self.r.as_ref().and_then(|r| r.grid.as_ref()) else {
            return vec![];
        };
        let lines = g.cells.len().max(1);
        let cols = g.cells.first().map_or(1, |c| c.len()).max(1);
        let max = g.cells.iter().flatten().copied().max().unwrap_or(1).max(1);
        let (cw, ch) = (W / cols as f64, H / lines as f64);
        let mut out = Vec::new();
        for (i, row) in g.cells.iter().enumerate() {
            for (j, n) in row.iter().enumerate().filter(|(_, n)| **n > 0) {
                // Opacity on a log scale, so a cell of one customer still shows.
                let o = 15 + (70.0 * log(*n) / log(max)) as i64;
                out.push((
                    (X0 + j as f64 * cw) as i64,
                    (Y0 + i as f64 * ch) as i64,
                    cw.ceil() as i64,
                    ch.ceil() as i64,
                    o,
                    *n,
                ));
            }
        }
        out
    }
    /// Axis ticks: (position, label) at powers of ten.
    fn x_ticks(&self) -> Vec<(i64, String)> {
        let (mo, _) = self.bounds();
        (0..=mo.floor() as i32)
            .map(|k| {
                let x = X0 + f64::from(k) / mo * W;
                (x as i64, 10_i64.pow(k as u32).saturating_sub(1).to_string())
            })
            .collect()
    }
    fn y_ticks(&self) -> Vec<(i64, String)> {
        let (_, mv) = self.bounds();
        (0..=mv.floor() as i32)
            .step_by(2)
            .map(|k| {
                let y = Y0 + (1.0 - f64::from(k) / mv) * H;
                let label = match k {
                    0 => "0".to_string(),
                    k if k >= 8 => format!("{}亿", 10_i64.pow(k as u32 - 8)),
                    k if k >= 4 => format!("{}万", 10_i64.pow(k as u32 - 4)),
                    k => 10_i64.pow(k as u32).to_string(),
                };
                (y as i64, label)
            })
            .collect()
    }
    /// The pyramid: (tier, count, x, width) centred in 360 px, strategic on top.
    fn pyramid(&self) -> Vec<(&'static str, i64, i64, i64)> {
        let Some(r) = &self.r else { return vec![] };
        let n = r.tiers.len().max(1) as i64;
        r.tiers
            .iter()
            .enumerate()
            .map(|(i, (t, count))| {
                // Widths grow downwards whatever the counts: the shape is the model's.
                let w = 90 + (i as i64) * 270 / (n - 1).max(1);
                (t.as_str(), *count, 180 - w / 2, w)
            })
            .collect()
    }
}

/// `/segments?region=`
pub async fn page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let region: Option<MacroRegion> = q.get("region").and_then(|r| r.parse().ok());
    let query = SegmentQuery { region };
    let (r, notice, status) =
        match report_or_notice(&u, s.store.segments(&u.actor, &query, s.clock.now()).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let t = u.t;
    let p = SegmentsPage {
        c: Chrome::new(&u, "segments", t.t("segment.title").to_string()),
        notice,
        regions: choices(MacroRegion::ALL, MacroRegion::as_str, &t, "region", region),
        r,
    };
    (status, render(&p)).into_response()
}
