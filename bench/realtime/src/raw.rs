//! The baseline: a plain tokio-postgres client that LISTENs on a private channel and stamps
//! each notification as its connection reads it.

use std::future::poll_fn;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::latency::Receipt;

/// A listening connection collecting receipts.
pub struct Listener {
    client: Client,
    receipts: Arc<Mutex<Vec<Receipt>>>,
    driver: JoinHandle<Result<(), tokio_postgres::Error>>,
}

/// Connects and runs `LISTEN channel`. Payloads are `<seq> <send µs>`; others are ignored.
pub async fn listen(url: &str, channel: &str, clock: Clock) -> Result<Listener> {
    let config = Config::from_str(url)?;
    let (client, mut connection) = config.connect(NoTls).await?;
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let driver = tokio::spawn({
        let receipts = Arc::clone(&receipts);
        async move {
            loop {
                match poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        let at = clock.now_us();
                        if let Some(seq) = payload_seq(n.payload()) {
                            if let Ok(mut r) = receipts.lock() {
                                r.push((seq, at));
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", quote_ident(channel)))
        .await?;
    Ok(Listener {
        client,
        receipts,
        driver,
    })
}

impl Listener {
    /// Closes the connection and hands over what arrived.
    pub async fn finish(self) -> Result<Vec<Receipt>> {
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
