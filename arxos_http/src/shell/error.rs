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
    #[error("unknown command \"{}\"; `help` lists the commands", crate::table::printable(.0))]
    UnknownCommand(String),
    #[error("no building selected: `buildings` lists them, `use KEY` picks one")]
    NoBuilding,
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("{0}")]
    Invalid(String),
    /// An error with a note of the shell's after it (`… : the current path … no longer
    /// exists`); the database's detail and hint are the error's.
    #[error("{err}: {note}")]
    Noted { err: Box<ShellError>, note: String },
    #[error("{}", describe_sql_error(.0))]
    Sql(#[from] tokio_postgres::Error),
    #[error("{}", one_line(&crate::error::chain(.0)))]
    Connect(#[from] DbError),
    #[error("interrupted (Ctrl-C)")]
    Interrupted,
    /// Ctrl-C twice while a statement got no answer ([`QueryError::Abandoned`]).
    #[error("{}", QueryError::Abandoned)]
    Abandoned,
}

impl From<QueryError> for ShellError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Sql(e) => ShellError::Sql(e),
            QueryError::Interrupted => ShellError::Interrupted,
            QueryError::Abandoned => ShellError::Abandoned,
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
            ShellError::Noted { err, .. } => return err.notes(),
            _ => None,
        }) else {
            return Vec::new();
        };
        [
            ("detail:", db.detail()),
            ("hint:", db.hint().map(shell_hint)),
        ]
        .into_iter()
        .filter_map(|(label, text)| {
            text.map(one_line)
                // the path grammar's rule codes (`rule: root`) are for programs: the
                // message says the rule in words
                .filter(|t| !t.is_empty() && !is_rule_code(t))
                .map(|t| (label, t))
        })
        .collect()
    }
}

/// A hint as the shell says it: one that points at SQL the shell answers with a command of
/// its own names the command (found by a review: `use nope` suggested `select key, name from
/// arxos.buildings`, which the shell then refused as `find`).
fn shell_hint(hint: &str) -> &str {
    match hint {
        "list buildings with: select key, name from arxos.buildings" => {
            "list buildings with: buildings"
        }
        other => other,
    }
}

/// Whether a detail is only a machine-readable rule code (`rule: root`, `rule: segment_too_long`).
fn is_rule_code(detail: &str) -> bool {
    detail.strip_prefix("rule: ").is_some_and(|code| {
        !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// The SQLSTATEs of a server that ends the session (a shutdown, fast or immediate, a crash
/// restart, a server starting or stopping): the connection is gone as surely as a closed one.
const SESSION_ENDED: [&str; 3] = ["57P01", "57P02", "57P03"];

/// The database's message for errors it raised; otherwise what went wrong with the
/// connection. Always one line.
fn describe_sql_error(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        if SESSION_ENDED.contains(&db.code().code()) {
            return format!(
                "the database connection was lost ({}); it is reopened for the next command",
                one_line(db.message())
            );
        }
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

    #[test]
    fn unknown_commands_pass_the_terminal_filter() {
        let err = ShellError::UnknownCommand("\0ls\u{1b}]0;t\u{7}x".to_owned());
        assert_eq!(
            err.to_string(),
            "unknown command \"?ls?]0;t?x\"; `help` lists the commands"
        );
    }

    #[test]
    fn rule_codes_are_not_notes() {
        assert!(is_rule_code("rule: root"));
        assert!(is_rule_code("rule: segment_too_long"));
        assert!(!is_rule_code("rule: "));
        assert!(!is_rule_code("rule: the root cannot be moved"));
        assert!(!is_rule_code("3 paths of the batch name no object"));
    }
}
