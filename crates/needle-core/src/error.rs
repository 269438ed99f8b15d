//! Errors as a table: each kind of failure has one stable code, one HTTP status and one
//! command-line exit code, so the API, the CLI and the logs all say the same thing.

/// A stable, machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request or input could not be understood (malformed JSON, bad parameter).
    BadRequest,
    /// The caller did not prove who it is (a missing or wrong signature or token).
    Unauthorized,
    /// The caller is known but its role does not allow this here.
    Forbidden,
    /// Too many attempts (sign-ins); wait before trying again.
    TooManyRequests,
    /// A message was well-formed but broke a rule of the message shape.
    InvalidMessage,
    /// Nothing is stored under that name.
    NotFound,
    /// It exists already, or the request clashes with the current state.
    Conflict,
    /// The body or batch is larger than allowed.
    PayloadTooLarge,
    /// The body is not in a format this endpoint reads.
    UnsupportedMediaType,
    /// The server is shutting down or a dependency is down; try again later.
    Unavailable,
    /// The disk holding the data dir is full.
    StorageFull,
    /// The data dir cannot be written.
    ReadOnly,
    /// Anything else: a bug or an environment failure.
    Internal,
}

impl ErrorCode {
    /// The code as written in JSON errors and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::StorageFull => "storage_full",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status the API answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::InvalidMessage => 422,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Unavailable => 503,
            ErrorCode::StorageFull | ErrorCode::ReadOnly => 507,
            ErrorCode::Internal => 500,
        }
    }

    /// The exit code of `needle` (shared/specs/cli.md): 1 bad input, 3 environment failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden
            | ErrorCode::InvalidMessage
            | ErrorCode::NotFound
            | ErrorCode::Conflict
            | ErrorCode::PayloadTooLarge
            | ErrorCode::UnsupportedMediaType => 1,
            ErrorCode::TooManyRequests
            | ErrorCode::Unavailable
            | ErrorCode::StorageFull
            | ErrorCode::ReadOnly
            | ErrorCode::Internal => 3,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
