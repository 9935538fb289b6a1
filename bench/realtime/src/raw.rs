//! The baselines: a plain tokio-postgres client that LISTENs on a private channel and stamps
//! each notification as its connection reads it; and the floor of any consumer that takes a
//! notification only as a hint (as the issue requires of the outbox): on each notification it
//! reads the new rows of a table on the same connection and stamps them as they arrive.

use std::future::poll_fn;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::latency::Receipt;

/// What a notification means to the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The payload names the write (`<seq> <send µs>`): stamped when the notification arrives.
    Payload,
    /// A hint: the rows of `arxos_bench_rt.hinted` after the last one read are the writes,
    /// stamped when the query's answer arrives.
    ReadHinted,
}

/// A listening connection collecting receipts.
pub struct Listener {
    client: Arc<Client>,
    receipts: Arc<Mutex<Vec<Receipt>>>,
    driver: JoinHandle<Result<(), tokio_postgres::Error>>,
    reader: Option<JoinHandle<Result<(), tokio_postgres::Error>>>,
}

/// Connects and runs `LISTEN channel`.
pub async fn listen(url: &str, channel: &str, mode: Mode, clock: Clock) -> Result<Listener> {
    let config = Config::from_str(url)?;
    let (client, mut connection) = config.connect(NoTls).await?;
    let client = Arc::new(client);
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let hint = Arc::new(Notify::new());
    let driver = tokio::spawn({
        let receipts = Arc::clone(&receipts);
        let hint = Arc::clone(&hint);
        async move {
            loop {
                match poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        let at = clock.now_us();
                        match mode {
                            Mode::Payload => {
                                if let Some(seq) = payload_seq(n.payload()) {
                                    if let Ok(mut r) = receipts.lock() {
                                        r.push((seq, at));
                                    }
                                }
                            }
                            Mode::ReadHinted => hint.notify_one(),
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                }
            }
        }
    });
    let reader = (mode == Mode::ReadHinted).then(|| {
        let client = Arc::clone(&client);
        let receipts = Arc::clone(&receipts);
        tokio::spawn(async move {
            let statement = client
                .prepare("SELECT id, seq FROM arxos_bench_rt.hinted WHERE id > $1 ORDER BY id")
                .await?;
            let mut last = 0i64;
            loop {
                hint.notified().await;
                let rows = client.query(&statement, &[&last]).await?;
                let at = clock.now_us();
                if let Ok(mut r) = receipts.lock() {
                    for row in &rows {
                        let seq: i64 = row.get(1);
                        r.push((seq as usize, at));
                    }
                }
                if let Some(row) = rows.last() {
                    last = row.get(0);
                }
            }
        })
    });
    client
        .batch_execute(&format!("LISTEN {}", quote_ident(channel)))
        .await?;
    Ok(Listener {
        client,
        receipts,
        driver,
        reader,
    })
}

impl Listener {
    /// Closes the connection and hands over what arrived.
    pub async fn finish(self) -> Result<Vec<Receipt>> {
        if let Some(reader) = self.reader {
            reader.abort();
            match reader.await {
                Ok(Err(e)) => return Err(e.into()),
                Err(e) if !e.is_cancelled() => {
                    return Err(Error::Bench(format!("reader task failed: {e}")))
                }
                _ => {}
            }
        }
        drop(self.client);
        match self.driver.await {
            Ok(result) => result?,
            Err(e) => return Err(Error::Bench(format!("listener task failed: {e}"))),
        }
        let receipts = self
            .receipts
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        Ok(receipts)
    }
}

/// The sequence number at the start of a `<seq> <send µs>` payload.
fn payload_seq(payload: &str) -> Option<usize> {
    payload.split(' ').next()?.parse().ok()
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::{payload_seq, quote_ident};

    #[test]
    fn payloads_name_their_write() {
        assert_eq!(payload_seq("17 1700000000000000"), Some(17));
        assert_eq!(payload_seq(""), None);
        assert_eq!(payload_seq("x 1"), None);
    }

    #[test]
    fn channel_names_are_quoted() {
        assert_eq!(quote_ident("bench_raw"), "\"bench_raw\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
