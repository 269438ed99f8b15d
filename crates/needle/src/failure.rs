//! A command's failure: the one line a person reads, and the exit code scripts read
//! (1 bad input, 2 usage, 3 environment), from the error table in needle-core.

use needle_core::ErrorCode;

#[derive(Debug)]
pub struct Failure {
    pub exit_code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Failure {
        Failure {
            exit_code: code.exit_code(),
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Failure {
        Failure::new(ErrorCode::BadRequest, message)
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            exit_code: 2,
            message: message.into(),
        }
    }

    pub fn environment(message: impl Into<String>) -> Failure {
        Failure::new(ErrorCode::Internal, message)
    }
}

impl From<needle_store::StoreError> for Failure {
    fn from(e: needle_store::StoreError) -> Failure {
        Failure::new(e.code(), e.to_string())
    }
}

impl From<needle_search::IndexError> for Failure {
    fn from(e: needle_search::IndexError) -> Failure {
        Failure::new(e.code(), e.to_string())
    }
}

pub type CliResult<T> = Result<T, Failure>;
