//! A webhook receiver on a free loopback port: records every request and answers as told.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The status this receiver answered.
    pub answered: u16,
    /// When the request had been read.
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

/// How to answer.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Ok,
    /// 500 for the first n requests, then 200.
    FailFirst(usize),
    /// 503 with `Retry-After: n` for the first request, then 200.
    RetryAfter(u64),
    Gone,
    /// Waits this long before answering 200.
    Slow(Duration),
    /// 307 to this port on loopback (another receiver), every time.
    Redirect(u16),
    /// 200 with a binary body (NUL bytes in it).
    Binary,
}

#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Receiver {
    pub fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver port");
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            port,
            received: Arc::default(),
            mode: Arc::new(Mutex::new(mode)),
        };
        let shared = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn serve(&self, stream: TcpStream) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                return;
            }
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let mut reply_body = b"ok".to_vec();
            let (status, extra) = {
                let mut mode = self.mode.lock().unwrap();
                let seen = self.received.lock().unwrap().len();
                match *mode {
                    Mode::Ok => (200, String::new()),
                    Mode::FailFirst(n) if seen < n => (500, String::new()),
                    Mode::FailFirst(_) => (200, String::new()),
                    Mode::RetryAfter(s) => {
                        *mode = Mode::Ok;
                        (503, format!("Retry-After: {s}\r\n"))
                    }
                    Mode::Gone => (410, String::new()),
                    Mode::Slow(d) => {
                        drop(mode);
                        std::thread::sleep(d);
                        (200, String::new())
                    }
                    Mode::Redirect(port) => {
                        (307, format!("Location: http://127.0.0.1:{port}/moved\r\n"))
                    }
                    Mode::Binary => {
                        reply_body = b"\x00\x01bin\x00ary".to_vec();
                        (200, String::new())
                    }
                }
            };
            self.received.lock().unwrap().push(Received {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                answered: status,
                at: Instant::now(),
            });
            let mut reply = format!(
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
                reply_body.len()
            )
            .into_bytes();
            reply.extend_from_slice(&reply_body);
            if writer.write_all(&reply).is_err() {
                return;
            }
        }
    }
}
