//! Scrape targets: the Prometheus endpoints Vigil fetches.

use vigil_shared::scrape::{ScrapeTarget, ScrapeTargetList, ScrapeTargetRequest};

use super::{ApiResult, Method, call, encode, json};

pub async fn list_scrape_targets() -> ApiResult<ScrapeTargetList> {
    json(Method::Get, "/api/v1/scrape-targets", None).await
}

pub async fn create_scrape_target(request: &ScrapeTargetRequest) -> ApiResult<ScrapeTarget> {
    json(Method::Post, "/api/v1/scrape-targets", encode(request)).await
}

pub async fn update_scrape_target(
    id: i64,
    request: &ScrapeTargetRequest,
) -> ApiResult<ScrapeTarget> {
    json(
        Method::Patch,
        &format!("/api/v1/scrape-targets/{id}"),
        encode(request),
    )
    .await
}

pub async fn delete_scrape_target(id: i64) -> ApiResult<()> {
    call(
        Method::Delete,
        &format!("/api/v1/scrape-targets/{id}"),
        None,
    )
    .await
    .map(drop)
}
