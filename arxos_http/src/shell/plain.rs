//! Lines from a terminal rustyline cannot drive (`TERM` dumb, cons25, emacs): the prompt, then
//! a line as the terminal's own line discipline edits it. rustyline's plain reading cannot be
//! interrupted (the shell's SIGINT handler restarts the read), so a Ctrl-C at the prompt left
//! the terminal on the abandoned line, and what was typed next looked glued to it (found by a
//! review); this reader waits with `poll` and sees the press.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// What a read gave.
pub enum Read {
    /// A line, its line break removed; the bytes as typed (not necessarily UTF-8).
    Line(Vec<u8>),
    /// Ctrl-C was pressed while the prompt waited: the typed text is gone.
    Interrupted,
    /// End of input (Ctrl-D on an empty line, a closed terminal).
    Eof,
}

/// How often the wait looks at the Ctrl-C flag (a press also ends the wait itself: the signal
/// interrupts `poll`).
const TICK: Duration = Duration::from_millis(100);

/// Shows `prompt` and reads a line from standard input; `pressed` says whether Ctrl-C was
/// pressed since the prompt was shown.
pub fn read_line(prompt: &str, pressed: impl Fn() -> bool) -> io::Result<Read> {
    {
        let mut out = io::stdout().lock();
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
    }
    let stdin = io::stdin();
    let fd = stdin.as_raw_fd();
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if pressed() {
            return Ok(Read::Interrupted);
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, TICK.as_millis() as libc::c_int) };
        if outcome(ready as isize)?.is_none_or(|ready| ready == 0) {
            continue;
        }
        // Read directly (not through std's buffered stdin, which would keep bytes past the
        // line for nobody): a terminal in canonical mode hands over a line per read.
        // SAFETY: `buf` is valid for writes of its length.
        let read = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let Some(n) = outcome(read)? else {
            continue;
        };
        if n == 0 {
            return Ok(match line.is_empty() {
                true => Read::Eof,
                // (a last line ended by Ctrl-D rather than Enter)
                false => Read::Line(line),
            });
        }
        line.extend_from_slice(&buf[..n]);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Read::Line(line));
        }
    }
}

/// A system call's result: its count, `None` when a signal interrupted it (to be tried again),
/// or the error.
fn outcome(result: isize) -> io::Result<Option<usize>> {
    match usize::try_from(result) {
        Ok(n) => Ok(Some(n)),
        Err(_) => {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            }
        }
    }
}
