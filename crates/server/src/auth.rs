//! Keys: the write key (collector only, Basic-auth user name or `writeKey` in the body) and the
//! admin credentials (OAuth2 client credentials → bearer token, or Basic `client_id:secret`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use audex_engine::Advertiser;
use axum::http::HeaderMap;
use base64::Engine as _;
use rand::RngCore;

use crate::AppState;
use crate::error::ApiError;

/// How long a bearer token lives, as announced in `expires_in`.
pub const TOKEN_TTL: Duration = Duration::from_secs(900);

/// How long a token stays valid past [`TOKEN_TTL`]: Criteo's SDK keeps using a token until
/// `expires_in + 15 s` and never retries on 401.
pub const TOKEN_GRACE: Duration = Duration::from_secs(60);

/// Issued tokens: token → (advertiser id, expiry).
type TokenMap = std::collections::HashMap<String, (String, Instant)>;

/// Issued bearer tokens.
#[derive(Default)]
pub struct Tokens {
    map: std::sync::Mutex<TokenMap>,
}

impl Tokens {
    /// Issues a token for an advertiser.
    pub fn issue(&self, advertiser_id: &str) -> String {
        let mut buf = [0u8; 24];
        rand::rng().fill_bytes(&mut buf);
        let token: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(mut map) = self.map.lock() {
            let now = Instant::now();
            map.retain(|_, (_, exp)| *exp > now);
            map.insert(
                token.clone(),
                (advertiser_id.to_string(), now + TOKEN_TTL + TOKEN_GRACE),
            );
        }
        token
    }

    /// The advertiser of a live token.
    pub fn check(&self, token: &str) -> Option<String> {
        let map = self.map.lock().ok()?;
        map.get(token)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(id, _)| id.clone())
    }
}

/// Decodes `Authorization: Basic …` into (user, password).
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
    Some((user.to_string(), pass.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(|t| t.trim().to_string())
}

/// The advertiser of a write key (collector endpoints).
pub fn writer(
    state: &AppState,
    headers: &HeaderMap,
    body_key: Option<&str>,
) -> Result<Arc<Advertiser>, ApiError> {
    let key = basic(headers)
        .map(|(user, _)| user)
        .or_else(|| body_key.map(str::to_owned))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "send the write key as the Basic-auth user name (or writeKey in the body)",
            )
        })?;
    state
        .engine
        .advertiser_by_write_key(&key)?
        .ok_or_else(|| ApiError::unauthorized("unknown write key"))
}

/// The advertiser of admin credentials (every non-collector endpoint).
pub fn admin(state: &AppState, headers: &HeaderMap) -> Result<Arc<Advertiser>, ApiError> {
    if let Some(token) = bearer(headers) {
        let id = state
            .tokens
            .check(&token)
            .ok_or_else(|| ApiError::unauthorized("unknown or expired bearer token"))?;
        return Ok(state.engine.advertiser(&id)?);
    }
    if let Some((id, secret)) = basic(headers) {
        return state
            .engine
            .advertiser_by_client(&id, &secret)?
            .ok_or_else(|| ApiError::unauthorized("unknown client id or wrong secret"));
    }
    Err(ApiError::unauthorized(
        "send a bearer token from POST /oauth2/token, or Basic client_id:client_secret",
    ))
}
