//! `/api/v1/reports` (F26): the business structure, customer management and requirement trends
//! over the customers in the caller's scope.

use axum::extract::State;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_store::{BusinessStructure, CustomerManagement, ReportQuery, RequirementTrends};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// Customers, their yearly transaction volume and the orders of a period by industry, region
/// (province) or grade, each with its share.
#[utoipa::path(get, path = "/api/v1/reports/business", tag = "reports", params(ReportQuery),
    responses((status = 200, body = BusinessStructure), (status = 400, body = super::ErrorBody)))]
pub async fn business(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<BusinessStructure>, AppError> {
    actor.require(Action::ReportRead)?;
    Ok(Json(s.store.business_structure(&actor, &q).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    pub year: i32,
}

/// New, lost (archived), upgraded and downgraded customers per quarter and for the year.
#[utoipa::path(get, path = "/api/v1/reports/customers", tag = "reports", params(YearQuery),
    responses((status = 200, body = CustomerManagement), (status = 400, body = super::ErrorBody)))]
pub async fn customers(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Json<CustomerManagement>, AppError> {
    actor.require(Action::ReportRead)?;
    Ok(Json(s.store.customer_management(&actor, q.year).await?))
}

/// Requirements of a period by category and month, by sub-category, and the topics that recur
/// in their titles.
#[utoipa::path(get, path = "/api/v1/reports/requirements", tag = "reports", params(ReportQuery),
    responses((status = 200, body = RequirementTrends), (status = 400, body = super::ErrorBody)))]
pub async fn requirements(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<RequirementTrends>, AppError> {
    actor.require(Action::ReportRead)?;
    Ok(Json(s.store.requirement_trends(&actor, &q).await?))
}
