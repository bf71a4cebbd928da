//! Shrinking: from a failing run's choice record to a 1-minimal one that still fails with the
//! same signature (violation kind and site).
//!
//! Passes, repeated to a fixpoint within a run budget: drop scenario items (operator actions,
//! hosts, host steps: their `Drop` choices go 0 -> 1), delete chunks of choices (halves down to
//! single choices), lower choices (to 0, to half, by one). Every accepted candidate is replaced
//! by the canonical record of the run it produced, which is never larger, so shrinking ends.
//! At the fixpoint removing any single remaining item or choice loses the failure (1-minimal).

use crate::chooser::{canonical, Choice, ChoiceKind};
use crate::run::{run, RunReport};
use crate::scenario::Scenario;
use crate::seed::SeedString;

/// The result of shrinking.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// Replays the shrunk failure.
    pub seed: SeedString,
    /// The shrunk run, traced.
    pub report: RunReport,
    /// Runs spent shrinking.
    pub runs: u32,
    /// Whether the fixpoint was reached (false: the budget ran out first).
    pub minimal: bool,
}

/// Shrinks a failing run of `sc`. `budget` bounds the runs spent.
pub fn shrink(sc: &Scenario, failing: &RunReport, budget: u32) -> Option<Shrunk> {
    let sig = failing.failure.as_ref()?.signature();
    let base = SeedString {
        choices: None,
        ..failing.seed.clone()
    };
    let test = |picks: &[u32]| -> Option<Vec<Choice>> {
        let r = run(sc, &base.with_choices(picks.to_vec()), false);
        (r.failure.as_ref()?.signature() == sig).then_some(r.record)
    };
    let (record, runs, minimal) = minimize(failing.record.clone(), budget, test);
    let seed = base.with_choices(canonical(&record));
    let report = run(sc, &seed, true);
    Some(Shrunk {
        seed,
        report,
        runs,
        minimal,
    })
}

/// The generic minimiser: `still_fails(picks)` runs a candidate and returns its record when
/// the same failure occurs. Returns the minimal record, the runs spent and whether the
/// fixpoint was reached.
pub fn minimize(
    record: Vec<Choice>,
    budget: u32,
    still_fails: impl FnMut(&[u32]) -> Option<Vec<Choice>>,
) -> (Vec<Choice>, u32, bool) {
    let drops = record
        .iter()
        .take_while(|c| c.kind == ChoiceKind::Drop)
        .count();
    let mut m = Minimizer {
        picks: canonical(&record),
        record,
        drops,
        runs: 0,
        budget,
        still_fails,
    };
    loop {
        let changed = m.drop_pass() | m.delete_pass() | m.lower_pass();
        if !changed || m.runs >= m.budget {
            return (m.record, m.runs, !changed);
        }
    }
}

struct Minimizer<F> {
    /// The record of the current failing run.
    record: Vec<Choice>,
    /// Its canonical picks.
    picks: Vec<u32>,
    /// How many leading choices are `Drop` choices (fixed by the scenario).
    drops: usize,
    runs: u32,
    budget: u32,
    still_fails: F,
}

impl<F: FnMut(&[u32]) -> Option<Vec<Choice>>> Minimizer<F> {
    /// The current picks, zero-padded to at least `len`.
    fn padded(&self, len: usize) -> Vec<u32> {
        let mut p = self.picks.clone();
        if p.len() < len {
            p.resize(len, 0);
        }
        p
    }

    /// Tries a candidate; keeps it if it still fails and the canonical record changed.
    fn attempt(&mut self, mut picks: Vec<u32>) -> bool {
        while picks.last() == Some(&0) {
            picks.pop();
        }
        if picks == self.picks || self.runs >= self.budget {
            return false;
        }
        self.runs += 1;
        let Some(rec) = (self.still_fails)(&picks) else {
            return false;
        };
        let canon = canonical(&rec);
        if canon == self.picks {
            return false;
        }
        self.record = rec;
        self.picks = canon;
        true
    }

    fn drop_pass(&mut self) -> bool {
        let mut changed = false;
        for i in 0..self.drops {
            if self.picks.get(i).copied().unwrap_or(0) == 0 {
                let mut p = self.padded(i + 1);
                p[i] = 1;
                changed |= self.attempt(p);
            }
        }
        changed
    }

    fn delete_pass(&mut self) -> bool {
        let mut changed = false;
        let mut chunk = self.picks.len().saturating_sub(self.drops).max(1);
        loop {
            let mut start = self.drops;
            while start < self.picks.len() {
                let end = (start + chunk).min(self.picks.len());
                let mut p = self.picks.clone();
                p.drain(start..end);
                if self.attempt(p) {
                    changed = true;
                } else {
                    start += chunk;
                }
            }
            if chunk == 1 {
                return changed;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    fn lower_pass(&mut self) -> bool {
        let mut changed = false;
        let mut i = self.drops;
        while i < self.picks.len() {
            let v = self.picks[i];
            for lower in [0, v / 2, v.saturating_sub(1)] {
                if lower < v && self.picks.get(i) == Some(&v) {
                    let mut p = self.picks.clone();
                    p[i] = lower;
                    if self.attempt(p) {
                        changed = true;
                        break;
                    }
                }
            }
            i += 1;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(drops: usize, picks: &[u32]) -> Vec<Choice> {
        let d = (0..drops).map(|_| Choice {
            kind: ChoiceKind::Drop,
            n: 2,
            picked: 0,
        });
        let p = picks.iter().map(|&picked| Choice {
            kind: ChoiceKind::Event,
            n: 10,
            picked,
        });
        d.chain(p).collect()
    }

    /// A toy "system": fails iff item 1 is kept and the event picks contain a 7 followed later
    /// by a 3 (ignoring everything else). Records like a replay would (clamped, 0 after end).
    fn toy(drops: usize, len: usize) -> impl FnMut(&[u32]) -> Option<Vec<Choice>> {
        move |picks: &[u32]| {
            let get = |i: usize| picks.get(i).copied().unwrap_or(0);
            let d: Vec<u32> = (0..drops).map(|i| get(i).min(1)).collect();
            let e: Vec<u32> = (drops..drops + len).map(|i| get(i).min(9)).collect();
            let seven = e.iter().position(|&x| x == 7)?;
            let fails = d[1] == 0 && e[seven..].contains(&3);
            let mut r = rec(0, &[]);
            r.extend(d.iter().map(|&picked| Choice {
                kind: ChoiceKind::Drop,
                n: 2,
                picked,
            }));
            r.extend(e.iter().map(|&picked| Choice {
                kind: ChoiceKind::Event,
                n: 10,
                picked,
            }));
            fails.then_some(r)
        }
    }

    #[test]
    fn minimises_to_the_essential_choices_and_items() {
        let start = rec(3, &[5, 9, 7, 1, 8, 3, 4, 6]);
        let (out, runs, minimal) = minimize(start, 10_000, toy(3, 8));
        assert!(minimal, "fixpoint within budget ({runs} runs)");
        assert_eq!(canonical(&out), vec![1, 0, 1, 7, 3]);
        let mut f = toy(3, 8);
        assert!(f(&canonical(&out)).is_some());
    }

    #[test]
    fn result_is_one_minimal() {
        let start = rec(3, &[2, 7, 7, 0, 3, 3, 9]);
        let (out, _, _) = minimize(start, 10_000, toy(3, 7));
        let picks = canonical(&out);
        let mut f = toy(3, 7);
        for i in 3..picks.len() {
            let mut p = picks.clone();
            p.remove(i);
            assert!(
                f(&p).is_none(),
                "removing choice {i} of {picks:?} still fails"
            );
        }
        for i in 0..3 {
            if out[i].picked == 0 {
                let mut p = picks.clone();
                p[i] = 1;
                assert!(f(&p).is_none(), "dropping item {i} still fails");
            }
        }
    }

    #[test]
    fn budget_is_respected() {
        let start = rec(3, &[5, 9, 7, 1, 8, 3, 4, 6]);
        let (_, runs, minimal) = minimize(start, 3, toy(3, 8));
        assert_eq!(runs, 3);
        assert!(!minimal);
    }
}
