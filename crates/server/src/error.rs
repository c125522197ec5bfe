//! JSON errors: every refusal is a 4xx (or 5xx) with a body naming what is wrong.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An HTTP error with a JSON body `{"error": code, "message": …, "field"?: …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            extra: None,
        }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl From<audex_engine::EngineError> for ApiError {
    fn from(e: audex_engine::EngineError) -> Self {
        use audex_engine::EngineError as E;
        match e {
            E::UnknownAudience(a) => ApiError::not_found(format!("no audience {a:?}")),
            E::UnknownAdvertiser(a) => ApiError::not_found(format!("no advertiser {a:?}")),
            E::UnknownList(l) => ApiError::not_found(format!("no contact list {l:?}")),
            E::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
            E::Eval(ev) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_evaluable",
                ev.to_string(),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message});
        if let Some(f) = self.field {
            body["field"] = Value::String(f);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        (self.status, Json(body)).into_response()
    }
}
