//! A read-only view of which lifecycle objects exist, in the shape SPDK keeps them: the qpairs
//! on each poll group's list (`group->qpairs`: from `spdk_nvmf_poll_group_add` until
//! `_nvmf_qpair_destroy` removes them) and the controllers on each subsystem's list
//! (`subsystem->ctrlrs`: from `nvmf_subsystem_add_ctrlr` until `nvmf_subsystem_remove_ctrlr`).
//! The differential harness (docs/differential.md) compares it with real SPDK after every step.
//!
//! Also the model checker's view of what a step changed outside the arenas
//! (`footprint_parts`): arena slots are recorded by the arenas themselves (`arena::record`);
//! everything else is hashed here, each thread queue apart and the rest as one "globals" part.
//!
//! Owns nothing; reads the arenas only.

use super::arena::record::Parts;
use super::invariants::History;
use super::Target;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn hash_of(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// `Parts` from the queues, the field hashes and the history (its counters; its other parts
/// are appended to `fields`).
fn parts(
    queues: &[std::collections::VecDeque<super::Msg>],
    mut fields: Vec<u64>,
    history: &History,
) -> Parts {
    let counters = history_parts(history, &mut fields);
    let queues = queues.iter().map(hash_of).collect();
    Parts {
        queues,
        fields,
        counters,
    }
}

/// The history's decision fields (appended to `fields`) and its add-only counters.
fn history_parts(history: &History, fields: &mut Vec<u64>) -> Vec<u64> {
    let History {
        qpairs_created,
        qpairs_destroyed,
        ctrlrs_created,
        ctrlrs_destroyed,
        subsystems_destroyed,
        requests_freed,
        responses_sent,
        fanouts_done,
        lost_answers,
        filtered_disconnects,
        busy_connects,
        breaches,
    } = history;
    fields.extend([
        hash_of(ctrlrs_created),
        hash_of(lost_answers),
        hash_of(filtered_disconnects),
        hash_of(busy_connects),
        hash_of(breaches),
    ]);
    vec![
        hash_of(qpairs_created),
        hash_of(qpairs_destroyed),
        hash_of(ctrlrs_destroyed),
        hash_of(subsystems_destroyed),
        hash_of(requests_freed),
        hash_of(responses_sent),
        hash_of(fanouts_done),
    ]
}

impl Target {
    /// Names of `Parts::fields`, in order.
    pub const FOOTPRINT_FIELDS: [&'static str; 24] = [
        "parked",
        "listeners",
        "pgs",
        "conns",
        "fanouts",
        "next_fanout",
        "pollers",
        "retry_reqs",
        "device",
        "next_device_io",
        "ctrlr_keys",
        "next_pg",
        "rpcs_pending",
        "shutdown",
        "violation",
        "discovery",
        "lifetime",
        "bufs",
        "host_waits",
        "history.ctrlrs_created",
        "history.lost_answers",
        "history.filtered_disconnects",
        "history.busy_connects",
        "history.breaches",
    ];

    /// Names of `Parts::counters`, in order: the history counters that are only ever
    /// incremented (`+= 1`, or `+= 1` on a map entry) and that no step reads (only the invariant
    /// oracle does, on the state after a step). `ctrlrs_created` is not one: CONNECT reads it
    /// for the controller's serial number.
    pub const FOOTPRINT_COUNTERS: [&'static str; 7] = [
        "history.qpairs_created",
        "history.qpairs_destroyed",
        "history.ctrlrs_destroyed",
        "history.subsystems_destroyed",
        "history.requests_freed",
        "history.responses_sent",
        "history.fanouts_done",
    ];

    /// The parts of the state outside the arenas, hashed one by one. Left out: `config` (never
    /// written), `now` (after any step that feeds the target it equals the world's time, which
    /// the checker treats as written by every time jump), `outputs` (drained by the world after
    /// every step) and `current` (dead between steps: see `current_is_live`). The
    /// destructuring names every field, so a new field must be placed here.
    #[must_use]
    pub fn footprint_parts(&self) -> Parts {
        let Target {
            config: _,
            now: _,
            queues,
            parked,
            current: _,
            listeners,
            subsystems: _,
            pgs,
            qpairs: _,
            ctrlrs: _,
            reqs: _,
            conns,
            fanouts,
            next_fanout,
            pollers,
            retry_reqs,
            device,
            tcp_writes,
            next_device_io,
            ctrlr_keys,
            next_pg,
            rpcs_pending,
            shutdown,
            outputs: _,
            violation,
            history,
            discovery,
            lifetime,
            bufs,
            host_waits,
            spare_data: _,
        } = self;
        let fields = vec![
            hash_of(parked),
            hash_of(listeners),
            hash_of(pgs),
            hash_of(conns),
            hash_of(fanouts),
            hash_of(next_fanout),
            hash_of(pollers),
            hash_of(retry_reqs),
            hash_of(&(device, tcp_writes)),
            hash_of(next_device_io),
            hash_of(ctrlr_keys),
            hash_of(next_pg),
            hash_of(rpcs_pending),
            hash_of(shutdown),
            hash_of(violation),
            hash_of(discovery),
            hash_of(lifetime),
            hash_of(bufs),
            hash_of(host_waits),
        ];
        parts(queues, fields, history)
    }

    /// Whether `current` (the thread whose code ran last) can decide anything in a later step.
    /// Every entry point sets it before reading it (`run_thread`, `handle_rpc`,
    /// `handle_accept`, `handle_bytes`, `handle_peer_closed`, `fire_timer`), except
    /// `handle_device_complete` for a request already freed, which records its crash on the
    /// thread that ran last. So it is live only while a device I/O of a freed request is
    /// pending; otherwise two states that differ only in it have the same future.
    #[must_use]
    pub fn current_is_live(&self) -> bool {
        let _quiet = super::arena::record::pause();
        self.device.values().any(|r| !self.reqs.contains(*r))
    }

    /// Hashes the state as the derived `Hash` does, but `current` only when it is live
    /// (`current_is_live`): the model checker's state identity.
    pub fn hash_state<H: Hasher>(&self, h: &mut H) {
        let Target {
            config,
            now,
            queues,
            parked,
            current,
            listeners,
            subsystems,
            pgs,
            qpairs,
            ctrlrs,
            reqs,
            conns,
            fanouts,
            next_fanout,
            pollers,
            retry_reqs,
            device,
            tcp_writes,
            next_device_io,
            ctrlr_keys,
            next_pg,
            rpcs_pending,
            shutdown,
            outputs,
            violation,
            history,
            discovery,
            lifetime,
            bufs,
            host_waits,
            spare_data: _,
        } = self;
        // A tuple hashes its fields in order and nothing else, so the grouping is free.
        (config, now, queues, parked, listeners, subsystems, pgs).hash(h);
        (qpairs, ctrlrs, reqs, conns, fanouts, next_fanout, pollers).hash(h);
        (retry_reqs, device, tcp_writes, next_device_io).hash(h);
        (ctrlr_keys, next_pg, rpcs_pending, shutdown, outputs).hash(h);
        (violation, history, discovery, lifetime, bufs, host_waits).hash(h);
        if self.current_is_live() {
            current.hash(h);
        }
    }

    /// Test hook: sets the thread that ran last (to check that it is dead between steps).
    #[doc(hidden)]
    pub fn set_current_for_test(&mut self, t: super::ThreadId) {
        self.current = t;
    }
}

impl Target {
    /// Qpairs on each poll group's list, poll group 0 first.
    #[must_use]
    pub fn pg_qpair_counts(&self) -> Vec<usize> {
        self.pgs.iter().map(|pg| pg.qpairs().len()).collect()
    }

    /// `qpair->group` of a connection's qpair: `Some(Some(pg))` while it is on a poll group's
    /// list, `Some(None)` before `spdk_nvmf_poll_group_add` and after
    /// `spdk_nvmf_poll_group_remove`, None once the qpair is freed.
    #[must_use]
    pub fn qpair_group(&self, conn: super::ConnId) -> Option<Option<u16>> {
        let q = self.conns.get(&conn)?;
        self.qpairs.get(*q).map(|q| q.group())
    }

    /// `subsystem->id` of the subsystem named `nqn`: the lowest id free when it was created
    /// (`spdk_nvmf_subsystem_create`), the index of its sgroup in every poll group.
    #[must_use]
    pub fn subsystem_id(&self, nqn: &str) -> Option<u32> {
        self.find_subsystem(nqn).map(|s| s.idx)
    }

    /// Controllers on the list of the subsystem named `nqn` (None when no such subsystem).
    #[must_use]
    pub fn subsystem_ctrlr_count(&self, nqn: &str) -> Option<usize> {
        let s = self.find_subsystem(nqn)?;
        self.subsystems.get(s).map(|s| s.ctrlrs().count())
    }
}

#[cfg(test)]
mod tests {
    use crate::nvmf::{SubsystemConfig, Target, TargetConfig};

    #[test]
    fn a_fresh_target_has_empty_lists() {
        let t = Target::new(TargetConfig {
            poll_groups: 2,
            subsystems: vec![SubsystemConfig::new("nqn.2016-06.io.spdk:cnode1")],
            ..TargetConfig::default()
        });
        assert_eq!(t.pg_qpair_counts(), vec![0, 0]);
        assert_eq!(
            t.subsystem_ctrlr_count("nqn.2016-06.io.spdk:cnode1"),
            Some(0)
        );
        assert_eq!(t.subsystem_ctrlr_count("nqn.none"), None);
    }
}
