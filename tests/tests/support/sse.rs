//! A blocking Server-Sent Events reader over a raw TCP connection (HTTP/1.1, chunked).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Option<i64>,
    pub event: Option<String>,
    pub data: String,
}

impl Message {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("SSE data is JSON")
    }
}

pub struct SseClient {
    reader: BufReader<TcpStream>,
    pub status: u16,
    /// The `Content-Type` header's value.
    pub content_type: Option<String>,
    /// Every header, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The last `retry:` field read (milliseconds).
    pub retry: Option<u64>,
    /// The server ended the body (rather than a read timing out).
    pub ended: bool,
    /// The last event id as `EventSource` keeps it: the `id:` of the last message dispatched,
    /// with or without data (what it would send back as `Last-Event-ID`).
    pub last_event_id: Option<i64>,
    /// The `id:` of the message being read.
    pending_id: Option<i64>,
    chunked: bool,
    /// The `Content-Length` header's value (error answers have one; streams are chunked).
    content_length: Option<usize>,
    /// Bytes left in the current chunk.
    left: usize,
    buffer: Vec<u8>,
}

impl SseClient {
    /// `GET path` on `addr` (`127.0.0.1:PORT`) with extra headers; reads the status and headers.
    pub fn connect(addr: &str, path: &str, headers: &[(&str, &str)]) -> SseClient {
        let mut stream = TcpStream::connect(addr).expect("connect to the shim");
        let mut request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut chunked = false;
        let mut content_type = None;
        let mut content_length = None;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            match name.trim().to_ascii_lowercase().as_str() {
                "transfer-encoding" if value.contains("chunked") => chunked = true,
                "content-type" => content_type = Some(value.trim().to_owned()),
                "content-length" => content_length = value.trim().parse().ok(),
                _ => {}
            }
        }
        SseClient {
            reader,
            status,
            content_type,
            headers,
            retry: None,
            ended: false,
            last_event_id: None,
            pending_id: None,
            chunked,
            content_length,
            left: 0,
            buffer: Vec::new(),
        }
    }

    /// The response body (for error answers).
    pub fn body_text(&mut self) -> String {
        if let Some(length) = self.content_length.filter(|_| !self.chunked) {
            let mut body = std::mem::take(&mut self.buffer);
            let missing = length.saturating_sub(body.len());
            let mut rest = vec![0u8; missing];
            if self.reader.read_exact(&mut rest).is_ok() {
                body.extend_from_slice(&rest);
            }
            return String::from_utf8_lossy(&body).into_owned();
        }
        let mut text = String::new();
        while let Some(line) = self.line() {
            text.push_str(&line);
            text.push('\n');
            if text.len() > 10_000 {
                break;
            }
        }
        text
    }

    /// The next line, unless the deadline passes first.
    fn line_before(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        self.reader.get_ref().set_read_timeout(Some(left)).ok();
        self.line()
    }

    /// The next line, keeping [`SseClient::last_event_id`] as `EventSource` does.
    fn line(&mut self) -> Option<String> {
        let line = self.raw_line()?;
        if let Some(id) = line.strip_prefix("id:") {
            self.pending_id = id.trim().parse().ok();
        } else if line.is_empty() {
            if let Some(id) = self.pending_id.take() {
                self.last_event_id = Some(id);
            }
        }
        Some(line)
    }

    /// Reads raw body bytes (de-chunked) until a full line is available.
    fn raw_line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned();
                return Some(text);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn fill(&mut self) -> bool {
        if !self.chunked {
            let mut buf = [0u8; 8192];
            return match self.reader.read(&mut buf) {
                Ok(0) => {
                    self.ended = true;
                    false
                }
                Err(_) => false,
                Ok(n) => {
                    self.buffer.extend_from_slice(&buf[..n]);
                    true
                }
            };
        }
        if self.left == 0 {
            let mut size = String::new();
            if self
                .reader
                .read_line(&mut size)
                .ok()
                .filter(|n| *n > 0)
                .is_none()
            {
                return false;
            }
            let size = size.trim();
            if size.is_empty() {
                // The CRLF after a chunk.
                return true;
            }
            let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or(""), 16) else {
                return false;
            };
            if n == 0 {
                self.ended = true;
                return false;
            }
            self.left = n;
        }
        let mut buf = vec![0u8; self.left.min(65536)];
        match self.reader.read(&mut buf) {
            Ok(0) => {
                self.ended = true;
                false
            }
            Err(_) => false,
            Ok(n) => {
                self.left -= n;
                self.buffer.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// The next event (comments skipped, `retry:` kept in [`SseClient::retry`]); `None` when the
    /// stream ended ([`SseClient::ended`]) or `timeout` passed.
    pub fn next(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        let mut message = Message {
            id: None,
            event: None,
            data: String::new(),
        };
        let mut has_data = false;
        loop {
            let line = self.line_before(deadline)?;
            if line.is_empty() {
                if has_data {
                    return Some(message);
                }
                // A message without data (a position) fires no event.
                message.id = None;
                message.event = None;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => message.id = value.parse().ok(),
                "event" => message.event = Some(value.to_owned()),
                "retry" => self.retry = value.parse().ok(),
                "data" => {
                    if has_data {
                        message.data.push('\n');
                    }
                    message.data.push_str(value);
                    has_data = true;
                }
                _ => {}
            }
        }
    }

    /// The next comment line other than `: ready` (keep-alives), within `timeout`.
    pub fn comment(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let line = self.line_before(deadline)?;
            let text = line.trim_start_matches(':').trim();
            if line.starts_with(':') && text != "ready" {
                return Some(text.to_owned());
            }
        }
    }

    /// Waits for the stream's `: ready` comment.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.line() {
                Some(line) if line.starts_with(": ready") || line.starts_with(":ready") => {
                    // To the end of its message, which dispatches its id.
                    while self.line().is_some_and(|l| !l.is_empty()) {}
                    return;
                }
                Some(_) => {}
                None => panic!("stream ended before it was ready"),
            }
        }
        panic!("stream not ready in time");
    }

    /// `n` events, or panics naming how many came.
    pub fn take(&mut self, n: usize, timeout: Duration) -> Vec<Message> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(m) => out.push(m),
                None => panic!(
                    "got {} of {n} events before the stream ended or timed out",
                    out.len()
                ),
            }
        }
        out
    }
}
