//! Session tokens: short-lived HS256 JWT access tokens, and opaque refresh tokens that are
//! stored only as hashes.
//!
//! The signing key lives in the `settings` table so that every replica signs and checks with
//! the same one; it is created by whichever replica starts first.

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const SIGNING_KEY_SETTING: &str = "token_signing_key";
/// `{"alg":"HS256","typ":"JWT"}`, the only header Vigil issues or accepts.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// What an access token asserts: this user, in this login (refresh-token family), until `exp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: i64,
    /// The refresh-token family of the login this token belongs to; logging out revokes it.
    pub fam: Uuid,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is malformed")]
    Malformed,
    #[error("the session token's signature is invalid")]
    BadSignature,
    #[error("the session has expired")]
    Expired,
}

/// The key access tokens are signed with.
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        SigningKey(bytes)
    }

    /// Reads the installation's key, creating it on the first start.
    pub async fn load_or_create(pool: &PgPool) -> anyhow::Result<Self> {
        let candidate = serde_json::Value::String(URL_SAFE_NO_PAD.encode(random_bytes::<64>()));
        // Two replicas starting at once both insert; the first wins and both read it.
        sqlx::query!(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            SIGNING_KEY_SETTING,
            candidate
        )
        .execute(pool)
        .await
        .context("cannot store the token signing key")?;
        let stored = sqlx::query_scalar!(
            "SELECT value FROM settings WHERE key = $1",
            SIGNING_KEY_SETTING
        )
        .fetch_one(pool)
        .await
        .context("cannot read the token signing key")?;
        let encoded = stored
            .as_str()
            .context("the token signing key setting is not a string")?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .context("the token signing key setting is not base64")?;
        Ok(SigningKey(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signing_input = format!("{HEADER}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks the signature (in constant time) and expiry against `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if header != HEADER {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: AccessClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A new opaque token (256 random bits, URL-safe text) and the hash to store for it.
pub fn new_opaque_token(prefix: &str) -> (String, Vec<u8>) {
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256 of a high-entropy token. A slow hash is unnecessary: guessing 256 random bits is
/// hopeless however fast each guess is.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: 7,
            fam: Uuid::nil(),
            iat: 1_000,
            exp,
        }
    }

    #[test]
    fn the_header_constant_is_hs256() {
        let header = URL_SAFE_NO_PAD.decode(HEADER).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = SigningKey::from_bytes(b"secret".to_vec());
        let token = key.sign(&claims(2_000));
        assert_eq!(key.verify(&token, 1_500), Ok(claims(2_000)));
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
    }

    #[test]
    fn tokens_signed_with_another_key_or_altered_are_refused() {
        let key = SigningKey::from_bytes(b"secret".to_vec());
        let other = SigningKey::from_bytes(b"other".to_vec());
        let token = other.sign(&claims(2_000));
        assert_eq!(key.verify(&token, 1_500), Err(TokenError::BadSignature));

        let genuine = key.sign(&claims(2_000));
        let forged_payload = URL_SAFE_NO_PAD.encode(
            br#"{"sub":1,"fam":"00000000-0000-0000-0000-000000000000","iat":1000,"exp":2000}"#,
        );
        let mut parts: Vec<&str> = genuine.split('.').collect();
        parts[1] = &forged_payload;
        assert_eq!(
            key.verify(&parts.join("."), 1_500),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn other_algorithms_and_garbage_are_malformed() {
        let key = SigningKey::from_bytes(b"secret".to_vec());
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            "e30"
        );
        assert_eq!(key.verify(&none_alg, 0), Err(TokenError::Malformed));
        assert_eq!(key.verify("not a token", 0), Err(TokenError::Malformed));
        assert_eq!(key.verify("", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn opaque_tokens_are_unique_and_hash_consistently() {
        let (a, hash_a) = new_opaque_token("vgl_");
        let (b, _) = new_opaque_token("vgl_");
        assert_ne!(a, b);
        assert!(a.starts_with("vgl_") && a.len() == 4 + 43);
        assert_eq!(hash_token(&a), hash_a);
    }
}
