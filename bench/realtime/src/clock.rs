//! The one clock every timestamp of a run is read from: Unix time in microseconds, advanced by
//! a monotonic source, so the difference of two readings is exact even if the wall clock is
//! adjusted mid-run. Writers, listeners and receivers all live in this process.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    base_unix_us: i64,
}

impl Clock {
    pub fn start() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Clock {
            base: Instant::now(),
            base_unix_us: i64::try_from(unix.as_micros()).unwrap_or(i64::MAX / 2),
        }
    }

    /// Now, in Unix microseconds.
    pub fn now_us(&self) -> i64 {
        self.base_unix_us + micros(self.base.elapsed())
    }

    /// The instant of a reading of [`Clock::now_us`] (for sleeping until it).
    pub fn instant_at(&self, unix_us: i64) -> Instant {
        let offset = unix_us.saturating_sub(self.base_unix_us).max(0);
        self.base + Duration::from_micros(offset as u64)
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn readings_never_go_back_and_map_to_instants() {
        let clock = Clock::start();
        let a = clock.now_us();
        let b = clock.now_us();
        assert!(b >= a);
        let at = clock.instant_at(a + 1_000_000);
        assert_eq!(at - clock.instant_at(a), std::time::Duration::from_secs(1));
    }
}
