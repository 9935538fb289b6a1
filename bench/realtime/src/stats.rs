//! Latency distributions: percentiles by nearest rank.

/// A distribution of latencies in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50_us: i64,
    pub p99_us: i64,
    pub max_us: i64,
    pub mean_us: f64,
}

impl Summary {
    /// `None` when there are no samples.
    pub fn of(mut samples: Vec<i64>) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let sum: i128 = samples.iter().map(|&s| i128::from(s)).sum();
        Some(Summary {
            count: samples.len(),
            p50_us: percentile(&samples, 0.50),
            p99_us: percentile(&samples, 0.99),
            max_us: samples[samples.len() - 1],
            mean_us: sum as f64 / samples.len() as f64,
        })
    }
}

/// The nearest-rank percentile `q` (0 < q <= 1) of sorted, non-empty samples.
fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: i64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn percentiles_by_nearest_rank() {
        let s = Summary::of((1..=100).rev().collect()).unwrap();
        assert_eq!((s.count, s.p50_us, s.p99_us, s.max_us), (100, 50, 99, 100));
        assert_eq!(s.mean_us, 50.5);
        let one = Summary::of(vec![7]).unwrap();
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (7, 7, 7));
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Summary::of(Vec::new()), None);
    }

    #[test]
    fn negative_samples_are_kept() {
        // A notification can reach its listener before the writer sees its commit return.
        let s = Summary::of(vec![-5, 10, 20]).unwrap();
        assert_eq!(s.p50_us, 10);
    }
}
