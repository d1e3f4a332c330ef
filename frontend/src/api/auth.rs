//! Logging in and out, the logged-in user, their password and their contact methods.

use vigil_shared::auth::{ChangePasswordRequest, LoginRequest, User};
use vigil_shared::contact::{
    ContactDelivery, ContactMethod, ContactMethodList, ContactMethodRequest,
};

use super::{
    ApiError, ApiResult, Method, call, delete_at, encode, error_of, json, refresh_session, send,
    text_of,
};

pub async fn login(request: &LoginRequest) -> ApiResult<User> {
    json(Method::Post, "/api/v1/auth/login", encode(request)).await
}

pub async fn logout() -> ApiResult<()> {
    call(Method::Post, "/api/v1/auth/logout", None)
        .await
        .map(drop)
}

/// The logged-in user, or `Ok(None)` when nobody is (without triggering the lost-session hook).
pub async fn current_user() -> ApiResult<Option<User>> {
    let mut response = send(Method::Get, "/api/v1/auth/me", None).await?;
    if response.status() == 401 {
        if !refresh_session().await {
            return Ok(None);
        }
        response = send(Method::Get, "/api/v1/auth/me", None).await?;
        if response.status() == 401 {
            return Ok(None);
        }
    }
    if !response.ok() {
        return Err(error_of(&response).await);
    }
    serde_json::from_str(&text_of(&response).await)
        .map(Some)
        .map_err(|e| ApiError::network(&e.to_string()))
}

pub async fn change_password(request: &ChangePasswordRequest) -> ApiResult<()> {
    call(Method::Post, "/api/v1/auth/password", encode(request))
        .await
        .map(drop)
}

const MY_CONTACT_METHODS: &str = "/api/v1/auth/me/contact-methods";

pub async fn my_contact_methods() -> ApiResult<ContactMethodList> {
    json(Method::Get, MY_CONTACT_METHODS, None).await
}

pub async fn add_contact_method(request: &ContactMethodRequest) -> ApiResult<ContactMethod> {
    json(Method::Post, MY_CONTACT_METHODS, encode(request)).await
}

pub async fn remove_contact_method(id: i64) -> ApiResult<()> {
    delete_at(&format!("{MY_CONTACT_METHODS}/{id}")).await
}

/// Sends a test message to one of the caller's methods now; answers how the delivery went.
pub async fn test_contact_method(id: i64) -> ApiResult<ContactDelivery> {
    json(
        Method::Post,
        &format!("{MY_CONTACT_METHODS}/{id}/test"),
        None,
    )
    .await
}
