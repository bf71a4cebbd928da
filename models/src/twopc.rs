//! Two-phase commit (Gray and Lamport, "Consensus on Transaction Commit"), the same subset and
//! the same state shape as Stateright's `examples/2pc.rs`, so that both checkers explore the
//! same state space and their unique state counts can be compared exactly.

use crate::model::{Model, Property};
use std::collections::BTreeSet;

/// `rms` resource managers and one transaction manager.
#[derive(Debug, Clone)]
pub struct TwoPhaseSys {
    pub rms: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TwoPhaseState {
    pub rm_state: Vec<RmState>,
    pub tm_state: TmState,
    pub tm_prepared: Vec<bool>,
    pub msgs: BTreeSet<Message>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Message {
    Prepared { rm: usize },
    Commit,
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RmState {
    Working,
    Prepared,
    Committed,
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TmState {
    Init,
    Committed,
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TmRcvPrepared(usize),
    TmCommit,
    TmAbort,
    RmPrepare(usize),
    RmChooseToAbort(usize),
    RmRcvCommitMsg(usize),
    RmRcvAbortMsg(usize),
}

impl Model for TwoPhaseSys {
    type State = TwoPhaseState;
    type Action = Action;

    fn init_states(&self) -> Vec<TwoPhaseState> {
        vec![TwoPhaseState {
            rm_state: vec![RmState::Working; self.rms],
            tm_state: TmState::Init,
            tm_prepared: vec![false; self.rms],
            msgs: BTreeSet::new(),
        }]
    }

    fn actions(&self, s: &TwoPhaseState, out: &mut Vec<Action>) {
        let init = s.tm_state == TmState::Init;
        if init && s.tm_prepared.iter().all(|p| *p) {
            out.push(Action::TmCommit);
        }
        if init {
            out.push(Action::TmAbort);
        }
        let (commit, abort) = (
            s.msgs.contains(&Message::Commit),
            s.msgs.contains(&Message::Abort),
        );
        for rm in 0..self.rms {
            if init && s.msgs.contains(&Message::Prepared { rm }) {
                out.push(Action::TmRcvPrepared(rm));
            }
            if s.rm_state[rm] == RmState::Working {
                out.push(Action::RmPrepare(rm));
                out.push(Action::RmChooseToAbort(rm));
            }
            if commit {
                out.push(Action::RmRcvCommitMsg(rm));
            }
            if abort {
                out.push(Action::RmRcvAbortMsg(rm));
            }
        }
    }

    fn next_state(&self, last: &TwoPhaseState, action: &Action) -> Option<TwoPhaseState> {
        let mut s = last.clone();
        match *action {
            Action::TmRcvPrepared(rm) => s.tm_prepared[rm] = true,
            Action::TmCommit => {
                s.tm_state = TmState::Committed;
                s.msgs.insert(Message::Commit);
            }
            Action::TmAbort => {
                s.tm_state = TmState::Aborted;
                s.msgs.insert(Message::Abort);
            }
            Action::RmPrepare(rm) => {
                s.rm_state[rm] = RmState::Prepared;
                s.msgs.insert(Message::Prepared { rm });
            }
            Action::RmChooseToAbort(rm) | Action::RmRcvAbortMsg(rm) => {
                s.rm_state[rm] = RmState::Aborted;
            }
            Action::RmRcvCommitMsg(rm) => s.rm_state[rm] = RmState::Committed,
        }
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::<Self>::sometimes("abort agreement", |_, s| {
                s.rm_state.iter().all(|r| *r == RmState::Aborted)
            }),
            Property::<Self>::sometimes("commit agreement", |_, s| {
                s.rm_state.iter().all(|r| *r == RmState::Committed)
            }),
            Property::<Self>::always("consistent", |_, s| {
                let has = |x| s.rm_state.contains(&x);
                !(has(RmState::Aborted) && has(RmState::Committed))
            }),
        ]
    }

    /// Resource managers are interchangeable: sort them by everything that describes one (its
    /// state, whether the TM saw it prepared, whether its Prepared message is out) and rename
    /// them everywhere. Unlike sorting by state alone (Stateright's representative), this is a
    /// true canonical form, so the reduced count does not depend on the search order.
    fn canonical(&self, s: &TwoPhaseState) -> TwoPhaseState {
        let mut order: Vec<usize> = (0..self.rms).collect();
        order.sort_by_key(|&rm| {
            let sent = s.msgs.contains(&Message::Prepared { rm });
            (s.rm_state[rm], s.tm_prepared[rm], sent)
        });
        let mut rename = vec![0; self.rms];
        for (new, &old) in order.iter().enumerate() {
            rename[old] = new;
        }
        let msgs = s
            .msgs
            .iter()
            .map(|m| match *m {
                Message::Prepared { rm } => Message::Prepared { rm: rename[rm] },
                other => other,
            })
            .collect();
        TwoPhaseState {
            rm_state: order.iter().map(|&i| s.rm_state[i]).collect(),
            tm_state: s.tm_state,
            tm_prepared: order.iter().map(|&i| s.tm_prepared[i]).collect(),
            msgs,
        }
    }
}
