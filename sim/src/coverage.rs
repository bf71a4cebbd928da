//! Coverage: named lifecycle points (`Mark`s the target emits as `Output::Event`) counted per
//! run and per sweep. A scenario declares the marks it must reach ("sometimes" properties); a
//! sweep that misses one fails, because a sweep that never reaches the window proves nothing.

use fabcheck_core::target::Mark;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every mark with its stable name (the same string as `Mark::name()`).
pub const MARKS: &[(Mark, &str)] = &[
    (Mark::QpairAccepted, "qpair_accepted"),
    (Mark::IcDone, "ic_done"),
    (Mark::AdminConnectStarted, "admin_connect_started"),
    (Mark::ConnectParked, "connect_parked"),
    (
        Mark::ConnectParkedWhilePausing,
        "connect_parked_while_pausing",
    ),
    (Mark::ConnectRetryGaveUp, "connect_retry_gave_up"),
    (Mark::ConnectReplayedOnResume, "connect_replayed_on_resume"),
    (Mark::CtrlrAddFailed, "ctrlr_add_failed"),
    (Mark::CtrlrCreated, "ctrlr_created"),
    (Mark::ConnectResponded, "connect_responded"),
    (Mark::IoConnectRejected, "io_connect_rejected"),
    (
        Mark::StopListenMetQpairWithoutCtrlr,
        "stop_listen_met_qpair_without_ctrlr",
    ),
    (Mark::StopListenDone, "stop_listen_done"),
    (
        Mark::DisconnectWithOutstanding,
        "disconnect_with_outstanding",
    ),
    (Mark::FreeAerWithoutCtrlr, "free_aer_without_ctrlr"),
    (Mark::QpairDestroyed, "qpair_destroyed"),
    (Mark::CtrlrDestroyed, "ctrlr_destroyed"),
    (Mark::KeepAliveExpired, "keep_alive_expired"),
    (Mark::CcReset, "cc_reset"),
    (Mark::CcShutdown, "cc_shutdown"),
    (Mark::PauseWaitedForDrain, "pause_waited_for_drain"),
    (Mark::StateChangeQueued, "state_change_queued"),
    (Mark::SubsystemPaused, "subsystem_paused"),
    (Mark::SubsystemResumed, "subsystem_resumed"),
    (Mark::NamespaceChangedAen, "namespace_changed_aen"),
    (Mark::IoCompleted, "io_completed"),
    (Mark::TermReqSent, "term_req_sent"),
    (Mark::TargetShutdownDone, "target_shutdown_done"),
];

/// The mark with this stable name.
pub fn mark_by_name(name: &str) -> Option<Mark> {
    MARKS.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
}

/// The stable name of a mark.
pub fn mark_name(mark: Mark) -> &'static str {
    MARKS
        .iter()
        .find(|(m, _)| *m == mark)
        .map_or("unknown_mark", |(_, n)| n)
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

    /// `reached/total` over every known mark.
    pub fn summary(&self) -> String {
        let reached = MARKS.iter().filter(|(_, n)| self.reached(n)).count();
        format!("{reached}/{} marks", MARKS.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_look_up_both_ways() {
        for (i, (m, n)) in MARKS.iter().enumerate() {
            assert_eq!(mark_by_name(n), Some(*m));
            assert_eq!(mark_name(*m), *n);
            assert!(MARKS[i + 1..].iter().all(|(m2, n2)| m2 != m && n2 != n));
        }
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
        assert_eq!(sweep.summary(), format!("1/{} marks", MARKS.len()));
    }
}
