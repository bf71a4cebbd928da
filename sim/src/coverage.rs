//! Coverage: named lifecycle points (`Mark`s the target emits as `Output::Event`) counted per
//! run and per sweep. A scenario declares the marks it must reach ("sometimes" properties); a
//! sweep that misses one fails, because a sweep that never reaches the window proves nothing.

use fabcheck_core::nvmf::Mark;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mark with this stable name.
pub fn mark_by_name(name: &str) -> Option<Mark> {
    Mark::all().iter().copied().find(|m| m.name() == name)
}

/// The stable name of a mark (`Mark::name()`).
pub fn mark_name(mark: Mark) -> &'static str {
    mark.name()
}

/// Mark counts: how many runs reached each mark (per sweep) or how often (per run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub counts: BTreeMap<String, u64>,
}

impl Coverage {
    /// Counts one hit of `mark`.
    pub fn hit(&mut self, mark: Mark) {
        *self.counts.entry(mark_name(mark).to_string()).or_default() += 1;
    }

    /// Adds a run's coverage to a sweep's: each mark the run reached counts once.
    pub fn absorb_run(&mut self, run: &Coverage) {
        for name in run.counts.keys() {
            *self.counts.entry(name.clone()).or_default() += 1;
        }
    }

    /// Whether `name` was reached at least once.
    pub fn reached(&self, name: &str) -> bool {
        self.counts.get(name).is_some_and(|&c| c > 0)
    }

    /// The `required` names not reached, in the given order.
    pub fn missing(&self, required: &[String]) -> Vec<String> {
        required
            .iter()
            .filter(|r| !self.reached(r))
            .cloned()
            .collect()
    }

    /// Every known mark not reached, in declaration order.
    pub fn unreached(&self) -> Vec<&'static str> {
        Mark::all()
            .iter()
            .map(|m| m.name())
            .filter(|n| !self.reached(n))
            .collect()
    }

    /// `unreached`, each mark that only a catalogue switch reaches (`Mark::requires`) labelled
    /// with it: "connect_retry_gave_up (needs --bug spdk-3095)".
    pub fn unreached_labels(&self) -> Vec<String> {
        Mark::all()
            .iter()
            .filter(|m| !self.reached(m.name()))
            .map(|m| match m.requires() {
                Some(bug) => format!("{} (needs --bug {})", m.name(), bug.name()),
                None => m.name().to_string(),
            })
            .collect()
    }

    /// `reached/total` over every known mark.
    pub fn summary(&self) -> String {
        let all = Mark::all();
        let reached = all.iter().filter(|m| self.reached(m.name())).count();
        format!("{reached}/{} marks", all.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_look_up_both_ways() {
        let all = Mark::all();
        for (i, m) in all.iter().enumerate() {
            assert_eq!(mark_by_name(m.name()), Some(*m));
            assert!(all[i + 1..].iter().all(|m2| m2.name() != m.name()));
        }
        assert_eq!(mark_by_name("no_such_mark"), None);
    }

    #[test]
    fn sweeps_count_runs_and_report_missing_marks() {
        let mut run = Coverage::default();
        run.hit(Mark::ConnectParked);
        run.hit(Mark::ConnectParked);
        let mut sweep = Coverage::default();
        sweep.absorb_run(&run);
        sweep.absorb_run(&run);
        assert_eq!(sweep.counts["connect_parked"], 2);
        let req = vec!["connect_parked".to_string(), "ctrlr_created".to_string()];
        assert_eq!(sweep.missing(&req), vec!["ctrlr_created".to_string()]);
        assert_eq!(sweep.summary(), format!("1/{} marks", Mark::all().len()));
        let unreached = sweep.unreached();
        assert_eq!(unreached.len(), Mark::all().len() - 1);
        assert!(!unreached.contains(&"connect_parked"));
        assert!(unreached.contains(&"ctrlr_created"));
        let labels = sweep.unreached_labels();
        assert_eq!(labels.len(), unreached.len());
        assert!(labels.contains(&"connect_retry_gave_up (needs --bug spdk-3095)".to_string()));
    }
}
