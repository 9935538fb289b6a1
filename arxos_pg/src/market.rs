//! SQL face of the reward, reputation, badge and token maths (`arxos_core::market`). The
//! ledger and the contribution flow live in `sql/09_market.sql`; these functions are pure.

use arxos_core::market::{
    self, Badge, ContributionType, ContributorStats, MarketError, TrustLevel, VerificationStatus,
};
use arxos_core::rating::Grade;
use pgrx::prelude::*;

fn raise(message: String) -> ! {
    ereport!(
        PgLogLevel::ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message
    );
    unreachable!("ereport(ERROR) does not return")
}

fn parse<T: std::str::FromStr<Err = MarketError>>(name: &str) -> T {
    name.parse()
        .unwrap_or_else(|e: MarketError| raise(e.to_string()))
}

/// A number the maths takes: NaN and the infinities are refused (they would come out as 0 or a
/// clamped bound that reads like a real figure).
fn finite(what: &str, value: f64) -> f64 {
    if value.is_finite() {
        return value;
    }
    // as PostgreSQL writes them
    let shown = match value {
        v if v.is_nan() => "NaN",
        v if v > 0.0 => "Infinity",
        _ => "-Infinity",
    };
    raise(format!("{what} must be a finite number, got {shown}"))
}

fn grade_of(name: &str) -> Grade {
    name.parse()
        .unwrap_or_else(|e: arxos_core::rating::RatingError| raise(e.to_string()))
}

/// Base reward (BILT) of a contribution type; unknown types raise.
#[pg_extern(immutable, strict, parallel_safe)]
fn contribution_base_reward(contribution_type: &str) -> f64 {
    parse::<ContributionType>(contribution_type).base_reward()
}

/// The contribution types with their base rewards.
#[pg_extern(immutable, parallel_safe)]
fn contribution_types(
) -> TableIterator<'static, (name!(type, &'static str), name!(base_reward, f64))> {
    TableIterator::new(
        ContributionType::ALL
            .iter()
            .map(|t| (t.as_str(), t.base_reward())),
    )
}

/// Multiplier of a verification status (pending 0.8 … expert_verified 2.0, rejected 0).
#[pg_extern(immutable, strict, parallel_safe)]
fn verification_multiplier(status: &str) -> f64 {
    parse::<VerificationStatus>(status).multiplier()
}

/// True for auto_verified, peer_verified and expert_verified.
#[pg_extern(immutable, strict, parallel_safe)]
fn verification_counts(status: &str) -> bool {
    parse::<VerificationStatus>(status).counts_as_verified()
}

/// Trust level of a reputation (newcomer … master).
#[pg_extern(immutable, strict, parallel_safe)]
fn trust_level(reputation: f64) -> &'static str {
    TrustLevel::from_reputation(finite("reputation", reputation)).as_str()
}

/// Ordinal of a trust level, 0 (newcomer) … 4 (master), for comparisons.
#[pg_extern(immutable, strict, parallel_safe)]
fn trust_ordinal(level: &str) -> i32 {
    let level = parse::<TrustLevel>(level);
    TrustLevel::ALL
        .iter()
        .position(|l| *l == level)
        .unwrap_or(0) as i32
}

/// Multiplier of a trust level (1.0 … 3.0).
#[pg_extern(immutable, strict, parallel_safe)]
fn trust_multiplier(level: &str) -> f64 {
    parse::<TrustLevel>(level).multiplier()
}

/// Reward in BILT: base × (1 + 2·quality) × status multiplier × trust multiplier + impact bonus.
#[pg_extern(immutable, strict, parallel_safe)]
fn contribution_reward(
    contribution_type: &str,
    quality: f64,
    status: &str,
    trust: &str,
    score_gain: f64,
    resulting_grade: &str,
) -> f64 {
    market::reward(
        parse::<ContributionType>(contribution_type).base_reward(),
        finite("quality", quality),
        parse(status),
        parse(trust),
        finite("score_gain", score_gain),
        grade_of(resulting_grade),
    )
}

/// What a verifier is paid for verifying someone else's contribution.
#[pg_extern(immutable, parallel_safe)]
fn verifier_reward() -> f64 {
    market::verifier_reward(ContributionType::VerificationActivity.base_reward())
}

/// Reputation change for a contribution with this status and quality.
#[pg_extern(immutable, strict, parallel_safe)]
fn reputation_delta(status: &str, quality: f64) -> f64 {
    market::reputation_delta(parse(status), finite("quality", quality))
}

/// Reputation clamped to 0..1000.
#[pg_extern(immutable, strict, parallel_safe)]
fn clamp_reputation(reputation: f64) -> f64 {
    market::clamp_reputation(finite("reputation", reputation))
}

/// Token figures of a building with this score and grade.
#[pg_extern(immutable, strict, parallel_safe)]
fn token_figures(
    score: f64,
    grade: &str,
) -> TableIterator<
    'static,
    (
        name!(supply, f64),
        name!(circulating, f64),
        name!(locked, f64),
        name!(price, f64),
        name!(market_cap, f64),
    ),
> {
    let t = market::token_figures(finite("score", score), grade_of(grade));
    TableIterator::once((t.supply, t.circulating, t.locked, t.price, t.market_cap))
}

/// Badges whose rules hold for these counters, with why each is earned.
#[pg_extern(immutable, strict, parallel_safe)]
fn badges_earned(
    contributions: i64,
    verified_contributions: i64,
    verifications_given: i64,
    objects_documented: i64,
    registration_rank: i64,
    pioneer: bool,
) -> TableIterator<'static, (name!(badge, &'static str), name!(why, &'static str))> {
    let stats = ContributorStats {
        contributions,
        verified_contributions,
        verifications_given,
        objects_documented,
        registration_rank,
        pioneer,
    };
    TableIterator::new(
        market::earned_badges(&stats)
            .into_iter()
            .map(|b: Badge| (b.as_str(), b.why())),
    )
}
