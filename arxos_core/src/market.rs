//! Reward, reputation, token and badge maths of the BILT market (domain reference §4-5).
//!
//! Everything here is pure and total: no function panics, whatever its input. Token amounts
//! are rounded half away from zero to 6 decimals ([`TOKEN_DECIMALS`]), the scale of the
//! `numeric(20,6)` columns they are stored in. The rules and every decision are written up in
//! `docs/market.md`.

use std::fmt;
use std::str::FromStr;

use crate::rating::{round_half_away, Grade};

/// Decimals kept for token amounts, prices and reputation (`numeric(20,6)`).
pub const TOKEN_DECIMALS: u32 = 6;

/// Tokens paid per score point a contribution added, before scaling by the resulting grade's
/// value: impact bonus = `IMPACT_BONUS_PER_POINT × max(score_gain, 0) × grade.value()`.
pub const IMPACT_BONUS_PER_POINT: f64 = 10.0;

/// Lowest and highest reputation.
pub const REPUTATION_MIN: f64 = 0.0;
/// Highest reputation.
pub const REPUTATION_MAX: f64 = 1000.0;

/// Total token supply of a building at score 0; it grows to three times that at score 100.
pub const BASE_SUPPLY: f64 = 1_000_000.0;
/// Share of the supply in circulation; the rest is locked.
pub const CIRCULATING_SHARE: f64 = 0.7;
/// Token price of a building at grade 0z and score 0.
pub const BASE_PRICE: f64 = 0.01;

/// Errors of the market maths: names that are not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    #[error(
        "unknown contribution type {}; valid types: floor_plan_upload, bim_model_update, \
         sensor_installation, photo_documentation, object_documentation, maintenance_record, \
         quality_improvement, property_enrichment, verification_activity",
        crate::message::shown(.0)
    )]
    UnknownContributionType(String),
    #[error(
        "unknown verification status {}; valid statuses: pending, auto_verified, \
         peer_verified, expert_verified, rejected",
        crate::message::shown(.0)
    )]
    UnknownVerificationStatus(String),
    #[error(
        "unknown trust level {}; valid levels: newcomer, contributor, trusted, expert, master",
        crate::message::shown(.0)
    )]
    UnknownTrustLevel(String),
    #[error(
        "unknown badge {}; valid badges: first_contribution, ten_contributions, \
         hundred_contributions, thousand_contributions, quality_contributor, verifier, \
         building_pioneer, early_adopter, data_hero",
        crate::message::shown(.0)
    )]
    UnknownBadge(String),
}

/// Implements `as_str`, `ALL`, `Display` and `FromStr` for a fieldless enum from one table of
/// (variant, name) pairs, so that names are written once.
macro_rules! named_enum {
    ($ty:ident, $err:ident, [$(($variant:ident, $name:literal)),+ $(,)?]) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The snake_case name used in the database and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = MarketError;

            /// Parses the exact snake_case name (case-sensitive).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(MarketError::$err(s.to_string())),
                }
            }
        }
    };
}

/// What kind of work a contribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContributionType {
    FloorPlanUpload,
    BimModelUpdate,
    SensorInstallation,
    PhotoDocumentation,
    ObjectDocumentation,
    MaintenanceRecord,
    QualityImprovement,
    PropertyEnrichment,
    VerificationActivity,
}

named_enum!(
    ContributionType,
    UnknownContributionType,
    [
        (FloorPlanUpload, "floor_plan_upload"),
        (BimModelUpdate, "bim_model_update"),
        (SensorInstallation, "sensor_installation"),
        (PhotoDocumentation, "photo_documentation"),
        (ObjectDocumentation, "object_documentation"),
        (MaintenanceRecord, "maintenance_record"),
        (QualityImprovement, "quality_improvement"),
        (PropertyEnrichment, "property_enrichment"),
        (VerificationActivity, "verification_activity"),
    ]
);

impl ContributionType {
    /// Base reward in BILT tokens (reference §4).
    pub fn base_reward(self) -> f64 {
        match self {
            ContributionType::FloorPlanUpload => 100.0,
            ContributionType::BimModelUpdate => 75.0,
            ContributionType::SensorInstallation => 50.0,
            ContributionType::PhotoDocumentation => 15.0,
            ContributionType::ObjectDocumentation => 10.0,
            ContributionType::MaintenanceRecord => 8.0,
            ContributionType::QualityImprovement => 7.0,
            ContributionType::PropertyEnrichment => 5.0,
            ContributionType::VerificationActivity => 3.0,
        }
    }
}

/// Where a contribution stands in verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerificationStatus {
    Pending,
    AutoVerified,
    PeerVerified,
    ExpertVerified,
    Rejected,
}

named_enum!(
    VerificationStatus,
    UnknownVerificationStatus,
    [
        (Pending, "pending"),
        (AutoVerified, "auto_verified"),
        (PeerVerified, "peer_verified"),
        (ExpertVerified, "expert_verified"),
        (Rejected, "rejected"),
    ]
);

impl VerificationStatus {
    /// Reward multiplier: pending 0.8, auto 1.2, peer 1.5, expert 2.0, rejected 0.
    pub fn multiplier(self) -> f64 {
        match self {
            VerificationStatus::Pending => 0.8,
            VerificationStatus::AutoVerified => 1.2,
            VerificationStatus::PeerVerified => 1.5,
            VerificationStatus::ExpertVerified => 2.0,
            VerificationStatus::Rejected => 0.0,
        }
    }

    /// Reputation base points: pending 1, auto 3, peer 5, expert 10, rejected -5.
    pub fn reputation_points(self) -> f64 {
        match self {
            VerificationStatus::Pending => 1.0,
            VerificationStatus::AutoVerified => 3.0,
            VerificationStatus::PeerVerified => 5.0,
            VerificationStatus::ExpertVerified => 10.0,
            VerificationStatus::Rejected => -5.0,
        }
    }

    /// Whether the contribution counts as verified (auto, peer or expert): for V30 in the
    /// rating and for the quality_contributor badge.
    pub fn counts_as_verified(self) -> bool {
        matches!(
            self,
            VerificationStatus::AutoVerified
                | VerificationStatus::PeerVerified
                | VerificationStatus::ExpertVerified
        )
    }
}

/// A contributor's standing, derived from reputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrustLevel {
    Newcomer,
    Contributor,
    Trusted,
    Expert,
    Master,
}

named_enum!(
    TrustLevel,
    UnknownTrustLevel,
    [
        (Newcomer, "newcomer"),
        (Contributor, "contributor"),
        (Trusted, "trusted"),
        (Expert, "expert"),
        (Master, "master"),
    ]
);

impl TrustLevel {
    /// The level of a reputation: < 100 newcomer, [100, 300) contributor, [300, 600)
    /// trusted, [600, 900) expert, >= 900 master. NaN counts as 0 (newcomer).
    pub fn from_reputation(reputation: f64) -> TrustLevel {
        if reputation >= 900.0 {
            TrustLevel::Master
        } else if reputation >= 600.0 {
            TrustLevel::Expert
        } else if reputation >= 300.0 {
            TrustLevel::Trusted
        } else if reputation >= 100.0 {
            TrustLevel::Contributor
        } else {
            TrustLevel::Newcomer
        }
    }

    /// The lowest reputation of this level.
    pub fn min_reputation(self) -> f64 {
        match self {
            TrustLevel::Newcomer => 0.0,
            TrustLevel::Contributor => 100.0,
            TrustLevel::Trusted => 300.0,
            TrustLevel::Expert => 600.0,
            TrustLevel::Master => 900.0,
        }
    }

    /// Reward multiplier: 1.0, 1.2, 1.5, 2.0, 3.0.
    pub fn multiplier(self) -> f64 {
        match self {
            TrustLevel::Newcomer => 1.0,
            TrustLevel::Contributor => 1.2,
            TrustLevel::Trusted => 1.5,
            TrustLevel::Expert => 2.0,
            TrustLevel::Master => 3.0,
        }
    }
}

/// The reward of a contribution, in tokens, rounded to 6 decimals:
///
/// `base × (1 + 2·quality) × status.multiplier() × trust.multiplier() + impact bonus`, with
/// impact bonus = `IMPACT_BONUS_PER_POINT × score_gain × resulting_grade.value()`.
///
/// - `base` is normally [`ContributionType::base_reward`]; a negative or non-finite base
///   counts as 0.
/// - `quality` is clamped to `[0, 1]`; NaN counts as 0.
/// - `score_gain` (the score points the contribution added) is capped at 100; a negative or
///   non-finite gain counts as 0, so a contribution that lowered the score gets no bonus and
///   no penalty.
/// - A rejected contribution earns 0: its multiplier is 0 and it gets no impact bonus.
///
/// When a contribution's status changes, the ledger books the difference between the reward
/// under the new status and the reward already paid, as a new entry.
pub fn reward(
    base: f64,
    quality: f64,
    status: VerificationStatus,
    trust: TrustLevel,
    score_gain: f64,
    resulting_grade: Grade,
) -> f64 {
    if status == VerificationStatus::Rejected {
        return 0.0;
    }
    let base = non_negative(base);
    let quality = unit(quality);
    let gain = non_negative(score_gain).min(100.0);
    let earned = base * (1.0 + 2.0 * quality) * status.multiplier() * trust.multiplier();
    let impact = IMPACT_BONUS_PER_POINT * gain * resulting_grade.value();
    // A base near f64::MAX overflows to infinity: saturate instead (never a non-finite reward).
    let total = earned + impact;
    round_half_away(
        if total.is_finite() { total } else { f64::MAX },
        TOKEN_DECIMALS,
    )
}

/// What a peer or expert verifier is paid for verifying someone else's contribution: `base`
/// flat, rounded to 6 decimals — that is `base × (1 + 2·0) × 1 × 1` with no impact bonus.
/// Callers pass `ContributionType::VerificationActivity.base_reward()` (3 tokens); the base
/// stays a parameter so that the table of base rewards is the single source of it. A negative
/// or non-finite base counts as 0.
pub fn verifier_reward(base: f64) -> f64 {
    round_half_away(non_negative(base), TOKEN_DECIMALS)
}

/// How far a contribution moves its contributor's reputation: `status.reputation_points() ×
/// quality`, with quality clamped to `[0, 1]` (NaN counts as 0), rounded to 6 decimals.
pub fn reputation_delta(status: VerificationStatus, quality: f64) -> f64 {
    round_half_away(status.reputation_points() * unit(quality), TOKEN_DECIMALS)
}

/// Clamps a reputation to `[0, 1000]`; NaN becomes 0.
pub fn clamp_reputation(reputation: f64) -> f64 {
    if reputation.is_nan() {
        REPUTATION_MIN
    } else {
        reputation.clamp(REPUTATION_MIN, REPUTATION_MAX)
    }
}

/// A building's token figures (reference §5), each rounded to 6 decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenFigures {
    /// `1,000,000 × (1 + 2·score/100)`.
    pub supply: f64,
    /// 70% of the supply.
    pub circulating: f64,
    /// The rest of the supply: `supply − circulating`, so the two always add up.
    pub locked: f64,
    /// `0.01 × grade.value() × (1 + score/100)`.
    pub price: f64,
    /// `supply × price`, from the rounded supply and price.
    pub market_cap: f64,
}

/// The token figures of a building with this score and grade. The score is capped at 100; a
/// negative or non-finite score counts as 0. The grade is taken as given (normally
/// `Grade::from_score(score)`).
pub fn token_figures(score: f64, grade: Grade) -> TokenFigures {
    let score = non_negative(score).min(100.0);
    let supply = round_half_away(BASE_SUPPLY * (1.0 + 2.0 * score / 100.0), TOKEN_DECIMALS);
    let circulating = round_half_away(supply * CIRCULATING_SHARE, TOKEN_DECIMALS);
    let locked = round_half_away(supply - circulating, TOKEN_DECIMALS);
    let price = round_half_away(
        BASE_PRICE * grade.value() * (1.0 + score / 100.0),
        TOKEN_DECIMALS,
    );
    let market_cap = round_half_away(supply * price, TOKEN_DECIMALS);
    TokenFigures {
        supply,
        circulating,
        locked,
        price,
        market_cap,
    }
}

/// An achievement, awarded once, when its rule first holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Badge {
    FirstContribution,
    TenContributions,
    HundredContributions,
    ThousandContributions,
    QualityContributor,
    Verifier,
    BuildingPioneer,
    EarlyAdopter,
    DataHero,
}

named_enum!(
    Badge,
    UnknownBadge,
    [
        (FirstContribution, "first_contribution"),
        (TenContributions, "ten_contributions"),
        (HundredContributions, "hundred_contributions"),
        (ThousandContributions, "thousand_contributions"),
        (QualityContributor, "quality_contributor"),
        (Verifier, "verifier"),
        (BuildingPioneer, "building_pioneer"),
        (EarlyAdopter, "early_adopter"),
        (DataHero, "data_hero"),
    ]
);

impl Badge {
    /// One line saying why the badge is awarded.
    pub fn why(self) -> &'static str {
        match self {
            Badge::FirstContribution => "Made a first contribution.",
            Badge::TenContributions => "Made 10 contributions.",
            Badge::HundredContributions => "Made 100 contributions.",
            Badge::ThousandContributions => "Made 1000 contributions.",
            Badge::QualityContributor => {
                "Made more than 50 contributions, more than 95% of them verified."
            }
            Badge::Verifier => "Verified 10 contributions of others.",
            Badge::BuildingPioneer => "Was the first contributor to a building.",
            Badge::EarlyAdopter => "Was among the first 100 registered contributors.",
            Badge::DataHero => "Documented 1000 objects.",
        }
    }
}

/// What the badge rules look at, for one contributor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContributorStats {
    /// Contributions made, whatever their status.
    pub contributions: i64,
    /// Of those, how many count as verified (auto, peer or expert).
    pub verified_contributions: i64,
    /// Verifications of other contributors' work.
    pub verifications_given: i64,
    /// Objects documented.
    pub objects_documented: i64,
    /// Registration order among contributors, starting at 1; below 1 means unknown.
    pub registration_rank: i64,
    /// Whether the contributor was the first contributor to some building.
    pub pioneer: bool,
}

/// The badges whose rules hold for these stats, in the order of [`Badge::ALL`]:
///
/// - first_contribution: contributions >= 1; ten/hundred/thousand_contributions: >= 10, 100,
///   1000;
/// - quality_contributor: contributions > 50 and verified/contributions > 95% (verified is
///   clamped to `[0, contributions]`; compared in integers, so exactly 95% does not count);
/// - verifier: verifications_given >= 10;
/// - building_pioneer: pioneer;
/// - early_adopter: 1 <= registration_rank <= 100;
/// - data_hero: objects_documented >= 1000.
///
/// The caller awards those the contributor does not hold yet; a badge once awarded is kept.
pub fn earned_badges(stats: &ContributorStats) -> Vec<Badge> {
    let n = i128::from(stats.contributions.max(0));
    let verified = i128::from(stats.verified_contributions).clamp(0, n);
    let rules = [
        (Badge::FirstContribution, n >= 1),
        (Badge::TenContributions, n >= 10),
        (Badge::HundredContributions, n >= 100),
        (Badge::ThousandContributions, n >= 1000),
        (Badge::QualityContributor, n > 50 && verified * 100 > n * 95),
        (Badge::Verifier, stats.verifications_given >= 10),
        (Badge::BuildingPioneer, stats.pioneer),
        (
            Badge::EarlyAdopter,
            (1..=100).contains(&stats.registration_rank),
        ),
        (Badge::DataHero, stats.objects_documented >= 1000),
    ];
    rules
        .iter()
        .filter(|(_, holds)| *holds)
        .map(|(badge, _)| *badge)
        .collect()
}

/// `x` if it is finite and positive, else 0.
fn non_negative(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        0.0
    }
}

/// `x` clamped to `[0, 1]`; NaN becomes 0.
fn unit(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use ContributionType as C;
    use TrustLevel as T;
    use VerificationStatus as V;

    fn grade(name: &str) -> Grade {
        name.parse().expect("valid grade")
    }

    #[test]
    fn contribution_types_and_base_rewards() {
        let table = [
            (C::FloorPlanUpload, "floor_plan_upload", 100.0),
            (C::BimModelUpdate, "bim_model_update", 75.0),
            (C::SensorInstallation, "sensor_installation", 50.0),
            (C::PhotoDocumentation, "photo_documentation", 15.0),
            (C::ObjectDocumentation, "object_documentation", 10.0),
            (C::MaintenanceRecord, "maintenance_record", 8.0),
            (C::QualityImprovement, "quality_improvement", 7.0),
            (C::PropertyEnrichment, "property_enrichment", 5.0),
            (C::VerificationActivity, "verification_activity", 3.0),
        ];
        assert_eq!(C::ALL.len(), table.len());
        for (i, (ty, name, base)) in table.iter().enumerate() {
            assert_eq!(C::ALL[i], *ty);
            assert_eq!(ty.as_str(), *name);
            assert_eq!(ty.to_string(), *name);
            assert_eq!(name.parse::<C>(), Ok(*ty));
            assert_eq!(ty.base_reward(), *base);
        }
    }

    #[test]
    fn verification_statuses() {
        let table = [
            (V::Pending, "pending", 0.8, 1.0, false),
            (V::AutoVerified, "auto_verified", 1.2, 3.0, true),
            (V::PeerVerified, "peer_verified", 1.5, 5.0, true),
            (V::ExpertVerified, "expert_verified", 2.0, 10.0, true),
            (V::Rejected, "rejected", 0.0, -5.0, false),
        ];
        assert_eq!(V::ALL.len(), table.len());
        for (status, name, mult, points, verified) in table {
            assert_eq!(status.as_str(), name);
            assert_eq!(name.parse::<V>(), Ok(status));
            assert_eq!(status.multiplier(), mult);
            assert_eq!(status.reputation_points(), points);
            assert_eq!(status.counts_as_verified(), verified);
        }
    }

    #[test]
    fn trust_levels() {
        let table = [
            (T::Newcomer, "newcomer", 1.0, 0.0),
            (T::Contributor, "contributor", 1.2, 100.0),
            (T::Trusted, "trusted", 1.5, 300.0),
            (T::Expert, "expert", 2.0, 600.0),
            (T::Master, "master", 3.0, 900.0),
        ];
        assert_eq!(T::ALL.len(), table.len());
        for (level, name, mult, min) in table {
            assert_eq!(level.as_str(), name);
            assert_eq!(name.parse::<T>(), Ok(level));
            assert_eq!(level.multiplier(), mult);
            assert_eq!(level.min_reputation(), min);
            assert_eq!(T::from_reputation(min), level);
        }
    }

    #[test]
    fn trust_level_boundaries() {
        let cases = [
            (f64::NEG_INFINITY, T::Newcomer),
            (-5.0, T::Newcomer),
            (0.0, T::Newcomer),
            (99.999, T::Newcomer),
            (100.0, T::Contributor),
            (299.999, T::Contributor),
            (300.0, T::Trusted),
            (599.999, T::Trusted),
            (600.0, T::Expert),
            (899.999, T::Expert),
            (900.0, T::Master),
            (1000.0, T::Master),
            (1e12, T::Master),
            (f64::NAN, T::Newcomer),
        ];
        for (rep, level) in cases {
            assert_eq!(T::from_reputation(rep), level, "reputation {rep}");
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "floorplan".parse::<C>().unwrap_err();
        assert_eq!(
            err,
            MarketError::UnknownContributionType("floorplan".into())
        );
        let msg = err.to_string();
        assert!(msg.starts_with("unknown contribution type 'floorplan'; valid types: "));
        assert!(C::ALL.iter().all(|t| msg.contains(t.as_str())));

        let msg = "verified".parse::<V>().unwrap_err().to_string();
        assert!(msg.starts_with("unknown verification status 'verified'"));
        assert!(V::ALL.iter().all(|s| msg.contains(s.as_str())));

        let msg = "Master".parse::<T>().unwrap_err().to_string();
        assert!(msg.starts_with("unknown trust level 'Master'"));
        assert!(T::ALL.iter().all(|l| msg.contains(l.as_str())));

        let msg = "hero".parse::<Badge>().unwrap_err().to_string();
        assert!(msg.starts_with("unknown badge 'hero'"));
        assert!(Badge::ALL.iter().all(|b| msg.contains(b.as_str())));

        assert!("".parse::<C>().is_err());
        assert!(" pending".parse::<V>().is_err());
    }

    /// Rewards at quality 0.5 (factor 1 + 2·0.5 = 2), newcomer (×1), no score gain:
    /// base × 2 × status multiplier, computed by hand.
    #[test]
    fn reward_for_each_type_and_status() {
        // columns: pending (×0.8), auto (×1.2), peer (×1.5), expert (×2.0), rejected (×0)
        let table: [(C, [f64; 5]); 9] = [
            (C::FloorPlanUpload, [160.0, 240.0, 300.0, 400.0, 0.0]),
            (C::BimModelUpdate, [120.0, 180.0, 225.0, 300.0, 0.0]),
            (C::SensorInstallation, [80.0, 120.0, 150.0, 200.0, 0.0]),
            (C::PhotoDocumentation, [24.0, 36.0, 45.0, 60.0, 0.0]),
            (C::ObjectDocumentation, [16.0, 24.0, 30.0, 40.0, 0.0]),
            (C::MaintenanceRecord, [12.8, 19.2, 24.0, 32.0, 0.0]),
            (C::QualityImprovement, [11.2, 16.8, 21.0, 28.0, 0.0]),
            (C::PropertyEnrichment, [8.0, 12.0, 15.0, 20.0, 0.0]),
            (C::VerificationActivity, [4.8, 7.2, 9.0, 12.0, 0.0]),
        ];
        let statuses = [
            V::Pending,
            V::AutoVerified,
            V::PeerVerified,
            V::ExpertVerified,
            V::Rejected,
        ];
        for (ty, expected) in table {
            for (status, want) in statuses.iter().zip(expected) {
                let got = reward(ty.base_reward(), 0.5, *status, T::Newcomer, 0.0, Grade::MIN);
                assert_eq!(got, want, "{ty} {status}");
            }
        }
    }

    #[test]
    fn reward_for_each_trust_level() {
        // base 10, quality 1 (×3), peer (×1.5) = 45, times the trust multiplier.
        let table = [
            (T::Newcomer, 45.0),
            (T::Contributor, 54.0),
            (T::Trusted, 67.5),
            (T::Expert, 90.0),
            (T::Master, 135.0),
        ];
        for (level, want) in table {
            let got = reward(10.0, 1.0, V::PeerVerified, level, 0.0, grade("0z"));
            assert_eq!(got, want, "{level}");
        }
        // Quality 0: the base alone, times the multipliers: 100 × 1 × 2.0 × 3.0 = 600.
        assert_eq!(
            reward(100.0, 0.0, V::ExpertVerified, T::Master, 0.0, Grade::MIN),
            600.0
        );
    }

    #[test]
    fn reward_with_impact_bonus() {
        // 10 × (1 + 1.6) × 1.2 × 1.2 = 37.44, plus 10 × 0.25 × 4 (grade 0p) = 10 -> 47.44
        assert_eq!(
            reward(
                10.0,
                0.8,
                V::AutoVerified,
                T::Contributor,
                0.25,
                grade("0p")
            ),
            47.44
        );
        // Bonus alone: 10 × 0.5 × 2 (grade 0u) = 10, on top of 5 × 1 × 0.8 × 1 = 4.
        assert_eq!(
            reward(5.0, 0.0, V::Pending, T::Newcomer, 0.5, grade("0u")),
            14.0
        );
        // 1A is worth 32: 10 × 1.5 × 32 = 480, plus 3 × 3 × 2 × 1 = 18.
        assert_eq!(
            reward(3.0, 1.0, V::ExpertVerified, T::Newcomer, 1.5, Grade::MAX),
            498.0
        );
        // Grade 0q is worth 2^1.8 = 3.4822022531844965: 10 × 0.1 × that = 3.482202.
        assert_eq!(
            reward(0.0, 0.0, V::Pending, T::Newcomer, 0.1, grade("0q")),
            3.482202
        );
        // A negative gain earns no bonus and no penalty.
        assert_eq!(
            reward(10.0, 0.0, V::Pending, T::Newcomer, -3.0, Grade::MAX),
            8.0
        );
        // Rejected: nothing, bonus included.
        assert_eq!(
            reward(100.0, 1.0, V::Rejected, T::Master, 5.0, Grade::MAX),
            0.0
        );
    }

    #[test]
    fn reward_sanitises_its_inputs() {
        // Quality is clamped to [0, 1].
        assert_eq!(
            reward(10.0, 7.0, V::PeerVerified, T::Newcomer, 0.0, Grade::MIN),
            reward(10.0, 1.0, V::PeerVerified, T::Newcomer, 0.0, Grade::MIN)
        );
        assert_eq!(
            reward(10.0, -2.0, V::PeerVerified, T::Newcomer, 0.0, Grade::MIN),
            15.0
        );
        assert_eq!(
            reward(
                10.0,
                f64::NAN,
                V::PeerVerified,
                T::Newcomer,
                0.0,
                Grade::MIN
            ),
            15.0
        );
        // Bad base and gain count as 0; the gain is capped at 100 points.
        assert_eq!(
            reward(-10.0, 1.0, V::PeerVerified, T::Master, 0.0, Grade::MAX),
            0.0
        );
        assert_eq!(
            reward(f64::NAN, 1.0, V::PeerVerified, T::Master, 0.0, Grade::MAX),
            0.0
        );
        assert_eq!(
            reward(
                f64::INFINITY,
                1.0,
                V::PeerVerified,
                T::Master,
                0.0,
                Grade::MAX
            ),
            0.0
        );
        assert_eq!(
            reward(0.0, 1.0, V::Pending, T::Newcomer, f64::NAN, Grade::MAX),
            0.0
        );
        assert_eq!(
            reward(0.0, 1.0, V::Pending, T::Newcomer, f64::INFINITY, Grade::MAX),
            0.0
        );
        assert_eq!(
            reward(0.0, 1.0, V::Pending, T::Newcomer, 250.0, Grade::MAX),
            32_000.0
        );
        // Rounded to 6 decimals: 1 × (1 + 2/3) × 0.8 = 1.3333333... -> 1.333333
        assert_eq!(
            reward(1.0, 1.0 / 3.0, V::Pending, T::Newcomer, 0.0, Grade::MIN),
            1.333333
        );
    }

    #[test]
    fn verifier_is_paid_the_verification_base_flat() {
        assert_eq!(verifier_reward(C::VerificationActivity.base_reward()), 3.0);
        assert_eq!(verifier_reward(2.5), 2.5);
        assert_eq!(verifier_reward(1.0 / 3.0), 0.333333);
        assert_eq!(verifier_reward(-1.0), 0.0);
        assert_eq!(verifier_reward(f64::NAN), 0.0);
    }

    #[test]
    fn reputation() {
        assert_eq!(reputation_delta(V::ExpertVerified, 1.0), 10.0);
        assert_eq!(reputation_delta(V::PeerVerified, 0.5), 2.5);
        assert_eq!(reputation_delta(V::AutoVerified, 0.9), 2.7);
        assert_eq!(reputation_delta(V::Pending, 0.25), 0.25);
        assert_eq!(reputation_delta(V::Rejected, 0.8), -4.0);
        assert_eq!(reputation_delta(V::Rejected, 2.0), -5.0);
        assert_eq!(reputation_delta(V::ExpertVerified, -1.0), 0.0);
        assert_eq!(reputation_delta(V::ExpertVerified, f64::NAN), 0.0);
        assert_eq!(reputation_delta(V::AutoVerified, 1.0 / 3.0), 1.0);

        assert_eq!(clamp_reputation(-4.0), 0.0);
        assert_eq!(clamp_reputation(0.0), 0.0);
        assert_eq!(clamp_reputation(512.5), 512.5);
        assert_eq!(clamp_reputation(1000.0), 1000.0);
        assert_eq!(clamp_reputation(1000.5), 1000.0);
        assert_eq!(clamp_reputation(f64::INFINITY), 1000.0);
        assert_eq!(clamp_reputation(f64::NAN), 0.0);
    }

    #[test]
    fn token_figures_by_hand() {
        // Score 0, grade 0z.
        assert_eq!(
            token_figures(0.0, Grade::MIN),
            TokenFigures {
                supply: 1_000_000.0,
                circulating: 700_000.0,
                locked: 300_000.0,
                price: 0.01,
                market_cap: 10_000.0,
            }
        );
        // Score 50, grade 0p (value 4): price 0.01 × 4 × 1.5 = 0.06.
        assert_eq!(
            token_figures(50.0, grade("0p")),
            TokenFigures {
                supply: 2_000_000.0,
                circulating: 1_400_000.0,
                locked: 600_000.0,
                price: 0.06,
                market_cap: 120_000.0,
            }
        );
        // Score 100, grade 1A (value 32): price 0.01 × 32 × 2 = 0.64.
        assert_eq!(
            token_figures(100.0, Grade::MAX),
            TokenFigures {
                supply: 3_000_000.0,
                circulating: 2_100_000.0,
                locked: 900_000.0,
                price: 0.64,
                market_cap: 1_920_000.0,
            }
        );
        // The worked example of the rating: 47.629, 0q (value 2^1.8 = 3.48220225318...).
        // supply 1e6 × 1.95258; price 0.01 × 3.48220225318 × 1.47629 = 0.0514074...
        // cap 1952580 × 0.051407 = 100376.28006
        assert_eq!(
            token_figures(47.629, grade("0q")),
            TokenFigures {
                supply: 1_952_580.0,
                circulating: 1_366_806.0,
                locked: 585_774.0,
                price: 0.051407,
                market_cap: 100_376.280_06,
            }
        );
    }

    #[test]
    fn token_figures_clamp_the_score() {
        assert_eq!(
            token_figures(-5.0, Grade::MIN),
            token_figures(0.0, Grade::MIN)
        );
        assert_eq!(
            token_figures(f64::NAN, Grade::MIN),
            token_figures(0.0, Grade::MIN)
        );
        assert_eq!(
            token_figures(250.0, Grade::MAX),
            token_figures(100.0, Grade::MAX)
        );
        assert_eq!(
            token_figures(f64::INFINITY, Grade::MAX),
            token_figures(0.0, Grade::MAX)
        );
    }

    #[test]
    fn badge_names_and_reasons() {
        assert_eq!(Badge::ALL.len(), 9);
        for badge in Badge::ALL {
            assert_eq!(badge.as_str().parse::<Badge>(), Ok(*badge));
            assert!(!badge.why().is_empty() && !badge.why().contains('\n'));
        }
        let names: Vec<&str> = Badge::ALL.iter().map(|b| b.as_str()).collect();
        assert_eq!(
            names,
            [
                "first_contribution",
                "ten_contributions",
                "hundred_contributions",
                "thousand_contributions",
                "quality_contributor",
                "verifier",
                "building_pioneer",
                "early_adopter",
                "data_hero"
            ]
        );
    }

    fn has(stats: ContributorStats, badge: Badge) -> bool {
        earned_badges(&stats).contains(&badge)
    }

    fn contributions(n: i64) -> ContributorStats {
        ContributorStats {
            contributions: n,
            ..Default::default()
        }
    }

    #[test]
    fn contribution_count_badges() {
        assert!(earned_badges(&ContributorStats::default()).is_empty());
        assert!(!has(contributions(0), Badge::FirstContribution));
        assert!(has(contributions(1), Badge::FirstContribution));
        assert!(!has(contributions(9), Badge::TenContributions));
        assert!(has(contributions(10), Badge::TenContributions));
        assert!(!has(contributions(99), Badge::HundredContributions));
        assert!(has(contributions(100), Badge::HundredContributions));
        assert!(!has(contributions(999), Badge::ThousandContributions));
        assert!(has(contributions(1000), Badge::ThousandContributions));
        assert_eq!(
            earned_badges(&contributions(1000)),
            vec![
                Badge::FirstContribution,
                Badge::TenContributions,
                Badge::HundredContributions,
                Badge::ThousandContributions
            ]
        );
        assert!(earned_badges(&contributions(-3)).is_empty());
    }

    #[test]
    fn quality_contributor_badge() {
        let s = |n: i64, v: i64| ContributorStats {
            contributions: n,
            verified_contributions: v,
            ..Default::default()
        };
        // More than 50 contributions are needed, even all verified.
        assert!(!has(s(49, 49), Badge::QualityContributor));
        assert!(!has(s(50, 50), Badge::QualityContributor));
        assert!(has(s(51, 51), Badge::QualityContributor));
        // 51 contributions: 49 verified is 96.1%, 48 is 94.1%.
        assert!(has(s(51, 49), Badge::QualityContributor));
        assert!(!has(s(51, 48), Badge::QualityContributor));
        // Exactly 95% is not over 95%; 96% is.
        assert!(!has(s(100, 95), Badge::QualityContributor));
        assert!(has(s(100, 96), Badge::QualityContributor));
        assert!(!has(s(1000, 950), Badge::QualityContributor));
        assert!(has(s(1000, 951), Badge::QualityContributor));
        // Inconsistent stats: verified above contributions counts as all verified.
        assert!(has(s(60, 600), Badge::QualityContributor));
        assert!(!has(s(60, -1), Badge::QualityContributor));
        // No overflow on huge counts.
        assert!(has(s(i64::MAX, i64::MAX), Badge::QualityContributor));
    }

    #[test]
    fn other_badges() {
        let verifier = |n| ContributorStats {
            verifications_given: n,
            ..Default::default()
        };
        assert_eq!(earned_badges(&verifier(9)), vec![]);
        assert_eq!(earned_badges(&verifier(10)), vec![Badge::Verifier]);

        let pioneer = ContributorStats {
            pioneer: true,
            ..Default::default()
        };
        assert_eq!(earned_badges(&pioneer), vec![Badge::BuildingPioneer]);

        let rank = |r| ContributorStats {
            registration_rank: r,
            ..Default::default()
        };
        assert_eq!(earned_badges(&rank(1)), vec![Badge::EarlyAdopter]);
        assert_eq!(earned_badges(&rank(100)), vec![Badge::EarlyAdopter]);
        assert_eq!(earned_badges(&rank(101)), vec![]);
        assert_eq!(earned_badges(&rank(0)), vec![]);
        assert_eq!(earned_badges(&rank(-4)), vec![]);

        let documented = |n| ContributorStats {
            objects_documented: n,
            ..Default::default()
        };
        assert_eq!(earned_badges(&documented(999)), vec![]);
        assert_eq!(earned_badges(&documented(1000)), vec![Badge::DataHero]);

        let everything = ContributorStats {
            contributions: 1000,
            verified_contributions: 1000,
            verifications_given: 10,
            objects_documented: 1000,
            registration_rank: 1,
            pioneer: true,
        };
        assert_eq!(earned_badges(&everything), Badge::ALL.to_vec());
    }

    #[test]
    fn a_huge_base_saturates_instead_of_overflowing() {
        // Found by reward_is_finite_and_non_negative in CI.
        let r = reward(
            1.4306179474978095e308,
            0.0,
            V::ALL[1],
            T::ALL[1],
            0.0,
            Grade::MIN,
        );
        assert_eq!(r, f64::MAX);
    }

    proptest! {
        #[test]
        fn reward_is_finite_and_non_negative(
            base in any::<f64>(),
            quality in any::<f64>(),
            status in 0usize..5,
            trust in 0usize..5,
            gain in any::<f64>(),
            ordinal in 0u8..=25,
        ) {
            let grade = Grade::from_ordinal(ordinal).unwrap_or(Grade::MIN);
            let r = reward(base, quality, V::ALL[status], T::ALL[trust], gain, grade);
            prop_assert!(r.is_finite() && r >= 0.0);
            prop_assert_eq!(round_half_away(r, TOKEN_DECIMALS), r);
        }

        #[test]
        fn reward_grows_with_quality_and_trust(
            q1 in 0.0f64..=1.0, q2 in 0.0f64..=1.0, t1 in 0usize..5, t2 in 0usize..5,
        ) {
            let (qlo, qhi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            let (tlo, thi) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
            let lo = reward(50.0, qlo, V::PeerVerified, T::ALL[tlo], 0.0, Grade::MIN);
            let hi = reward(50.0, qhi, V::PeerVerified, T::ALL[thi], 0.0, Grade::MIN);
            prop_assert!(lo <= hi);
        }

        #[test]
        fn token_figures_are_consistent(score in 0.0f64..=100.0) {
            let grade = Grade::from_score(score).unwrap_or(Grade::MIN);
            let f = token_figures(score, grade);
            prop_assert_eq!(round_half_away(f.circulating + f.locked, TOKEN_DECIMALS), f.supply);
            prop_assert!(f.supply >= BASE_SUPPLY && f.supply <= 3.0 * BASE_SUPPLY);
            prop_assert!(f.price >= BASE_PRICE && f.price <= 0.64);
            prop_assert!(f.market_cap > 0.0);
        }
    }
}
