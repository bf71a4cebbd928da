//! Seed strings: the printable, versioned handle of one run,
//! `fc1:<scenario>:<seed hex>[:<c0.c1...>]`.
//!
//! The seed (a `u64`) derives everything: its top nibble names the strategy (0 random, d =
//! pct:d), the rest seeds the strategy's ChaCha8 RNG. With a choice list the run is a pure
//! replay of those picks (0 once the list runs out), which is what shrunk failures print.
//! The scenario part is the scenario's `key()`: its name, `@<SPDK profile>`, plus `+<bug>` for
//! each catalogue switch turned on (`seed-3302@v24.01+spdk-3302`), so a seed string is
//! self-contained. Seed strings from before profiles (no `@`) still parse and run the
//! scenario's own profile.
//! Parsing is strict: every malformed part is a typed error naming what is wrong.

use crate::strategy::Strategy;
use std::fmt;
use std::str::FromStr;

/// The seed string version tag.
pub const VERSION: &str = "fc1";

/// A parsed seed string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeedString {
    pub scenario: String,
    pub seed: u64,
    /// `Some` = replay these picks instead of exploring with the seed's strategy.
    pub choices: Option<Vec<u32>>,
}

/// What is wrong with a seed string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("malformed seed string '{0}': expected fc1:<scenario>:<seed hex>[:<c0.c1...>]")]
    Shape(String),
    #[error("unsupported seed string version '{0}' (this fabcheck reads fc1)")]
    Version(String),
    #[error("bad scenario '{0}' in seed string: expected <name>[@<profile>][+<bug>...] of letters, digits, '-', '_', '.'")]
    Scenario(String),
    #[error("bad seed '{0}' in seed string: expected 1 to 16 lowercase hex digits")]
    Seed(String),
    #[error("bad choice list '{0}' in seed string: expected decimal numbers joined by '.'")]
    Choices(String),
}

impl SeedString {
    pub fn new(scenario: &str, seed: u64) -> Self {
        SeedString {
            scenario: scenario.to_string(),
            seed,
            choices: None,
        }
    }

    /// The same run pinned to an explicit choice list.
    pub fn with_choices(&self, choices: Vec<u32>) -> Self {
        SeedString {
            choices: Some(choices),
            ..self.clone()
        }
    }

    /// The strategy the seed derives (used when there is no choice list).
    pub fn strategy(&self) -> Strategy {
        Strategy::from_seed(self.seed)
    }
}

impl fmt::Display for SeedString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}:{}:{:016x}", self.scenario, self.seed)?;
        if let Some(choices) = &self.choices {
            let list: Vec<String> = choices.iter().map(u32::to_string).collect();
            write!(f, ":{}", list.join("."))?;
        }
        Ok(())
    }
}

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `<name>[@<profile>][+<bug>...]`.
fn valid_name(s: &str) -> bool {
    let mut parts = s.split('+');
    let head = parts.next().unwrap_or_default();
    let head_ok = match head.split_once('@') {
        Some((name, profile)) => valid_part(name) && valid_part(profile),
        None => valid_part(head),
    };
    head_ok && parts.all(valid_part)
}

fn parse_seed(s: &str) -> Result<u64, SeedError> {
    let ok = (1..=16).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !ok {
        return Err(SeedError::Seed(s.to_string()));
    }
    u64::from_str_radix(s, 16).map_err(|_| SeedError::Seed(s.to_string()))
}

fn parse_choices(s: &str) -> Result<Vec<u32>, SeedError> {
    let bad = || SeedError::Choices(s.to_string());
    s.split('.')
        .map(|c| {
            if c.is_empty() || !c.chars().all(|d| d.is_ascii_digit()) {
                return Err(bad());
            }
            c.parse::<u32>().map_err(|_| bad())
        })
        .collect()
}

impl FromStr for SeedString {
    type Err = SeedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if !(3..=4).contains(&parts.len()) {
            return Err(SeedError::Shape(s.to_string()));
        }
        if parts[0] != VERSION {
            return Err(SeedError::Version(parts[0].to_string()));
        }
        if !valid_name(parts[1]) {
            return Err(SeedError::Scenario(parts[1].to_string()));
        }
        let seed = parse_seed(parts[2])?;
        let choices = parts.get(3).map(|c| parse_choices(c)).transpose()?;
        Ok(SeedString {
            scenario: parts[1].to_string(),
            seed,
            choices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_strings_round_trip() {
        let s = SeedString::new("seed-3302", 0x9f2c_41d0_7a3b_5e11);
        assert_eq!(s.to_string(), "fc1:seed-3302:9f2c41d07a3b5e11");
        assert_eq!(s.to_string().parse::<SeedString>(), Ok(s.clone()));
        let c = s.with_choices(vec![0, 3, 12]);
        assert_eq!(c.to_string(), "fc1:seed-3302:9f2c41d07a3b5e11:0.3.12");
        assert_eq!(c.to_string().parse::<SeedString>(), Ok(c.clone()));
        assert_eq!("fc1:churn:1".parse::<SeedString>().unwrap().seed, 1);
        assert_eq!(s.strategy(), Strategy::Pct(9));
    }

    #[test]
    fn malformed_seed_strings_say_what_is_wrong() {
        let err = |s: &str| s.parse::<SeedString>().unwrap_err();
        assert!(matches!(err("fc1:churn"), SeedError::Shape(_)));
        assert!(matches!(err("fc1:a:1:2:3"), SeedError::Shape(_)));
        assert!(matches!(err("fc2:churn:1"), SeedError::Version(_)));
        assert!(matches!(err("fc1::1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:a b:1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:a+:1"), SeedError::Scenario(_)));
        assert_eq!("fc1:a+b:1".parse::<SeedString>().unwrap().scenario, "a+b");
        let with_profile = "fc1:a@v24.01+b:1".parse::<SeedString>().unwrap();
        assert_eq!(with_profile.scenario, "a@v24.01+b");
        assert!(matches!(err("fc1:a@:1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:@v24.01:1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:a@b@c:1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:a+b@master:1"), SeedError::Scenario(_)));
        assert!(matches!(err("fc1:churn:xyz"), SeedError::Seed(_)));
        assert!(matches!(err("fc1:churn:ABC"), SeedError::Seed(_)));
        assert!(matches!(err("fc1:churn:"), SeedError::Seed(_)));
        assert!(matches!(
            err("fc1:churn:12345678901234567"),
            SeedError::Seed(_)
        ));
        assert!(matches!(err("fc1:churn:1:"), SeedError::Choices(_)));
        assert!(matches!(err("fc1:churn:1:1..2"), SeedError::Choices(_)));
        assert!(matches!(err("fc1:churn:1:1.-2"), SeedError::Choices(_)));
        assert!(matches!(
            err("fc1:churn:1:99999999999"),
            SeedError::Choices(_)
        ));
        assert_eq!(
            err("fc1:churn:zz").to_string(),
            "bad seed 'zz' in seed string: expected 1 to 16 lowercase hex digits"
        );
    }
}
