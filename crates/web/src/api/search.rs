//! `/api/v1/search` (F30): one search over customers, requirements, complaints and contracts,
//! Chinese-aware, ranked by relevance, within the reader's permissions and data scope.

use axum::extract::State;
use axum::Json;
use reqloop_store::{SearchQuery, SearchResult};

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// Records matching `q`: every space-separated part must occur (a Chinese word of two
/// characters or more is found inside longer text: 交期 finds 交期延误 but not 交货期). The
/// matches are ranked by relevance; when more than 2,000 records match, the newest 2,000 are
/// listed newest first and `more` is true.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses(
        (status = 200, body = SearchResult, example = json!({"items": [{"kind": "requirement", "id": 12,
            "code": "XQ-2026-0012", "title": "缩短交期", "snippet": "希望交期由45天缩短至30天", "customer_id": 3,
            "customer_name": "华东精密机械有限公司", "status": "review", "score": 7.1}], "total": 1, "more": false})),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResult>, AppError> {
    Ok(Json(s.store.search(&actor, &q).await?))
}
