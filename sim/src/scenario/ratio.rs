//! Integer-ratio probabilities (`"1/50"`), never floats: a fault strikes when a choice of
//! `0..den` lands in the top `num` values, so choice 0 always means "no fault".

use serde::{Deserialize, Serialize};
use std::fmt;

/// `num` in `den`; `0/1` never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ratio {
    pub num: u32,
    pub den: u32,
}

impl Ratio {
    pub const NEVER: Ratio = Ratio { num: 0, den: 1 };

    pub fn is_never(self) -> bool {
        self.num == 0
    }

    /// Whether choice `picked` of `0..den` is a hit.
    pub fn hit(self, picked: u32) -> bool {
        picked >= self.den - self.num
    }
}

impl Default for Ratio {
    fn default() -> Self {
        Ratio::NEVER
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl From<Ratio> for String {
    fn from(r: Ratio) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for Ratio {
    type Error = String;

    fn try_from(s: String) -> Result<Ratio, String> {
        let bad = || format!("bad ratio '{s}': expected <num>/<den> with 0 <= num <= den, den > 0");
        let (a, b) = s.split_once('/').ok_or_else(bad)?;
        let num: u32 = a.trim().parse().map_err(|_| bad())?;
        let den: u32 = b.trim().parse().map_err(|_| bad())?;
        if den == 0 || num > den {
            return Err(bad());
        }
        Ok(Ratio { num, den })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_parse_and_hit_at_the_top() {
        let r = Ratio::try_from("1/4".to_string()).unwrap();
        assert_eq!(r, Ratio { num: 1, den: 4 });
        assert!(!r.hit(0) && !r.hit(2) && r.hit(3));
        assert!(Ratio::try_from("5/4".to_string()).is_err());
        assert!(Ratio::try_from("1/0".to_string()).is_err());
        assert!(Ratio::try_from("x".to_string()).is_err());
        assert_eq!(String::from(r), "1/4");
        assert!(Ratio::NEVER.is_never() && !Ratio::NEVER.hit(0));
    }
}
