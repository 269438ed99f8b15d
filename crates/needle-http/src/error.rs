//! API errors: `{"error":{"code","message"}}` with the status the error table gives.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use needle_core::ErrorCode;
use serde_json::json;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra fields beside `error` (the per-message results of a refused batch).
    pub details: Option<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    pub fn with(mut self, key: &'static str, value: serde_json::Value) -> ApiError {
        self.details = Some((key, value));
        self
    }
}

impl From<needle_store::StoreError> for ApiError {
    fn from(e: needle_store::StoreError) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<needle_search::IndexError> for ApiError {
    fn from(e: needle_search::IndexError) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<needle_listen::ListenError> for ApiError {
    fn from(e: needle_listen::ListenError) -> ApiError {
        let error = ApiError::new(e.code(), e.to_string());
        match e {
            needle_listen::ListenError::Query { report, .. } => {
                error.with("lint", serde_json::to_value(&report).unwrap_or_default())
            }
            _ => error,
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            format!("a background task failed: {e}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = %self.code, message = %self.message, "request failed");
        }
        let mut body = json!({"error": {"code": self.code.as_str(), "message": self.message}});
        if let Some((key, value)) = self.details {
            body[key] = value;
        }
        let mut response = (status, Json(body)).into_response();
        if self.code == ErrorCode::Unavailable {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}

/// What a handler returns.
pub(crate) type AppResult<T> = Result<T, ApiError>;
