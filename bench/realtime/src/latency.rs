//! Joins what the writer sent with what receivers got: latency distributions, and whether
//! every receiver saw every write exactly once.

use crate::pace::Sent;
use crate::stats::Summary;

/// One receipt: the write's sequence number and when it arrived (Unix µs).
pub type Receipt = (usize, i64);

/// The latencies of the measured writes (sequence numbers `from_seq..`) over every receiver.
#[derive(Debug)]
pub struct Latency {
    /// Receive time − the time the write's commit returned to the writer.
    pub from_commit: Option<Summary>,
    /// Receive time − the time the write was sent.
    pub from_send: Option<Summary>,
    /// Per write, receive time of the first receiver − commit (the fan-out's head).
    pub first_receiver: Option<Summary>,
    /// Per write, last receiver − first receiver (the fan-out's spread).
    pub spread: Option<Summary>,
    pub receivers: usize,
    /// Measured writes × receivers.
    pub expected: usize,
    /// Receipts of measured writes (duplicates not counted).
    pub received: usize,
    pub duplicates: usize,
}

impl Latency {
    pub fn missing(&self) -> usize {
        self.expected - self.received
    }
}

pub fn measure(sent: &[Sent], from_seq: usize, receivers: &[Vec<Receipt>]) -> Latency {
    let from_seq = from_seq.min(sent.len());
    let measured = sent.len() - from_seq;
    let mut from_commit = Vec::with_capacity(measured * receivers.len());
    let mut from_send = Vec::with_capacity(measured * receivers.len());
    let mut first = vec![i64::MAX; measured];
    let mut last = vec![i64::MIN; measured];
    let mut received = 0;
    let mut duplicates = 0;
    for receipts in receivers {
        let mut seen = vec![false; sent.len()];
        for &(seq, at) in receipts {
            let Some(s) = sent.get(seq) else { continue };
            if std::mem::replace(&mut seen[seq], true) {
                duplicates += 1;
                continue;
            }
            if seq < from_seq {
                continue;
            }
            received += 1;
            from_commit.push(at - s.commit_us);
            from_send.push(at - s.send_us);
            let i = seq - from_seq;
            first[i] = first[i].min(at);
            last[i] = last[i].max(at);
        }
    }
    let mut heads = Vec::with_capacity(measured);
    let mut spreads = Vec::with_capacity(measured);
    for (i, s) in sent[from_seq..].iter().enumerate() {
        if first[i] != i64::MAX {
            heads.push(first[i] - s.commit_us);
            spreads.push(last[i] - first[i]);
        }
    }
    Latency {
        from_commit: Summary::of(from_commit),
        from_send: Summary::of(from_send),
        first_receiver: Summary::of(heads),
        spread: Summary::of(spreads),
        receivers: receivers.len(),
        expected: measured * receivers.len(),
        received,
        duplicates,
    }
}

#[cfg(test)]
mod tests {
    use super::measure;
    use crate::pace::Sent;

    fn sent(n: usize) -> Vec<Sent> {
        (0..n)
            .map(|i| Sent {
                send_us: i as i64 * 1000,
                commit_us: i as i64 * 1000 + 100,
            })
            .collect()
    }

    #[test]
    fn latencies_skip_warmup_and_count_losses_and_duplicates() {
        let sent = sent(4);
        let a = vec![(0, 200), (1, 1300), (2, 2500), (3, 3200), (3, 3300)];
        let b = vec![(1, 1150), (3, 3400)];
        let l = measure(&sent, 1, &[a, b]);
        assert_eq!(l.expected, 6);
        assert_eq!(l.received, 5);
        assert_eq!(l.missing(), 1);
        assert_eq!(l.duplicates, 1);
        let c = l.from_commit.unwrap();
        // from commit: a 200, 400, 100; b 50, 300 → sorted 50 100 200 300 400
        assert_eq!((c.count, c.p50_us, c.max_us), (5, 200, 400));
        assert_eq!(l.from_send.unwrap().p50_us, 300);
        // first receiver per write: 50, 400, 100; spread: 150, 0, 200
        assert_eq!(l.first_receiver.unwrap().p50_us, 100);
        assert_eq!(l.spread.unwrap().max_us, 200);
    }

    #[test]
    fn unknown_sequence_numbers_are_ignored() {
        let l = measure(&sent(2), 0, &[vec![(9, 1), (0, 150)]]);
        assert_eq!((l.received, l.expected), (1, 2));
    }
}
