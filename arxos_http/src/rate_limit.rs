//! Rate limiting per API key (GCRA via `governor`): a quota per minute with a burst, a stricter
//! one for `/api/query`. Every limited answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a refusal is 429 RATE_LIMITED with `Retry-After`.
//!
//! A key's bucket is chosen by the key the request presents, before anyone knows whether it is
//! valid, so made-up keys would each get a fresh bucket. Failed authentications (401 answers)
//! are therefore also counted per client address: past their quota, the address is refused
//! with 429 until the quota allows another attempt, except for keys that the API accepted in
//! the last ten minutes (so that behind a shared address, a proxy's, one client guessing keys
//! does not lock out the others).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
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
    api: Bucket,
    query: Bucket,
    /// Failed authentications per client address, if limited.
    failures: Option<Bucket>,
    /// Addresses refused until the failure quota allows another attempt.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Bucket keys of presented keys the API accepted lately, and until when they count.
    accepted: Mutex<HashMap<u64, Instant>>,
}

/// How long an accepted key passes a blocked address.
const ACCEPTED_FOR: Duration = Duration::from_secs(600);
/// Accepted keys remembered at most; beyond that, expired ones are dropped, then all.
const MAX_ACCEPTED: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map that is still valid.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RateLimits {
    pub fn new(api: Rate, query: Rate, failures: Option<Rate>) -> RateLimits {
        RateLimits {
            api: Bucket::new(api),
            query: Bucket::new(query),
            failures: failures.map(Bucket::new),
            blocked: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets keys whose buckets are full again, and blocks that ended (called now and then).
    pub fn forget_idle(&self) {
        self.api.limiter.retain_recent();
        self.query.limiter.retain_recent();
        if let Some(failures) = &self.failures {
            failures.limiter.retain_recent();
        }
        let now = Instant::now();
        lock(&self.blocked).retain(|_, until| *until > now);
        lock(&self.accepted).retain(|_, until| *until > now);
    }

    /// How long an address stays refused for this key, if it is.
    fn blocked_for(&self, ip: IpAddr, key: u64) -> Option<Duration> {
        let until = *lock(&self.blocked).get(&ip)?;
        let wait = until.checked_duration_since(Instant::now())?;
        let accepted = lock(&self.accepted)
            .get(&key)
            .is_some_and(|until| *until > Instant::now());
        (!accepted).then_some(wait)
    }

    /// Remembers that the API accepted a presented key.
    fn accepted(&self, key: u64) {
        if self.failures.is_none() {
            return;
        }
        let now = Instant::now();
        let mut accepted = lock(&self.accepted);
        if accepted.len() >= MAX_ACCEPTED {
            accepted.retain(|_, until| *until > now);
            if accepted.len() >= MAX_ACCEPTED {
                accepted.clear();
            }
        }
        accepted.insert(key, now + ACCEPTED_FOR);
    }

    /// Counts a failed authentication of an address; past the quota, blocks it.
    fn failed(&self, ip: IpAddr) {
        let Some(failures) = &self.failures else {
            return;
        };
        if let Err(not_until) = failures.limiter.check_key(&ip_key(ip)) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            lock(&self.blocked).insert(ip, Instant::now() + wait);
        }
    }
}

fn ip_key(ip: IpAddr) -> u64 {
    let mut hasher = DefaultHasher::new();
    ip.hash(&mut hasher);
    hasher.finish()
}

/// Routes outside the limit: health, metrics, the API description.
fn exempt(path: &str) -> bool {
    !path.starts_with("/api/") || path.starts_with("/api/health") || path == "/api/openapi.json"
}

/// The API key a request presents: from the headers, else `?api_key=` (as the event stream
/// accepts it); empty when none.
fn request_key(headers: &HeaderMap, query: Option<&str>) -> String {
    match presented_key(headers) {
        Some(key) => key.to_owned(),
        None => query
            .into_iter()
            .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
            .find(|(name, _)| name == "api_key")
            .map(|(_, key)| key.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// The bucket key of a presented key, hashed; requests without one share a bucket.
fn bucket_key(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// 429 RATE_LIMITED with `Retry-After`.
fn refusal(message: String, wait: Duration) -> (Response, u64) {
    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(
        ErrorCode::RateLimited,
        format!("{message}: retry in {retry_after} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    (response, retry_after)
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
    let bucket = if path == "/api/query" {
        &limits.query
    } else {
        &limits.api
    };
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let presented = request_key(request.headers(), request.uri().query());
    let key = bucket_key(&presented);
    if let Some(wait) = ip.and_then(|ip| limits.blocked_for(ip, key)) {
        return refusal(
            "too many failed authentications from this address".into(),
            wait,
        )
        .0;
    }
    let per_token = Duration::from_secs(60) / bucket.rate.per_minute.get();
    match bucket.limiter.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let reset = per_token * (bucket.rate.burst.get() - remaining);
            let mut response = next.run(request).await;
            // Only a success shows that the key is real: an unknown route answers 404 to any.
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                if let Some(ip) = ip {
                    limits.failed(ip);
                }
            } else if status.is_success() && !presented.is_empty() {
                limits.accepted(key);
            }
            set_headers(response.headers_mut(), bucket.rate, remaining, reset);
            response
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let (mut response, _) = refusal("too many requests".into(), wait);
            let headers = response.headers_mut();
            let reset = per_token * bucket.rate.burst.get();
            set_headers(headers, bucket.rate, 0, reset.max(wait));
            response
        }
    }
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
        let rate = Rate {
            per_minute: NonZeroU32::new(60).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        };
        let limits = RateLimits::new(rate, rate, Some(rate));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        limits.failed(ip);
        limits.failed(ip);
        assert!(limits.blocked_for(ip, 1).is_none(), "within the quota");
        limits.failed(ip);
        let wait = limits.blocked_for(ip, 1).expect("blocked past the quota");
        assert!(wait <= Duration::from_secs(1));
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
    fn the_query_key_chooses_the_bucket_when_no_header_does() {
        let none = HeaderMap::new();
        assert_eq!(
            request_key(&none, Some("types=object.*&api_key=arx_a")),
            "arx_a"
        );
        assert_eq!(request_key(&none, Some("api_key=%20arx_b")), "arx_b");
        assert_eq!(request_key(&none, None), "");
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("arx_a"));
        assert_eq!(
            request_key(&headers, Some("api_key=arx_b")),
            "arx_a",
            "the header wins"
        );
    }

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let rate = Rate {
            per_minute: NonZeroU32::new(60).unwrap(),
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
