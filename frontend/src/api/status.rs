//! How this Vigil is doing.

use vigil_shared::status::BuildInfo;

use super::{ApiResult, Method, json};

pub async fn build_info() -> ApiResult<BuildInfo> {
    json(Method::Get, "/api/v1/status/buildinfo", None).await
}
