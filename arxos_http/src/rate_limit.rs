//! Rate limiting per API key (GCRA via `governor`): a quota per minute with a burst, a stricter
//! one for `/api/query`. Every limited answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a refusal is 429 RATE_LIMITED with `Retry-After`.
//!
//! A key's bucket is chosen by the key the request presents, before anyone knows whether it is
//! valid, so made-up keys would each get a fresh bucket. Failed authentications (401 answers)
//! are therefore also counted per client address: past their quota, the address is refused
//! with 429 until the quota allows another attempt, except for keys that the API accepted in
//! the last ten minutes (so that behind a shared address, a proxy's, one client guessing keys
//! does not lock out the others). IPv6 clients are counted by their /64.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::presented_key;
use crate::error::{ApiError, ErrorCode};

type Limiter =
    RateLimiter<u64, DefaultKeyedStateStore<u64>, DefaultClock, StateInformationMiddleware>;

/// One quota: `per_minute` requests a minute, up to `burst` at once.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

struct Bucket {
    limiter: Limiter,
    rate: Rate,
}

impl Bucket {
    fn new(rate: Rate) -> Bucket {
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        Bucket {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            rate,
        }
    }
}

pub struct RateLimits {
    /// Per key, for every limited route but `/api/query`; None: unlimited.
    api: Option<Bucket>,
    /// Per key, for `/api/query`; None: unlimited.
    query: Option<Bucket>,
    /// Failed authentications per client address, if limited.
    failures: Option<Bucket>,
    /// Addresses refused until the failure quota allows another attempt.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Bucket keys of presented keys the API accepted lately, and until when they count.
    /// Read-mostly: a key is written again only when half its time has run out.
    accepted: RwLock<HashMap<u64, Instant>>,
    /// Until when (seconds after `epoch`) failures were seen lately: only then are addresses
    /// checked against the blocks, so that a server nobody guesses keys at pays an atomic
    /// read for this (and a shared lock to remember accepted keys).
    watch_until: AtomicU64,
    epoch: Instant,
}

/// How long an accepted key passes a blocked address, and how long a failure keeps the
/// limiter watching.
const ACCEPTED_FOR: Duration = Duration::from_secs(600);
/// Accepted keys remembered at most; beyond that, expired ones are dropped, then all.
const MAX_ACCEPTED: usize = 10_000;

// A panic while holding one of these locks leaves a map that is still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// The client address failures are counted by: an IPv4 address (also when IPv4-mapped), or
/// an IPv6 address's /64, which one client usually holds whole.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl RateLimits {
    pub fn new(api: Option<Rate>, query: Option<Rate>, failures: Option<Rate>) -> RateLimits {
        RateLimits {
            api: api.map(Bucket::new),
            query: query.map(Bucket::new),
            failures: failures.map(Bucket::new),
            blocked: Mutex::new(HashMap::new()),
            accepted: RwLock::new(HashMap::new()),
            watch_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Forgets keys whose buckets are full again, and blocks that ended (called now and then).
    pub fn forget_idle(&self) {
        for bucket in [&self.api, &self.query, &self.failures]
            .into_iter()
            .flatten()
        {
            bucket.limiter.retain_recent();
        }
        let now = Instant::now();
        lock(&self.blocked).retain(|_, until| *until > now);
        write(&self.accepted).retain(|_, until| *until > now);
    }

    fn seconds(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    /// Whether failures were seen in the last ten minutes.
    fn watching(&self) -> bool {
        self.seconds() < self.watch_until.load(Ordering::Relaxed)
    }

    /// How long an address stays refused for this key, if it is.
    fn blocked_for(&self, ip: IpAddr, key: u64) -> Option<Duration> {
        let until = *lock(&self.blocked).get(&ip)?;
        let wait = until.checked_duration_since(Instant::now())?;
        let accepted = read(&self.accepted)
            .get(&key)
            .is_some_and(|until| *until > Instant::now());
        (!accepted).then_some(wait)
    }

    /// Remembers that the API accepted a presented key.
    fn accepted(&self, key: u64) {
        let now = Instant::now();
        let fresh = read(&self.accepted)
            .get(&key)
            .is_some_and(|until| *until > now + ACCEPTED_FOR / 2);
        if fresh {
            return;
        }
        let mut accepted = write(&self.accepted);
        if accepted.len() >= MAX_ACCEPTED {
            accepted.retain(|_, until| *until > now);
            if accepted.len() >= MAX_ACCEPTED {
                accepted.clear();
            }
        }
        accepted.insert(key, now + ACCEPTED_FOR);
    }

    /// Counts a failed authentication of an address; past the quota, blocks it. Returns the
    /// address's budget of failures as the `X-RateLimit-*` headers of its 401 say it (rate,
    /// remaining, reset): the budget a client presenting bad keys runs down, not the bucket of
    /// a key that does not exist.
    fn failed(&self, ip: IpAddr) -> Option<(Rate, u32, Duration)> {
        let failures = self.failures.as_ref()?;
        self.watch_until
            .store(self.seconds() + ACCEPTED_FOR.as_secs(), Ordering::Relaxed);
        let per_token = Duration::from_secs(60) / failures.rate.per_minute.get();
        match failures.limiter.check_key(&hash(&ip)) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Some((
                    failures.rate,
                    remaining,
                    per_token * (failures.rate.burst.get() - remaining),
                ))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                lock(&self.blocked).insert(ip, Instant::now() + wait);
                // Reset is when the budget is full again, as for the per-key limit (found by a
                // review: it said when the next attempt is allowed, which Retry-After says)
                Some((failures.rate, 0, until_full(failures.rate, wait)))
            }
        }
    }
}

fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Routes outside the limit: health, metrics, the API description.
pub(crate) fn exempt(path: &str) -> bool {
    !path.starts_with("/api/") || path.starts_with("/api/health") || path == "/api/openapi.json"
}

/// The bucket key of the API key a request presents (from the headers, else `?api_key=` as
/// the event stream accepts it), hashed; None when it presents none (those requests share
/// one bucket).
fn presented(headers: &HeaderMap, query: Option<&str>) -> Option<u64> {
    match presented_key(headers) {
        Some(key) => Some(hash(key)),
        None => query
            .into_iter()
            .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
            .find(|(name, _)| name == "api_key")
            .and_then(|(_, key)| {
                let key = key.trim();
                (!key.is_empty()).then(|| hash(key))
            }),
    }
}

/// 429 RATE_LIMITED with `Retry-After`.
fn refusal(message: &str, wait: Duration) -> Response {
    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(
        ErrorCode::RateLimited,
        format!("{message}: retry in {retry_after} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    response
}

pub async fn limit(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if exempt(path) {
        return next.run(request).await;
    }
    // (the query budget is for queries: a GET of /api/query, 405, spends the ordinary one)
    let bucket = if path == "/api/query" && request.method() == axum::http::Method::POST {
        limits.query.as_ref()
    } else {
        limits.api.as_ref()
    };
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client(c.0.ip()));
    let presented = presented(request.headers(), request.uri().query());
    let key = presented.unwrap_or(0);
    let watching = limits.failures.is_some() && limits.watching();
    if watching {
        if let Some(wait) = ip.and_then(|ip| limits.blocked_for(ip, key)) {
            let mut response = refusal("too many failed authentications from this address", wait);
            if let Some(failures) = &limits.failures {
                set_headers(
                    response.headers_mut(),
                    failures.rate,
                    0,
                    until_full(failures.rate, wait),
                );
            }
            return response;
        }
    }
    let mut quota = None;
    if let Some(bucket) = bucket {
        let per_token = Duration::from_secs(60) / bucket.rate.per_minute.get();
        match bucket.limiter.check_key(&key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                quota = Some((
                    bucket.rate,
                    remaining,
                    per_token * (bucket.rate.burst.get() - remaining),
                ));
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                // An event stream is told when to come back, as a stream (200, `retry:`):
                // EventSource gives up for good on any other status.
                let mut response =
                    if path == "/api/events" && request.method() == axum::http::Method::GET {
                        crate::realtime::sse::retry_only_after("too many requests", wait)
                    } else {
                        refusal("too many requests", wait)
                    };
                let reset = per_token * bucket.rate.burst.get();
                set_headers(response.headers_mut(), bucket.rate, 0, reset.max(wait));
                return response;
            }
        }
    }
    let mut response = next.run(request).await;
    // Only a success shows that the key is real: an unknown route answers 404 to any.
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        if let Some(budget) = ip.and_then(|ip| limits.failed(ip)) {
            quota = Some(budget);
        }
    } else if limits.failures.is_some() && status.is_success() && presented.is_some() {
        limits.accepted(key);
    }
    if let Some((rate, remaining, reset)) = quota {
        set_headers(response.headers_mut(), rate, remaining, reset);
    }
    response
}

/// How long an empty budget takes to be full again, when its next unit comes after `wait`.
fn until_full(rate: Rate, wait: Duration) -> Duration {
    let per_token = Duration::from_secs(60) / rate.per_minute.get();
    wait + per_token * (rate.burst.get() - 1)
}

fn set_headers(headers: &mut HeaderMap, rate: Rate, remaining: u32, reset: Duration) {
    headers.insert(
        "x-ratelimit-limit",
        HeaderValue::from(rate.per_minute.get()),
    );
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    let reset = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_metrics_and_docs_are_exempt() {
        assert!(exempt("/api/health/ready"));
        assert!(exempt("/metrics"));
        assert!(exempt("/docs"));
        assert!(exempt("/api/openapi.json"));
        assert!(!exempt("/api/buildings"));
        assert!(!exempt("/api/query"));
    }

    #[test]
    fn failed_authentications_block_the_address_past_their_quota() {
        // One a minute: no failure comes back while the test runs, however slowly (at one a
        // second, a loaded machine could see one come back between two steps).
        let rate = Rate {
            per_minute: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        };
        let limits = RateLimits::new(Some(rate), Some(rate), Some(rate));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(!limits.watching());
        // each 401 says what is left of the address's budget of failures
        let (said, left, _) = limits.failed(ip).expect("a budget");
        assert_eq!((said.per_minute.get(), left), (1, 1));
        assert!(limits.watching(), "a failure makes the limiter watch");
        assert_eq!(limits.failed(ip).map(|(_, left, _)| left), Some(0));
        assert!(limits.blocked_for(ip, 1).is_none(), "within the quota");
        let (_, left, reset) = limits.failed(ip).expect("a budget");
        assert_eq!(left, 0);
        let wait = limits.blocked_for(ip, 1).expect("blocked past the quota");
        assert!(wait <= Duration::from_secs(60));
        // Reset: until the budget (2 at one a minute) is full again, not the next unit
        assert!(
            reset > Duration::from_secs(60) && reset <= Duration::from_secs(120),
            "{reset:?}"
        );
        assert!(
            limits.blocked_for(other, 1).is_none(),
            "addresses are counted apart"
        );
        limits.accepted(2);
        assert!(
            limits.blocked_for(ip, 2).is_none(),
            "an accepted key passes"
        );
    }

    #[test]
    fn clients_are_ipv4_addresses_or_ipv6_64s() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
    }

    #[test]
    fn the_query_key_chooses_the_bucket_when_no_header_does() {
        let none = HeaderMap::new();
        let (a, b) = (Some(hash("arx_a")), Some(hash("arx_b")));
        assert_eq!(presented(&none, Some("types=object.*&api_key=arx_a")), a);
        assert_eq!(presented(&none, Some("api_key=%20arx_b")), b);
        assert_eq!(presented(&none, Some("api_key=")), None);
        assert_eq!(presented(&none, None), None);
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("arx_a"));
        assert_eq!(
            presented(&headers, Some("api_key=arx_b")),
            a,
            "the header wins"
        );
    }

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let rate = Rate {
            per_minute: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
        };
        let bucket = Bucket::new(rate);
        for expected in [2, 1, 0] {
            let snapshot = bucket.limiter.check_key(&1).expect("within the burst");
            assert_eq!(snapshot.remaining_burst_capacity(), expected);
        }
        assert!(bucket.limiter.check_key(&1).is_err());
        assert!(
            bucket.limiter.check_key(&2).is_ok(),
            "keys have their own buckets"
        );
    }
}
