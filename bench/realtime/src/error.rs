//! What can stop a benchmark run.

/// A failure that ends the run; the message says which phase and why.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {}", describe_db(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("arxos serve: {0}")]
    Shim(String),
    #[error("{0}")]
    Bench(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A database error with the server's message, detail and hint when there is one.
fn describe_db(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; detail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => err.to_string(),
    }
}
