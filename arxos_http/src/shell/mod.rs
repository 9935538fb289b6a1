//! `arxos shell`: explore a building from a terminal like a filesystem.
//!
//! The shell connects straight to PostgreSQL and calls the extension's functions. It runs
//! one-shot (`-c "ls; tree"`), reads commands from a pipe, or is interactive with a line
//! editor (completion, history in `~/.arxos_history`). It runs on a blocking thread and
//! drives its database client on the runtime it was started from.
//!
//! Exit status: 0 when every command succeeded, 1 when one failed (the others still run),
//! 2 when the shell could not start (bad arguments, no database, unknown building), or the
//! status `exit N` names. Interactive sessions exit with 0 unless `exit N` says otherwise.

mod client;
mod commands;
mod complete;
mod error;
mod find;
mod parse;
mod plain;
mod render;

use std::cell::RefCell;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Args;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};

use crate::config::DatabaseArgs;
use client::Db;
use commands::Session;
use complete::ShellHelper;
use error::ShellError;
use parse::Command;
use render::{Palette, Style};

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// A script stopped by Ctrl-C (128 + SIGINT, as a POSIX shell reports it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
/// Standard output closed before the commands ended (128 + SIGPIPE, as a POSIX shell reports
/// a program a closed pipe stopped): the rest did not run.
const EXIT_BROKEN_PIPE: u8 = 141;
/// Lines kept in the history file.
const HISTORY_SIZE: usize = 1000;

/// Flags of `arxos shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The building to start in (its key, e.g. b42). Default: the only building, when
    /// there is exactly one.
    #[arg(long, short = 'b', value_name = "KEY")]
    pub building: Option<String>,

    /// Run these commands (separated by `;` or line breaks; a line starting with `#` is a
    /// comment) and exit, instead of reading commands.
    #[arg(short = 'c', long = "command", value_name = "COMMANDS")]
    pub command: Option<String>,
}

/// Runs the shell to the end and returns its exit status; called on the process's main
/// thread, outside `runtime`'s threads (its queries wait on `runtime`).
///
/// The main thread is the one SIGINT, sent to the process by the terminal, interrupts: Ctrl-C
/// breaks the shell's own system calls, and a write blocked on a full terminal starts again
/// and finds the room Ctrl-C's flush made. Run on another thread, the write was not woken
/// (the kernel's flush of the terminal's output wakes no writer; found by CI on a terminal
/// that did not echo `^C`: the shell slept until a key was pressed).
pub fn run(args: ShellArgs, runtime: tokio::runtime::Handle) -> ExitCode {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_blocking(args, runtime))) {
        Ok(status) => ExitCode::from(status),
        Err(_) => {
            to_stderr(format_args!("error: the shell stopped unexpectedly"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run_blocking(args: ShellArgs, runtime: tokio::runtime::Handle) -> u8 {
    let db = match Db::connect(runtime, args.database, os_user()) {
        Ok(db) => db,
        Err(e) => {
            report(&ShellError::from(e));
            return EXIT_USAGE;
        }
    };
    // Every command reads the extension's schema: without it, or without the right to use
    // it, say so once, plainly.
    let schema = db.query(
        "SELECT to_regnamespace('arxos') IS NOT NULL,
                to_regnamespace('arxos') IS NULL OR has_schema_privilege('arxos', 'USAGE'),
                current_user::text",
        &[],
    );
    if let Ok(rows) = schema {
        if let Some(row) = rows.first() {
            let problem = if !row.get::<_, bool>(0) {
                Some(
                    "this database has no arxos extension: CREATE EXTENSION arxos CASCADE"
                        .to_owned(),
                )
            } else if !row.get::<_, bool>(1) {
                Some(format!(
                    "role {} may not use schema arxos: a DBA grants it USAGE on the schema, \
                     SELECT on what it should see and EXECUTE on the functions (docs/shell.md)",
                    row.get::<_, String>(2)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                report(&ShellError::Invalid(problem));
                return EXIT_USAGE;
            }
        }
    }
    let mut session = Session::new(db, Palette::stdout());
    let selected = match &args.building {
        Some(key) => session.use_building(key),
        None => session.use_only_building(),
    };
    if let Err(e) = selected {
        report_with(&e, |hint| {
            // The shell is gone by the time this is read: its own command is no way to list
            // them (found by an audit).
            if hint == "list buildings with: buildings" {
                "list buildings with: arxos shell -c buildings".to_owned()
            } else {
                hint
            }
        });
        return EXIT_USAGE;
    }
    let session = Rc::new(RefCell::new(session));
    if let Some(commands) = args.command {
        // As piped input: one line at a time, so comments and line breaks mean the same.
        run_script(&session, commands.lines().map(|l| Ok(l.to_owned())))
    } else if io::stdin().is_terminal() && io::stdout().is_terminal() {
        // (With stdout redirected, lines are read as a script's, as psql does: line editing
        // would write its prompts and control sequences into the file, and the user type
        // blind; found by a review.)
        interactive(session)
    } else {
        // Input that cannot be read (a directory, a device's error) is an error and ends the
        // script, rather than reading as its end (found by a review: `arxos shell < /etc`
        // exited 0 having run nothing).
        let mut unreadable = false;
        let lines = io::stdin().lock().split(b'\n').map_while(move |line| {
            if unreadable {
                return None;
            }
            Some(match line {
                Ok(line) => String::from_utf8(line).map_err(|_| NOT_UTF8.to_owned()),
                Err(e) => {
                    unreadable = true;
                    Err(format!(
                        "the script could not be read from standard input ({e}): it stops here"
                    ))
                }
            })
        });
        run_script(&session, lines)
    }
}

/// The OS user, recorded as the actor of any write the session makes.
fn os_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
}

/// Whether rustyline treats the terminal as one it cannot drive (`TERM` dumb, cons25 or emacs:
/// its list of unsupported terminals) and reads plain lines: no editing, completion or recall.
fn plain_terminal(term: Option<&str>) -> bool {
    term.is_some_and(|t| {
        ["dumb", "cons25", "emacs"]
            .iter()
            .any(|u| t.eq_ignore_ascii_case(u))
    })
}

/// `~/.arxos_history`; none when HOME is unset.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".arxos_history"))
}

/// Characters of an error message shown; a message that quotes a pasted megabyte is cut.
const MESSAGE_MAX: usize = 500;

fn report(err: &ShellError) {
    report_with(err, |note| note);
}

/// [`report`], each note (detail, hint) as `say` puts it.
fn report_with(err: &ShellError, say: impl Fn(String) -> String) {
    let palette = Palette::stderr();
    to_stderr(format_args!(
        "{} {}",
        palette.paint(Style::Error, "error:"),
        shown(&err.to_string())
    ));
    for (label, text) in err.notes() {
        to_stderr(format_args!(
            "{} {}",
            palette.paint(Style::Dim, label),
            shown(&say(text))
        ));
    }
}

/// A message as the terminal gets it: one line, control characters (an escape sequence in
/// a mistyped option) shown as `?`, at most [`MESSAGE_MAX`] characters.
fn shown(message: &str) -> String {
    let mut text = crate::table::printable(message);
    if let Some((cut, _)) = text.char_indices().nth(MESSAGE_MAX) {
        let rest = text[cut..].chars().count();
        text.truncate(cut);
        text.push_str(&format!("… ({rest} more characters)"));
    }
    text
}

/// Writes a line to stderr; a closed stderr (`2>&1 | head`) loses the line.
pub(crate) use crate::output::say_err as to_stderr;

/// What a line asks for next.
struct Outcome {
    failed: bool,
    exit: bool,
    /// The status `exit N` named.
    status: Option<u8>,
    /// Ctrl-C was pressed while the line ran.
    interrupted: bool,
}

/// Runs the commands of one line; output goes to stdout, errors to stderr.
/// `fresh`: Ctrl-C pressed before the line (while the prompt was shown) is forgotten, as at an
/// interactive prompt; a script keeps it, and stops.
fn run_line(session: &RefCell<Session>, line: &str, fresh: bool) -> Outcome {
    let mut outcome = Outcome {
        failed: false,
        exit: false,
        status: None,
        interrupted: false,
    };
    if line.trim_start().starts_with('#') {
        return outcome;
    }
    if fresh {
        session.borrow().db().begin_line();
    }
    run_commands(session, line, fresh, &mut outcome);
    outcome.interrupted = session.borrow().db().interrupted();
    if fresh {
        session.borrow().db().begin_line();
    }
    outcome
}

/// Runs the commands of a line until one says `exit` or Ctrl-C abandons the rest (said at
/// the prompt; a script says once that it stops: found by an audit, it said both).
fn run_commands(session: &RefCell<Session>, line: &str, interactive: bool, outcome: &mut Outcome) {
    for text in parse::split_commands(line) {
        if session.borrow().db().interrupted() {
            if interactive {
                report(&ShellError::Invalid(
                    "interrupted (Ctrl-C): the rest of the line was not run".to_owned(),
                ));
            }
            outcome.failed = true;
            break;
        }
        let command = match parse::parse_command(text) {
            Ok(Command::Exit(status)) => {
                outcome.exit = true;
                outcome.status = status;
                break;
            }
            Ok(command) => command,
            Err(e) => {
                report(&e);
                outcome.failed = true;
                continue;
            }
        };
        let result = {
            let mut session = session.borrow_mut();
            // `pwd` and `help` work without the database (a technician who lost the signal
            // can still read them); the others reopen a lost connection first.
            let reopened = match command.needs_database() {
                true => session.db().reconnect_if_closed(),
                false => Ok(()),
            };
            match reopened {
                Ok(()) => session.execute(command),
                Err(e) => Err(e.into()),
            }
        };
        match result {
            Ok(text) => {
                let written = write_output(&mut io::stdout().lock(), &text, || {
                    session.borrow().db().interrupted()
                });
                if let Ok(false) = written {
                    report(&ShellError::Invalid(
                        "interrupted (Ctrl-C): the rest of the output and of the line was not shown or run"
                            .to_owned(),
                    ));
                    outcome.failed = true;
                    break;
                }
                if let Err(e) = written {
                    // Nobody reads our output any more (a closed pipe): stop quietly, with
                    // 141 as a program SIGPIPE stopped (not 0: the commands after this one did
                    // not run, and one of them may have failed; found by a review). Any other
                    // failure (a full disk) lost output: say so, and fail. (A descriptor closed
                    // before the shell started cannot be told: Rust's start-up points it at
                    // /dev/null, as it does for every program.)
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        outcome.status = Some(EXIT_BROKEN_PIPE);
                    } else {
                        report(&ShellError::Invalid(format!(
                            "cannot write the output: {e}"
                        )));
                        outcome.failed = true;
                    }
                    outcome.exit = true;
                    break;
                }
            }
            // A script stops here, and says so next: no word of a next command (found by an
            // audit: "the next command opens a new one", then "the script stops here").
            Err(ShellError::Abandoned) if !interactive => {
                report(&ShellError::Invalid(
                    "interrupted (Ctrl-C twice): the connection was given up".to_owned(),
                ));
                outcome.failed = true;
            }
            Err(e) => {
                report(&e);
                outcome.failed = true;
            }
        }
    }
}

/// Writes a command's output to stdout a block of lines at a time, so that Ctrl-C (`stop`)
/// stops a long one (a tree of 10,000 lines over a slow link) between blocks: Ok(false) then.
fn write_output(out: &mut impl Write, text: &str, stop: impl Fn() -> bool) -> io::Result<bool> {
    const BLOCK: usize = 16 * 1024;
    let mut rest = text;
    while !rest.is_empty() {
        let cut = match rest.len() <= BLOCK {
            true => rest.len(),
            // after the last line break of the block, or the block's first line whole
            // (on bytes: the block's end may fall inside a character; a line break never does)
            false => {
                let bytes = rest.as_bytes();
                bytes[..BLOCK]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .or_else(|| bytes.iter().position(|&b| b == b'\n'))
                    .map_or(rest.len(), |i| i + 1)
            }
        };
        out.write_all(&rest.as_bytes()[..cut])?;
        out.flush()?;
        rest = &rest[cut..];
        if !rest.is_empty() && stop() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One-shot and piped commands: every line runs, even after a failure, until `exit`. Ctrl-C
/// cancels the running statement and stops the script (status 130).
/// Why a piped line is not run: its bytes are not UTF-8 (a name in Latin-1, say), and a
/// replacement character in their place would name another object (as `-c` refuses it).
const NOT_UTF8: &str =
    "this line is not UTF-8 (a name written in another encoding?): it was not run; save the script as UTF-8";

/// Runs a script's lines; a line that could not be read as text (`Err`, with why) fails
/// without running.
fn run_script(
    session: &RefCell<Session>,
    lines: impl Iterator<Item = Result<String, String>>,
) -> u8 {
    let cancelling = session.borrow_mut().db_mut().cancel_on_interrupt();
    let handled = cancelling.and_then(|()| session.borrow().db().stop_scripts_on_interrupt());
    if let Err(e) = handled {
        to_stderr(format_args!(
            "warning: Ctrl-C cannot cancel statements: {e}"
        ));
    }
    let mut status = 0;
    for (n, line) in lines.enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(why) => {
                report(&ShellError::Invalid(why));
                status = EXIT_FAILED;
                continue;
            }
        };
        // A script saved by an editor that writes a byte order mark (Windows): the mark is
        // not part of the first command.
        let line = match n {
            0 => line.strip_prefix('\u{feff}').unwrap_or(&line),
            _ => &line,
        };
        let outcome = run_line(session, line, false);
        if outcome.interrupted {
            report(&ShellError::Invalid(
                "interrupted (Ctrl-C): the script stops here".to_owned(),
            ));
            return EXIT_INTERRUPTED;
        }
        if outcome.failed {
            status = EXIT_FAILED;
        }
        if outcome.exit {
            return outcome.status.unwrap_or(status);
        }
    }
    status
}

/// Why a typed line was not run: what the terminal sent is not UTF-8.
const NOT_UTF8_TYPED: &str =
    "what was typed is not UTF-8 (a terminal set to another encoding?): the line was not run";

/// Failed reads in a row after which the session ends.
const MAX_FAILED_READS: u32 = 100;

/// A line from a plain terminal ([`plain`]), as rustyline would give it.
fn read_plain(session: &RefCell<Session>, prompt: &str) -> Result<String, ReadlineError> {
    session.borrow().db().begin_line();
    match plain::read_line(prompt, || session.borrow().db().interrupted()) {
        Ok(plain::Read::Line(bytes)) => String::from_utf8(bytes)
            .map_err(|_| ReadlineError::Io(io::ErrorKind::InvalidData.into())),
        Ok(plain::Read::Interrupted) => Err(ReadlineError::Interrupted),
        Ok(plain::Read::Eof) => Err(ReadlineError::Eof),
        Err(e) => Err(ReadlineError::Io(e)),
    }
}

fn interactive(session: Rc<RefCell<Session>>) -> u8 {
    if let Err(e) = session.borrow_mut().db_mut().cancel_on_interrupt() {
        to_stderr(format_args!(
            "warning: Ctrl-C cannot cancel statements: {e}"
        ));
    }
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(true)
        .history_ignore_space(true)
        .max_history_size(HISTORY_SIZE)
        .and_then(|c| c.history_ignore_dups(true))
        .map(|c| c.build());
    let editor = config.and_then(Editor::<ShellHelper, FileHistory>::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            report(&ShellError::Invalid(format!(
                "cannot set up the terminal: {e}"
            )));
            return EXIT_USAGE;
        }
    };
    editor.set_helper(Some(ShellHelper::new(Rc::clone(&session))));
    let history = history_file();
    if let Some(file) = &history {
        // A missing file is the first session; an unreadable one just starts afresh.
        let _ = editor.load_history(file);
    }
    let plain = plain_terminal(std::env::var("TERM").ok().as_deref());
    if plain {
        // rustyline reads plain lines there: no editing, no Tab, no recall (the history file
        // is still kept, below)
        crate::output::say(format_args!(
            "arxos shell: `help` lists the commands, `exit` leaves (no line editing or Tab completion on this terminal)."
        ));
    } else {
        crate::output::say(format_args!(
            "arxos shell: `help` lists the commands, Tab completes, `exit` leaves."
        ));
    }
    let mut status = 0;
    // Whether the history file takes what is typed: said once when it does not (found by an
    // audit: an unwritable one lost the session's lines without a word).
    let mut history_kept = true;
    // Reads that failed one after the other: a terminal that keeps failing ends the session
    // rather than spinning.
    let mut failed_reads = 0u32;
    loop {
        let prompt = session.borrow().prompt();
        let read = if plain {
            read_plain(&session, &prompt)
        } else {
            editor.readline(&prompt)
        };
        if read.is_ok() {
            failed_reads = 0;
        }
        match read {
            Ok(text) => {
                // Kept at once: a session whose terminal closes (SIGHUP) or that is killed
                // keeps what was typed; the save at the end tidies the file.
                if let (Some(file), true) = (&history, history_kept) {
                    // (added here too: on a plain terminal rustyline adds nothing itself; on
                    // others the entry is there already and a repeat is ignored)
                    let _ = editor.add_history_entry(text.as_str());
                    if let Err(e) = editor.append_history(file) {
                        history_kept = false;
                        to_stderr(format_args!(
                            "warning: cannot keep the history in {}: {e}; this session's lines are not saved",
                            file.display()
                        ));
                    }
                }
                // A paste of several lines arrives as one (bracketed paste): its lines run one
                // after the other, as piped lines do.
                let mut exit = None;
                for line in text.lines() {
                    let outcome = run_line(&session, line, true);
                    if outcome.exit {
                        exit = Some(outcome.status.unwrap_or(0));
                        break;
                    }
                }
                if let Some(code) = exit {
                    status = code;
                    break;
                }
            }
            // A plain terminal echoed `^C` after the typed text and stays on that line: the
            // next prompt starts a fresh one (found by an audit: what was typed next looked
            // glued to the abandoned line).
            Err(ReadlineError::Interrupted) => {
                if plain {
                    crate::output::say(format_args!(""));
                }
                continue;
            }
            Err(ReadlineError::Eof) => {
                if plain {
                    // (the terminal leaves the cursor after the prompt)
                    crate::output::say(format_args!(""));
                }
                break;
            }
            // A byte that is not UTF-8 (a terminal set to Latin-1, Alt sending a high byte, a
            // binary paste): that line is not run, as in a script, and the session goes on
            // (found by a review: it ended the session, with status 0).
            Err(ReadlineError::Io(e))
                if e.kind() == io::ErrorKind::InvalidData && failed_reads < MAX_FAILED_READS =>
            {
                failed_reads += 1;
                report(&ShellError::Invalid(NOT_UTF8_TYPED.to_owned()));
                continue;
            }
            Err(e) => {
                report(&ShellError::Invalid(format!(
                    "cannot read from the terminal: {e}"
                )));
                status = EXIT_FAILED;
                break;
            }
        }
    }
    if let (Some(file), true) = (&history, history_kept) {
        if let Err(e) = editor.save_history(file) {
            to_stderr(format_args!(
                "warning: cannot save the history to {}: {e}",
                file.display()
            ));
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_between_lines_whatever_the_characters() {
        // a block's end falling inside a two-byte character (found by a review: a panic)
        for text in [
            format!("{}\n{}\n", "é".repeat(20_000), "x".repeat(10)),
            format!("a{}\n", "é".repeat(20_000)),
            "é".repeat(20_000),
            (0..3000)
                .map(|i| format!("/会議室{i}\n"))
                .collect::<String>(),
        ] {
            let mut out = Vec::new();
            assert!(write_output(&mut out, &text, || false).unwrap());
            assert_eq!(out, text.as_bytes());
        }
        // stopped after the first block, at a line's end
        let text = (0..3000)
            .map(|i| format!("/会議室{i}\n"))
            .collect::<String>();
        let mut out = Vec::new();
        assert!(!write_output(&mut out, &text, || true).unwrap());
        assert!(
            out.len() < text.len() && out.ends_with(b"\n"),
            "{}",
            out.len()
        );
        assert!(std::str::from_utf8(&out).is_ok());
    }
}
