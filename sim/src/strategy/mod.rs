//! Exploration strategies, one per file, all behind `chooser::Chooser`: `random`, `pct:<d>`
//! (Burckhardt et al. 2010) and `replay`. `Strategy` is the printable name a seed derives.
//! Room is left for `exhaustive` (DFS over choice vectors) and a fuzz-bytes chooser: they only
//! need to implement `Chooser`.

pub mod bytes;
pub mod pct;
pub mod random;
pub mod replay;

use crate::chooser::Chooser;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use bytes::Bytes;
pub use pct::Pct;
pub use random::Random;
pub use replay::Replay;

/// A named exploring strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Strategy {
    /// Uniform random choices.
    Random,
    /// PCT with bug depth `d` (1..=15).
    Pct(u8),
}

/// The largest PCT depth a seed can carry (its top nibble).
pub const MAX_PCT_DEPTH: u8 = 15;

impl Strategy {
    /// A chooser for this strategy, seeded with `seed`, over a run of at most `step_bound`
    /// event choices (PCT places its change points in `1..=step_bound`).
    pub fn chooser(self, seed: u64, step_bound: u32) -> Box<dyn Chooser> {
        match self {
            Strategy::Random => Box::new(Random::new(seed)),
            Strategy::Pct(d) => Box::new(Pct::new(seed, d, step_bound)),
        }
    }

    /// The 4-bit code a seed carries in its top nibble: 0 random, d = pct:d.
    pub fn code(self) -> u64 {
        match self {
            Strategy::Random => 0,
            Strategy::Pct(d) => u64::from(d),
        }
    }

    /// The strategy a seed derives from its top nibble.
    pub fn from_seed(seed: u64) -> Strategy {
        match seed >> 60 {
            0 => Strategy::Random,
            d => Strategy::Pct(d as u8),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => write!(f, "random"),
            Strategy::Pct(d) => write!(f, "pct:{d}"),
        }
    }
}

/// Why a strategy name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// Neither `random` nor `pct:<d>`.
    #[error("unknown strategy '{0}' (expected random or pct:<d> with d in 1..=15)")]
    Unknown(String),
    /// `pct:<d>` with d outside 1..=15.
    #[error("bad PCT depth in '{0}' (expected pct:<d> with d in 1..=15)")]
    BadDepth(String),
}

impl FromStr for Strategy {
    type Err = StrategyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "random" {
            return Ok(Strategy::Random);
        }
        let Some(d) = s.strip_prefix("pct:") else {
            return Err(StrategyError::Unknown(s.to_string()));
        };
        match d.parse::<u8>() {
            Ok(d) if (1..=MAX_PCT_DEPTH).contains(&d) => Ok(Strategy::Pct(d)),
            _ => Err(StrategyError::BadDepth(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_rejected() {
        for s in [
            Strategy::Random,
            Strategy::Pct(1),
            Strategy::Pct(3),
            Strategy::Pct(15),
        ] {
            assert_eq!(s.to_string().parse::<Strategy>(), Ok(s));
            assert_eq!(Strategy::from_seed(s.code() << 60 | 0x1234), s);
        }
        assert!(matches!(
            "pct:0".parse::<Strategy>(),
            Err(StrategyError::BadDepth(_))
        ));
        assert!(matches!(
            "pct:16".parse::<Strategy>(),
            Err(StrategyError::BadDepth(_))
        ));
        assert!(matches!(
            "pct:x".parse::<Strategy>(),
            Err(StrategyError::BadDepth(_))
        ));
        assert!(matches!(
            "dfs".parse::<Strategy>(),
            Err(StrategyError::Unknown(_))
        ));
    }
}
