//! Rate limiting per API key (GCRA via `governor`): a quota per minute with a burst, a stricter
//! one for `/api/query`. Every limited answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a refusal is 429 RATE_LIMITED with `Retry-After`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
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
}

impl RateLimits {
    pub fn new(api: Rate, query: Rate) -> RateLimits {
        RateLimits {
            api: Bucket::new(api),
            query: Bucket::new(query),
        }
    }

    /// Forgets keys whose buckets are full again (called now and then).
    pub fn forget_idle(&self) {
        self.api.limiter.retain_recent();
        self.query.limiter.retain_recent();
    }
}

/// Routes outside the limit: health, metrics, the API description.
fn exempt(path: &str) -> bool {
    !path.starts_with("/api/") || path.starts_with("/api/health") || path == "/api/openapi.json"
}

/// The bucket key of a request: its API key, hashed (requests without one share a bucket).
fn bucket_key(headers: &HeaderMap) -> u64 {
    let mut hasher = DefaultHasher::new();
    presented_key(headers).unwrap_or("").hash(&mut hasher);
    hasher.finish()
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
    let key = bucket_key(request.headers());
    let per_token = Duration::from_secs(60) / bucket.rate.per_minute.get();
    match bucket.limiter.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let reset = per_token * (bucket.rate.burst.get() - remaining);
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), bucket.rate, remaining, reset);
            response
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = ApiError::new(
                ErrorCode::RateLimited,
                format!("too many requests: retry in {retry_after} s"),
            )
            .into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", HeaderValue::from(retry_after));
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
