//! Authentication: the extractors every other area uses to know who is calling, and (`api`)
//! logging in and out, refreshing sessions and changing one's own password.

pub mod api;
pub mod attempts;
pub mod csrf;
mod extract;
pub mod limiter;
pub mod password;
pub mod session;
pub mod token;

pub use extract::{
    ACCESS_COOKIE, Admin, ApiKeyCaller, AuthUser, Caller, ClientIp, Editor, IngestAccess,
    REFRESH_COOKIE, ReadAccess, Responder,
};
