//! SSE clients of `GET /api/events`: a small Server-Sent Events parser, and a client task that
//! stamps each chunk as it is read and records which bench write each event carries
//! (`body.object.properties.seq` of `object.created`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::latency::Receipt;

/// One dispatched message.
#[derive(Debug, Default, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// Incremental parser: feed it chunks as they come; it calls back once per complete message.
/// Comments (`:` lines) are skipped; `data:` lines are joined with `\n`; CRLF is accepted.
#[derive(Debug, Default)]
pub struct Parser {
    pending: Vec<u8>,
    current: Message,
    has_data: bool,
}

impl Parser {
    pub fn feed(&mut self, chunk: &[u8], mut on_message: impl FnMut(Message)) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let mut line = &self.pending[start..start + end];
            start += end + 1;
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.is_empty() {
                let message = std::mem::take(&mut self.current);
                if std::mem::take(&mut self.has_data) {
                    on_message(message);
                }
                continue;
            }
            if line[0] == b':' {
                continue;
            }
            let text = String::from_utf8_lossy(line);
            let (field, value) = match text.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (text.as_ref(), ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "id" => self.current.id = Some(value.to_owned()),
                "event" => self.current.event = Some(value.to_owned()),
                _ => {}
            }
        }
        self.pending.drain(..start);
    }
}

/// The bench write an event carries, if any.
pub fn write_seq(data: &str) -> Option<usize> {
    #[derive(Deserialize)]
    struct EventJson {
        body: Option<Body>,
    }
    #[derive(Deserialize)]
    struct Body {
        object: Option<Object>,
    }
    #[derive(Deserialize)]
    struct Object {
        properties: Option<Properties>,
    }
    #[derive(Deserialize)]
    struct Properties {
        seq: Option<usize>,
    }
    let event: EventJson = serde_json::from_str(data).ok()?;
    event.body?.object?.properties?.seq
}

/// How a client ends: when every client has everything, or when told to stop.
pub struct Client {
    pub url: String,
    pub key: String,
    /// Writes in the run; a client that has seen them all counts itself complete.
    pub total: usize,
    pub complete: Arc<AtomicUsize>,
    pub ready: mpsc::Sender<()>,
    pub stop: watch::Receiver<bool>,
    pub clock: Clock,
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub receipts: Vec<Receipt>,
    /// Messages that were not bench writes, or whose JSON did not parse.
    pub other: usize,
}

impl Client {
    /// Streams until stopped. Tells `ready` once the stream's first bytes (the `: ready`
    /// comment) arrive.
    pub async fn run(mut self, http: reqwest::Client) -> Result<Seen> {
        let mut response = http
            .get(&self.url)
            .header("x-api-key", &self.key)
            .header("accept", "text/event-stream")
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Bench(format!(
                "GET {} answered {status}: {body}",
                self.url
            )));
        }
        let mut parser = Parser::default();
        let mut seen = Seen::default();
        let mut distinct = vec![false; self.total];
        let mut distinct_count = 0;
        let mut greeted = false;
        loop {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk?,
                _ = self.stop.changed() => break,
            };
            let Some(chunk) = chunk else {
                return Err(Error::Bench("an event stream ended early".into()));
            };
            let at = self.clock.now_us();
            if !greeted {
                greeted = true;
                let _ = self.ready.send(()).await;
            }
            parser.feed(&chunk, |message| match write_seq(&message.data) {
                Some(seq) => {
                    seen.receipts.push((seq, at));
                    if let Some(d) = distinct.get_mut(seq) {
                        if !std::mem::replace(d, true) {
                            distinct_count += 1;
                            if distinct_count == self.total {
                                self.complete.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
                None => seen.other += 1,
            });
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::{write_seq, Message, Parser};

    fn parse(chunks: &[&[u8]]) -> Vec<Message> {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, |m| out.push(m));
        }
        out
    }

    #[test]
    fn messages_split_anywhere_are_put_back_together() {
        let stream = b": ready\n\nid: 7\nevent: object.created\ndata: {\"a\":1}\n\nid: 8\ndata: x\r\ndata: y\r\n\r\n";
        let whole = parse(&[stream]);
        for cut in 0..stream.len() {
            assert_eq!(
                parse(&[&stream[..cut], &stream[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        assert_eq!(
            whole,
            vec![
                Message {
                    id: Some("7".into()),
                    event: Some("object.created".into()),
                    data: "{\"a\":1}".into()
                },
                Message {
                    id: Some("8".into()),
                    event: None,
                    data: "x\ny".into()
                },
            ]
        );
    }

    #[test]
    fn comments_and_incomplete_messages_dispatch_nothing() {
        assert!(parse(&[b": keep-alive\n\n", b"id: 3\ndata: half"]).is_empty());
    }

    #[test]
    fn the_write_comes_from_the_object_properties() {
        let data = r#"{"id": 42, "type": "object.created", "building": "rtbench",
            "body": {"object": {"path": "/sse/o_5", "properties": {"seq": 5, "t": 17}}}}"#;
        assert_eq!(write_seq(data), Some(5));
        assert_eq!(
            write_seq(r#"{"body": {"object": {"properties": {}}}}"#),
            None
        );
        assert_eq!(
            write_seq(r#"{"type": "rating.changed", "body": {"rating": "B"}}"#),
            None
        );
        assert_eq!(write_seq("not json"), None);
    }
}
