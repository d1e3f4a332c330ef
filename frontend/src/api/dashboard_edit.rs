//! Dashboards as editors manage them: the list, creating, saving (with the version the editor
//! started from), deleting, the saved versions and restoring one, importing a file, and the
//! home dashboards (the user's own choice, and the admin's per role and team). Reading one
//! dashboard to show it is in `dashboards`.

use vigil_shared::dashboard::{
    Dashboard, DashboardModel, DashboardSummary, DashboardVersion, HomeDashboard, HomeDashboards,
    ImportDashboard, ImportReport, OwnHomeDashboard, RestoreDashboard, SaveDashboard,
};

use super::{ApiResult, Method, call, delete_at, encode, encode_component, json, save};

/// What the dashboard list is narrowed to; empty fields narrow nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DashboardFilter {
    /// Words in the title.
    pub q: String,
    pub tag: String,
    pub folder: String,
}

impl DashboardFilter {
    fn query(&self) -> String {
        let parts: Vec<String> = [("q", &self.q), ("tag", &self.tag), ("folder", &self.folder)]
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| format!("{name}={}", encode_component(value.trim())))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// The dashboards the caller may see, narrowed by `filter`.
pub async fn list_dashboards(filter: &DashboardFilter) -> ApiResult<Vec<DashboardSummary>> {
    json(
        Method::Get,
        &format!("/api/v1/dashboards{}", filter.query()),
        None,
    )
    .await
}

/// One dashboard by id or uid, for editing.
pub async fn dashboard_for_edit(id_or_uid: &str) -> ApiResult<Dashboard> {
    json(
        Method::Get,
        &format!("/api/v1/dashboards/{}", encode_component(id_or_uid)),
        None,
    )
    .await
}

/// Creates (`id` None) or saves a dashboard; a save over a version newer than
/// `request.version` is refused with 409.
pub async fn save_dashboard(id: Option<i64>, request: &SaveDashboard) -> ApiResult<Dashboard> {
    save("/api/v1/dashboards", id, request).await
}

pub async fn delete_dashboard(id: i64) -> ApiResult<()> {
    delete_at(&format!("/api/v1/dashboards/{id}")).await
}

/// The saved versions, newest first.
pub async fn dashboard_versions(id: i64) -> ApiResult<Vec<DashboardVersion>> {
    json(
        Method::Get,
        &format!("/api/v1/dashboards/{id}/versions"),
        None,
    )
    .await
}

/// The model as it was saved in `version`.
pub async fn dashboard_version(id: i64, version: i32) -> ApiResult<DashboardModel> {
    json(
        Method::Get,
        &format!("/api/v1/dashboards/{id}/versions/{version}"),
        None,
    )
    .await
}

/// Saves the model of `version` as a new version, over `from_version` (the newest the caller
/// has seen; 409 if there is a newer one).
pub async fn restore_dashboard(id: i64, version: i32, from_version: i32) -> ApiResult<Dashboard> {
    json(
        Method::Post,
        &format!("/api/v1/dashboards/{id}/restore"),
        encode(&RestoreDashboard {
            version,
            from_version,
            message: format!("Restored version {version}"),
        }),
    )
    .await
}

/// Converts (and unless `dry_run`, saves) a dashboard in Vigil's or Grafana's JSON.
pub async fn import_dashboard(request: &ImportDashboard) -> ApiResult<ImportReport> {
    json(Method::Post, "/api/v1/dashboards/import", encode(request)).await
}

/// The home dashboards per role and per team (admins).
pub async fn home_dashboards() -> ApiResult<HomeDashboards> {
    json(Method::Get, "/api/v1/home-dashboards", None).await
}

pub async fn save_home_dashboards(request: &HomeDashboards) -> ApiResult<()> {
    call(Method::Put, "/api/v1/home-dashboards", encode(request))
        .await
        .map(drop)
}

/// The dashboard the caller lands on, and whether they chose it or follow their team or role.
pub async fn my_home_dashboard() -> ApiResult<HomeDashboard> {
    json(Method::Get, "/api/v1/home-dashboard", None).await
}

/// The caller's own home dashboard (none: follow their team's or role's).
pub async fn set_own_home_dashboard(request: &OwnHomeDashboard) -> ApiResult<()> {
    call(
        Method::Put,
        "/api/v1/account/home-dashboard",
        encode(request),
    )
    .await
    .map(drop)
}
