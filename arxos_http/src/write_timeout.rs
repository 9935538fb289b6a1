//! A connection that takes no bytes for a while is closed. hyper's HTTP/1 server has a time
//! limit for a request's head but none for writing an answer: a client that stops reading
//! (its socket's buffers full) held its connection, the answer's memory and, for an event
//! stream, the stream's place in the hub's ring and its seat among its key's streams, for as
//! long as it liked (found by an audit and a review: a stream task that let go of a stalled
//! client freed its seat but not its socket, so one key could hold any number of sockets).
//! The limit runs only while a write waits, and starts again with every byte the client takes:
//! a slow reader that keeps reading is never cut off, an idle connection is not timed here
//! (the head timeout covers it).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `inner` with its writes limited: a write (or flush) that cannot go on for `limit` fails with
/// `TimedOut`, and hyper closes the connection.
pub struct WriteTimeout<T> {
    inner: T,
    limit: Duration,
    /// Running while a write waits; cleared by every write that goes through.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteTimeout<T> {
    pub fn new(inner: T, limit: Duration) -> WriteTimeout<T> {
        WriteTimeout {
            inner,
            limit,
            waiting: None,
        }
    }

    /// What a write that went through or waits answers: the result, the timer reset; or
    /// pending, the timer running; or `TimedOut` once it has run out.
    fn judge<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(result) => {
                self.waiting = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        crate::metrics::write_timed_out();
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client took no bytes within the write timeout",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.judge(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.judge(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.judge(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.judge(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A peer that reads nothing: the writes fill the pipe, then fail after the limit.
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_takes_nothing_is_cut_off() {
        let (near, _far) = tokio::io::duplex(1024);
        let mut conn = WriteTimeout::new(near, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let chunk = [0u8; 512];
        let error = loop {
            if let Err(e) = conn.write_all(&chunk).await {
                break e;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(30));
    }

    /// A peer that keeps reading, however slowly, is never cut off: each byte it takes starts
    /// the limit again.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_not_cut_off() {
        let (near, mut far) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut got = 0usize;
            let mut buf = [0u8; 16];
            loop {
                tokio::time::sleep(Duration::from_secs(20)).await;
                match far.read(&mut buf).await {
                    Ok(0) | Err(_) => return got,
                    Ok(n) => got += n,
                }
            }
        });
        let mut conn = WriteTimeout::new(near, Duration::from_secs(30));
        // 1 KiB through a 64-byte pipe read 16 bytes every 20 s: about 20 minutes
        conn.write_all(&[7u8; 1024]).await.expect("never cut off");
        conn.shutdown().await.expect("shut down");
        drop(conn);
        assert_eq!(reader.await.unwrap(), 1024);
    }
}
