//! Swarm shape (after TigerBeetle's VOPR): a scenario may give bounds instead of one value for
//! its poll group count, its host count, its listener count, its fault rates and its SPDK
//! profile, and each run's seed picks the concrete shape within them, so a sweep covers
//! configurations rather than one.
//!
//! Invariants kept: the shape is a pure function of the scenario and the seed (its own ChaCha
//! stream, never the chooser's), so a seed string replays its shape byte for byte; a scenario
//! without bounds runs exactly as written.

use super::{Ratio, Scenario};
use fabcheck_core::nvmf::Spdk;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Inclusive bounds (`[lo, hi]`) the seed picks within. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeBounds {
    /// Poll group threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_groups: Option<[u16; 2]>,
    /// How many of the scenario's hosts take part (the first N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<[usize; 2]>,
    /// Fault rate ranges; both ends share one denominator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_reset: Option<[Ratio; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_keep_alive: Option<[Ratio; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnect_mid_connect: Option<[Ratio; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdu_split: Option<[Ratio; 2]>,
    /// How many of the scenario's `listeners` are opened at start (the first N); hosts and
    /// subsystems naming a listener left out meet a trid nobody listens on (until an operator
    /// `listen` opens it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<[usize; 2]>,
    /// The SPDK profiles the seed picks from, e.g. `["v24.01", "master"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spdk: Option<Vec<Spdk>>,
}

/// Keeps the shape's random stream apart from the chooser's (which uses the seed itself).
const SHAPE_STREAM: u64 = 0x5eed_5a4e_0f5c_a1ed;

impl ShapeBounds {
    /// Checks every range against the scenario it shapes.
    pub fn check(&self, host_count: usize, listener_count: usize) -> Result<(), String> {
        if let Some([lo, hi]) = self.listeners {
            if lo > hi || hi > listener_count {
                return Err(format!(
                    "shape.listeners [{lo}, {hi}] must be lo <= hi <= {listener_count} (the listeners listed)"
                ));
            }
        }
        if self.spdk.as_ref().is_some_and(Vec::is_empty) {
            return Err("shape.spdk names no profile".into());
        }
        if let Some([lo, hi]) = self.poll_groups {
            if lo == 0 || lo > hi {
                return Err(format!(
                    "shape.poll_groups [{lo}, {hi}] must be 1 <= lo <= hi"
                ));
            }
        }
        if let Some([lo, hi]) = self.hosts {
            if lo == 0 || lo > hi || hi > host_count {
                return Err(format!(
                    "shape.hosts [{lo}, {hi}] must be 1 <= lo <= hi <= {host_count} (the hosts listed)"
                ));
            }
        }
        for (name, r) in self.rate_bounds() {
            if let Some([lo, hi]) = r {
                if lo.den != hi.den || lo.num > hi.num {
                    return Err(format!(
                        "shape.{name} [{lo}, {hi}] needs one denominator and lo <= hi"
                    ));
                }
            }
        }
        Ok(())
    }

    fn rate_bounds(&self) -> [(&'static str, Option<[Ratio; 2]>); 4] {
        [
            ("conn_reset", self.conn_reset),
            ("stop_keep_alive", self.stop_keep_alive),
            ("disconnect_mid_connect", self.disconnect_mid_connect),
            ("pdu_split", self.pdu_split),
        ]
    }

    /// The bounds as one trace token, e.g. `shape(poll_groups=[1,4] hosts=[2,4])`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some([lo, hi]) = self.poll_groups {
            parts.push(format!("poll_groups=[{lo},{hi}]"));
        }
        if let Some([lo, hi]) = self.hosts {
            parts.push(format!("hosts=[{lo},{hi}]"));
        }
        for (name, r) in self.rate_bounds() {
            if let Some([lo, hi]) = r {
                parts.push(format!("{name}=[{lo},{hi}]"));
            }
        }
        if let Some([lo, hi]) = self.listeners {
            parts.push(format!("listeners=[{lo},{hi}]"));
        }
        if let Some(p) = &self.spdk {
            let names: Vec<&str> = p.iter().map(|p| p.name()).collect();
            parts.push(format!("spdk=[{}]", names.join(",")));
        }
        format!("shape({})", parts.join(" "))
    }
}

impl Scenario {
    /// The concrete scenario a run of `seed` uses: each bounded value picked within its
    /// bounds by the seed (in a fixed order), the rest as written.
    pub fn shaped(&self, seed: u64) -> Scenario {
        let Some(b) = &self.shape else {
            return self.clone();
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SHAPE_STREAM);
        let mut s = self.clone();
        if let Some([lo, hi]) = b.poll_groups {
            s.poll_groups = rng.gen_range(lo..=hi);
        }
        if let Some([lo, hi]) = b.hosts {
            s.hosts.truncate(rng.gen_range(lo..=hi));
        }
        let f = &mut s.faults;
        let slots = [
            (&mut f.conn_reset, b.conn_reset),
            (&mut f.stop_keep_alive, b.stop_keep_alive),
            (&mut f.disconnect_mid_connect, b.disconnect_mid_connect),
            (&mut f.pdu_split, b.pdu_split),
        ];
        for (slot, bound) in slots {
            if let Some([lo, hi]) = bound {
                *slot = Ratio {
                    num: rng.gen_range(lo.num..=hi.num),
                    den: lo.den,
                };
            }
        }
        // Drawn after the older bounds so their picks stay what they were for a seed.
        if let Some([lo, hi]) = b.listeners {
            s.listeners.truncate(rng.gen_range(lo..=hi));
        }
        if let Some(p) = b.spdk.as_ref().filter(|p| !p.is_empty()) {
            s.spdk = p[rng.gen_range(0..p.len())];
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::builtin;
    use std::collections::BTreeSet;

    fn shape_of(s: &Scenario) -> (u16, usize, String) {
        let f = &s.faults;
        let rates = format!(
            "{} {} {} {}",
            f.conn_reset, f.stop_keep_alive, f.disconnect_mid_connect, f.pdu_split
        );
        (s.poll_groups, s.hosts.len(), rates)
    }

    #[test]
    fn same_seed_same_shape_and_seeds_cover_the_bounds() {
        let churn = builtin("churn").unwrap();
        let b = churn.shape.clone().expect("churn has bounds");
        let [plo, phi] = b.poll_groups.unwrap();
        let [hlo, hhi] = b.hosts.unwrap();
        let mut seen = BTreeSet::new();
        for seed in 0..200u64 {
            let s = churn.shaped(seed);
            assert_eq!(
                s,
                churn.shaped(seed),
                "seed {seed}: the shape is deterministic"
            );
            assert!((plo..=phi).contains(&s.poll_groups));
            assert!((hlo..=hhi).contains(&s.hosts.len()));
            seen.insert(shape_of(&s));
        }
        let pgs: BTreeSet<u16> = seen.iter().map(|s| s.0).collect();
        let hosts: BTreeSet<usize> = seen.iter().map(|s| s.1).collect();
        assert_eq!(
            pgs,
            (plo..=phi).collect(),
            "every poll group count is reached"
        );
        assert_eq!(hosts, (hlo..=hhi).collect(), "every host count is reached");
        assert!(
            seen.len() > 20,
            "different seeds give different shapes: {seen:?}"
        );
    }

    #[test]
    fn a_scenario_without_bounds_runs_as_written() {
        let s = builtin("seed-3302").unwrap();
        assert!(s.shape.is_none());
        assert_eq!(s.shaped(1), s);
        assert_eq!(s.shaped(0xdead_beef), s);
    }

    #[test]
    fn bad_bounds_are_rejected() {
        let r = |s: &str| Ratio::try_from(s.to_string()).unwrap();
        let bad = [
            ShapeBounds {
                poll_groups: Some([0, 2]),
                ..ShapeBounds::default()
            },
            ShapeBounds {
                poll_groups: Some([3, 2]),
                ..ShapeBounds::default()
            },
            ShapeBounds {
                hosts: Some([1, 5]),
                ..ShapeBounds::default()
            },
            ShapeBounds {
                pdu_split: Some([r("1/4"), r("1/8")]),
                ..ShapeBounds::default()
            },
            ShapeBounds {
                conn_reset: Some([r("2/400"), r("1/400")]),
                ..ShapeBounds::default()
            },
        ];
        for b in bad {
            assert!(b.check(4, 2).is_err(), "{b:?}");
        }
        let good = ShapeBounds {
            poll_groups: Some([1, 4]),
            hosts: Some([1, 4]),
            pdu_split: Some([r("0/4"), r("2/4")]),
            ..ShapeBounds::default()
        };
        assert_eq!(good.check(4, 2), Ok(()));
        assert_eq!(
            good.describe(),
            "shape(poll_groups=[1,4] hosts=[1,4] pdu_split=[0/4,2/4])"
        );
    }
}
