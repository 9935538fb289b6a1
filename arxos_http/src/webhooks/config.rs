//! Flags of the webhook worker.

use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Seconds a webhook endpoint gets to answer (at most 10 minutes).
    #[arg(long, env = "ARXOS_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = parse_webhook_timeout)]
    pub webhook_timeout: Duration,

    /// Waits before each retry of a failed delivery (jittered ±10%, at least the endpoint's
    /// Retry-After); after the last one the delivery is dead-lettered. Each at most 30 days.
    #[arg(long, env = "ARXOS_WEBHOOK_RETRY_SCHEDULE", value_delimiter = ',',
          default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = parse_retry_wait)]
    pub webhook_retry_schedule: Vec<Duration>,

    /// An endpoint that fails without a single success for this long is disabled (at most
    /// 3650 days).
    #[arg(long, env = "ARXOS_WEBHOOK_DISABLE_AFTER", default_value = "5d", value_parser = parse_disable_after)]
    pub webhook_disable_after: Duration,

    /// Networks (CIDR) webhook endpoints may resolve to although they are private, loopback
    /// or link-local, e.g. `127.0.0.0/8`; an address alone is its own network (`10.0.0.7`).
    /// Default: none (such addresses are refused).
    #[arg(long, env = "ARXOS_WEBHOOK_ALLOW_NETWORKS", value_delimiter = ',', value_parser = parse_network)]
    pub webhook_allow_networks: Vec<IpNet>,

    /// Deliveries in flight at once, per shim.
    #[arg(long, env = "ARXOS_WEBHOOK_CONCURRENCY", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub webhook_concurrency: u32,

    /// Deliveries of one webhook in flight at once, over all shims (an eighth of it, at least 1,
    /// while the webhook is failing or its answers take more than a second): an endpoint that
    /// hangs holds a few slots and the other webhooks' deliveries go on.
    #[arg(long, env = "ARXOS_WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub webhook_endpoint_concurrency: u32,

    /// Do not run the delivery worker in this shim (other replicas deliver).
    #[arg(long, env = "ARXOS_NO_WEBHOOK_WORKER")]
    pub no_webhook_worker: bool,
}

/// `250ms`, `5s`, `5m`, `2h`, `5d`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: use e.g. 250ms, 5s, 5m, 2h, 5d"))?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?}: use ms, s, m, h or d"
            ))
        }
    };
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration {text:?} is too long"))
}

/// Like [`parse_duration`], refusing zero (a timeout of 0 fails every delivery at once).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("{text:?} must be longer than 0")),
        d => Ok(d),
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// `text` as a duration of at most `max` (`max_text` names it).
fn at_most(text: &str, d: Duration, max: Duration, max_text: &str) -> Result<Duration, String> {
    if d > max {
        Err(format!("{text:?} is longer than {max_text}"))
    } else {
        Ok(d)
    }
}

/// A webhook endpoint's time to answer: longer than 0, at most 10 minutes (a delivery's lease
/// in the database is twice that).
pub fn parse_webhook_timeout(text: &str) -> Result<Duration, String> {
    at_most(text, parse_positive_duration(text)?, 10 * MINUTE, "10m")
}

/// One wait of the retry schedule: at most 30 days.
pub fn parse_retry_wait(text: &str) -> Result<Duration, String> {
    at_most(text, parse_duration(text)?, 30 * DAY, "30d")
}

/// How long an endpoint may fail before it is disabled: longer than 0, at most 3650 days.
pub fn parse_disable_after(text: &str) -> Result<Duration, String> {
    at_most(text, parse_positive_duration(text)?, 3650 * DAY, "3650d")
}

/// A network in CIDR notation (`10.0.0.0/8`), or one address (`10.0.0.7`, `::1`: a /32 or
/// /128). A network written with host bits (`10.0.0.1/8`) is refused, naming the network it
/// would be: it reads as one host but would allow every address of the network.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(address) = text.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(address));
    }
    let network: IpNet = text.parse().map_err(|_| {
        format!("invalid network {text:?}: use CIDR notation (10.0.0.0/8, fd00::/8) or one address (10.0.0.7)")
    })?;
    if network.trunc() != network {
        return Err(format!(
            "{text:?} has host bits set: the network is {}; write that, or the address alone for one host",
            network.trunc()
        ));
    }
    Ok(network)
}

#[cfg(test)]
mod tests {
    use super::{
        parse_disable_after, parse_duration, parse_network, parse_positive_duration,
        parse_retry_wait, parse_webhook_timeout,
    };
    use std::time::Duration;

    #[test]
    fn networks_are_cidr_or_one_address() {
        assert_eq!(
            parse_network("127.0.0.0/8").unwrap().to_string(),
            "127.0.0.0/8"
        );
        assert_eq!(
            parse_network(" 10.0.0.7 ").unwrap().to_string(),
            "10.0.0.7/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        let host_bits = parse_network("10.0.0.1/8").unwrap_err();
        assert!(
            host_bits.contains("the network is 10.0.0.0/8"),
            "{host_bits}"
        );
        assert!(parse_network("10.0.0.0/33").unwrap_err().contains("CIDR"));
        assert!(parse_network("localhost").unwrap_err().contains("CIDR"));
    }

    #[test]
    fn webhook_durations_have_bounds_the_database_can_hold() {
        assert_eq!(parse_webhook_timeout("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_webhook_timeout("11m")
            .unwrap_err()
            .contains("longer than 10m"));
        assert!(parse_webhook_timeout("0s").is_err());
        assert_eq!(parse_retry_wait("0s"), Ok(Duration::ZERO));
        assert!(parse_retry_wait("31d").is_err());
        assert!(parse_disable_after("3650d").is_ok());
        assert!(parse_disable_after("3651d").is_err());
        assert!(parse_disable_after("99999999999d").is_err());
    }

    #[test]
    fn timeouts_are_longer_than_zero() {
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("0").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
