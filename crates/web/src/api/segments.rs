//! `/api/v1/segments` (F3): the segmentation of the reader's customers by the documented rule
//! set (value × frequency, deadline strictness, macro-region) with the customer pyramid.

use axum::extract::State;
use axum::Json;
use reqloop_store::{SegmentQuery, SegmentReport};

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// Segment sizes, segments by macro-region, the scatter of yearly volume against orders (each
/// customer up to 1,500, a density grid beyond) and customers per tier and grade.
#[utoipa::path(get, path = "/api/v1/segments", tag = "customers", params(SegmentQuery),
    responses((status = 200, body = SegmentReport), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<SegmentQuery>,
) -> Result<Json<SegmentReport>, AppError> {
    Ok(Json(s.store.segments(&actor, &q, s.clock.now()).await?))
}
