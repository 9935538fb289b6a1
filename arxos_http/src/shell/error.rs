//! The shell's errors. Each displays as one line; the shell prints it after `error: ` and
//! goes on. An error the database raised may carry a detail and a hint, printed after it as
//! `detail: ` and `hint: ` lines, as psql does.

use arxos_core::path::PathError;

use super::client::QueryError;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("usage: {0}")]
    Usage(String),
    #[error("unknown command {0:?}; `help` lists the commands")]
    UnknownCommand(String),
    #[error("no building selected: `buildings` lists them, `use KEY` picks one")]
    NoBuilding,
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("{0}")]
    Invalid(String),
    #[error("{}", describe_sql_error(.0))]
    Sql(#[from] tokio_postgres::Error),
    #[error("{}", one_line(&crate::error::chain(.0)))]
    Connect(#[from] DbError),
    #[error("interrupted (Ctrl-C)")]
    Interrupted,
}

impl From<QueryError> for ShellError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Sql(e) => ShellError::Sql(e),
            QueryError::Interrupted => ShellError::Interrupted,
            QueryError::Abandoned => ShellError::Invalid(QueryError::Abandoned.to_string()),
            QueryError::Connect(e) => ShellError::Connect(e),
        }
    }
}

impl ShellError {
    /// The database's detail and hint for an error it raised, each one line and labelled
    /// (`detail: …`, `hint: …`); none for other errors.
    pub fn notes(&self) -> Vec<(&'static str, String)> {
        let Some(db) = (match self {
            ShellError::Sql(e) => e.as_db_error(),
            _ => None,
        }) else {
            return Vec::new();
        };
        [("detail:", db.detail()), ("hint:", db.hint())]
            .into_iter()
            .filter_map(|(label, text)| {
                text.map(one_line)
                    .filter(|t| !t.is_empty())
                    .map(|t| (label, t))
            })
            .collect()
    }
}

/// The database's message for errors it raised; otherwise what went wrong with the
/// connection. Always one line.
fn describe_sql_error(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return one_line(db.message());
    }
    if err.is_closed() {
        return "the database connection was lost; it is reopened for the next command".to_owned();
    }
    one_line(&crate::error::chain(err))
}

/// Collapses line breaks and runs of blanks into single spaces.
/// A message on one line: its lines joined with a space, each without its indentation. Spaces
/// within a line stay as they are: `no object at /room  101` names another object than
/// `/room 101`.
pub fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    crate::table::printable(&lines.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        assert_eq!(
            one_line("no object at /room  101"),
            "no object at /room  101"
        );
        let err = ShellError::Path(arxos_core::path::resolve("/", "..").unwrap_err());
        assert!(!err.to_string().contains('\n'));
    }
}
