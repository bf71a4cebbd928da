//! Thread ownership of every access (invariant I17). SPDK's rule: a controller's fields are read
//! and written only on `ctrlr->thread` (the poll group of its admin qpair, `nvmf_ctrlr_create`:
//! v24.01 `ctrlr.c:384`, master `ctrlr.c:476`), a qpair and its requests only on the thread
//! of the qpair's poll group, a subsystem only on `subsystem->thread` (the app thread here),
//! a poller only on the thread it was registered on (`spdk_poller_unregister` asserts it).
//!
//! How it is checked: every step (`Target::handle`) runs with the arena hook in check mode
//! (arena.rs `record`): each `get`, `get_mut` and `remove` of a live object compares the
//! object's owner (`arena::Owned`) with the running thread. Whole-arena walks are not checked:
//! they are the model's lookup structure for SPDK's per-group and per-subsystem lists. The
//! reactor's own dispatch (finding the qpair of a connection, the request of a device
//! completion, the due poller) runs before the running thread is set and is not checked.
//!
//! Where SPDK's code on one thread legitimately touches another thread's object, the model
//! names it with `foreign(Foreign::..)` around exactly that access; `Foreign` is the one
//! allow-list, each entry with the SPDK source lines that do the same. Anything else is a
//! violation of I17 at the running function (`Violation { I17, site }`).
//!
//! Owns: the running function's name for the step (`SITE`); the allow-list. The check itself
//! is in `arena::record` (the thread-locals it needs sit next to the hook).

use super::arena::record::{self, allow_bit, Breach, Kind};
use super::{Input, InvariantId, Target, ThreadId, Timer};
use std::cell::Cell;

/// A foreign access SPDK makes: the allow-list of I17. Each entry names what SPDK's code does
/// (with `lib/nvmf` lines in v24.01, then master at the profile's commit) and why the model
/// runs it inside the one handler instead of as a step of its own (`split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Foreign {
    /// `nvmf_ctrlr_cmd_connect` / `_nvmf_ctrlr_connect` on the qpair's poll group look the
    /// subsystem up and read its state, hosts and listeners (`spdk_nvmf_tgt_find_subsystem`,
    /// `spdk_nvmf_subsystem_host_allowed`, `spdk_nvmf_subsystem_listener_allowed`).
    ConnectFindsSubsystem,
    /// Fields fixed when the object is made, read from any thread: `ctrlr->subsys`,
    /// `ctrlr->thread`, `ctrlr->hostnqn`, `ctrlr->cntlid`, `subsystem->subnqn`,
    /// `subsystem->id`, `subsystem->subtype` (the stop-listen filter, the remove-subsystem
    /// walk, `nvmf_check_subsystem_active`, get_qpairs, remove_host's walk, the discovery
    /// test, `_nvmf_transport_qpair_fini_complete`), `ctrlr->sq_flow_control_disabled`
    /// (master: set in `nvmf_ctrlr_create`, read on every qpair's group by
    /// `request_transfer_out`, `_nvmf_tcp_send_c2h_data` and `nvmf_ctrlr_send_connect_rsp`).
    FixedFields,
    /// Commands on an I/O qpair's poll group read the controller's CC.EN and the namespaces
    /// of `ctrlr->subsys` (`nvmf_ctrlr_process_admin_cmd`, `nvmf_ctrlr_process_io_cmd`,
    /// `_nvmf_subsystem_get_ns(ctrlr->subsys, nsid)`).
    CommandReadsCtrlr,
    /// A poll group applies a subsystem state change: `poll_group_update_subsystem` and the
    /// pause/resume/remove functions read `subsystem->ns` and the subsystem's state.
    PollGroupReadsSubsystem,
    /// `nvmf_ctrlr_cc_timeout` (controller thread) walks `ctrlr->subsys`'s namespaces.
    CcTimeoutReadsNamespaces,
    /// The model keeps a namespace's blocks in its subsystem; in SPDK they are the bdev's,
    /// written by the bdev module on the I/O's own thread (a storage simplification, not a
    /// subsystem field).
    BdevBlocks,
    /// `_nvmf_subsystem_add_ctrlr` on the subsystem thread: the CONNECT request, its qpair and
    /// the new controller travel with the message (the poll group waits for the answer);
    /// `nvmf_subsystem_add_ctrlr` writes `ctrlr->cntlid`, a failure writes
    /// `qpair->ctrlr = NULL` and the response.
    SubsystemThreadAddsCtrlr,
    /// `_nvmf_ctrlr_add_io_qpair` on the subsystem thread: finds the controller by cntlid,
    /// reads `ctrlr->in_destruct` and the admin qpair's state and group, fails the request
    /// with its response or (the handler's second step, split at that read) writes
    /// `qpair->ctrlr` and sends to the group it read.
    SubsystemThreadChecksIoConnect,
    /// `nvmf_ctrlr_add_io_qpair`, `_retry_qid_check` and `ctrlr_add_qpair_and_send_rsp` on the
    /// controller's thread write the I/O qpair (`qpair->ctrlr`) and the CONNECT request of
    /// another poll group's qpair; the poll group waits for `nvmf_ctrlr_send_connect_rsp`.
    CtrlrThreadAddsIoQpair,
    /// `nvmf_ctrlr_destruct` on the subsystem thread removes the controller from the
    /// subsystem (`nvmf_subsystem_remove_ctrlr` unlinks it) before sending
    /// `_nvmf_ctrlr_destruct` to its thread.
    SubsystemThreadRemovesCtrlr,
    /// `spdk_nvmf_qpair_disconnect` may be called on any thread: it sets the atomic
    /// `disconnect_started`, reads the state and group, and forwards itself (or finalizes an
    /// UNINITIALIZED qpair at once).
    DisconnectFromAnyThread,
    /// `spdk_nvmf_request_complete` may be called on any thread: it reads
    /// `req->qpair->group` and forwards `_nvmf_request_complete` there.
    CompleteFromAnyThread,
    /// The Abort command travels with its `spdk_for_each_channel`: `nvmf_ctrlr_abort_on_pg`
    /// reads it on every group and `nvmf_qpair_abort_request` writes its response on the
    /// group that holds the target queue.
    AbortFanout,
    /// master's discovery Get Log Page hops to the app thread with the request
    /// (`nvmf_get_discovery_log_page_async`); v24.01 runs it on the controller thread.
    DiscoveryLogPageOnAppThread,
    /// `nvmf_subsystem_ns_changed` on the subsystem thread walks `subsystem->ctrlrs` and
    /// `nvmf_ctrlr_ns_changed` writes each controller's Changed Namespace List.
    SubsystemNotesNsChange,
    /// A poll group or controller thread reads a transport listener's trid through a
    /// subsystem listener's pointer (`listener->trid`, subsys_listener.rs): the CONNECT access
    /// check and `nvmf_ctrlr_create` (`spdk_nvmf_subsystem_listener_allowed`,
    /// `nvmf_subsystem_find_listener`), v24.01's discovery log on the controller thread, and
    /// `nvmf_qpair_set_ctrlr`'s trace description (v26.05, master).
    ListenerTridThroughPointer,
}

/// One allow-list entry: which kinds it may touch, read or write, and where SPDK does it.
pub struct ForeignEntry {
    pub reads: &'static [Kind],
    pub writes: &'static [Kind],
    /// `lib/nvmf/FILE.c:LINE` in v24.01, then in master.
    pub spdk: &'static str,
    /// Why the access runs inside its handler rather than as a step of its own, or (starting
    /// with "SPLIT") where and why the handler is split at it (`Target::continue_msg`).
    pub split: &'static str,
}

use Kind::{Ctrlr, Listener, Qpair, Request, Subsystem};

/// The split argument for reads of fields that never change after creation.
const FIXED: &str = "the fields read never change after the object is made";
/// The split argument for objects handed over by a message.
const HANDED: &str = "the object travels with the message: its owner does not touch it until \
                      the answer comes back, so no other thread can interleave with the access";

/// The allow-list, in `Foreign` order (`Foreign::entry`).
const TABLE: [ForeignEntry; 16] = [
    // Foreign::ConnectFindsSubsystem
    ForeignEntry {
        reads: &[Subsystem],
        writes: &[],
        spdk: "ctrlr.c:761-800,945 / ctrlr.c:899-940,1020; subsystem.c:998 / subsystem.c:1590",
        split: "only reads, each guarded: hosts under subsystem->mutex, listeners removed \
         only from a PAUSED or INACTIVE subsystem (which needs this group's channel visit, \
         after the handler); the state is read once, and an ACTIVE read that turns PAUSING \
         right after orders the same as a read just before the change",
    },
    // Foreign::FixedFields
    ForeignEntry {
        reads: &[Ctrlr, Subsystem],
        writes: &[],
        spdk: "transport.c:510 / transport.c:538; nvmf.c:1737 / nvmf.c:2005; \
         nvmf_rpc.c:2642 / nvmf_rpc.c:2509; subsystem.c:929 / subsystem.c:1498; \
         nvmf.c:1250 / nvmf.c:1563",
        split: FIXED,
    },
    // Foreign::CommandReadsCtrlr
    ForeignEntry {
        reads: &[Ctrlr, Subsystem],
        writes: &[],
        spdk: "ctrlr.c:3599,4250-4282 / ctrlr.c:4321,4993",
        split: "namespace changes pause the subsystem first (I7 keeps the drain), and CC.EN is \
         read once per command, unlocked, as SPDK reads it",
    },
    // Foreign::PollGroupReadsSubsystem
    ForeignEntry {
        reads: &[Subsystem],
        writes: &[],
        spdk: "nvmf.c:1475,1756,1792,1865 / nvmf.c:1781,2024,2096,2153",
        split: "the subsystem thread waits for each group's continue before it changes the \
         subsystem again (the state change is one fan-out)",
    },
    // Foreign::CcTimeoutReadsNamespaces
    ForeignEntry {
        reads: &[Subsystem],
        writes: &[],
        spdk: "ctrlr.c:1094 / ctrlr.c:1166-1190",
        split: "namespace changes pause the subsystem first",
    },
    // Foreign::BdevBlocks
    ForeignEntry {
        reads: &[Subsystem],
        writes: &[Subsystem],
        spdk: "ctrlr_bdev.c:271,323 / ctrlr_bdev.c:428,481 (the bdev I/O on the group's channel)",
        split: "the blocks are the bdev's, not subsystem state",
    },
    // Foreign::SubsystemThreadAddsCtrlr
    ForeignEntry {
        reads: &[Request, Qpair, Ctrlr],
        writes: &[Request, Qpair, Ctrlr],
        spdk: "ctrlr.c:289 + subsystem.c:2105 / ctrlr.c:358 + subsystem.c:2970",
        split: HANDED,
    },
    // Foreign::SubsystemThreadChecksIoConnect
    ForeignEntry {
        reads: &[Request, Qpair, Ctrlr],
        writes: &[Request, Qpair],
        spdk: "ctrlr.c:637-704 / ctrlr.c:764-842",
        split: "SPLIT (continue_msg): the admin qpair's group may remove or free it between \
         the check and the send, so the send is a step of its own with the group the check \
         read (cc2f6634b7); the controller cannot go in between (its destruct runs on this \
         thread) and a late in_destruct is caught again by nvmf_ctrlr_add_io_qpair",
    },
    // Foreign::CtrlrThreadAddsIoQpair
    ForeignEntry {
        reads: &[Request, Qpair],
        writes: &[Request, Qpair],
        spdk: "ctrlr.c:222-264,563 / ctrlr.c:200-241,332,682",
        split: HANDED,
    },
    // Foreign::SubsystemThreadRemovesCtrlr
    ForeignEntry {
        reads: &[Ctrlr],
        writes: &[Ctrlr],
        spdk: "ctrlr.c:555 + subsystem.c:2128 / ctrlr.c:674 + subsystem.c:3011",
        split: "the controller is in destruct: its thread only waits for _nvmf_ctrlr_destruct",
    },
    // Foreign::DisconnectFromAnyThread
    ForeignEntry {
        reads: &[Qpair],
        writes: &[Qpair],
        spdk: "nvmf.c:1381 / nvmf.c:1681-1708",
        split: "the flag is atomic in SPDK; the rest of the work is forwarded to the group",
    },
    // Foreign::CompleteFromAnyThread
    ForeignEntry {
        reads: &[Request, Qpair],
        writes: &[],
        spdk: "ctrlr.c:4510 / ctrlr.c:5304",
        split: "only the group, fixed once the qpair joined it, is read; the completion itself \
         runs on the group",
    },
    // Foreign::AbortFanout
    ForeignEntry {
        reads: &[Request, Qpair],
        writes: &[Request],
        spdk: "ctrlr.c:3260-3300 / ctrlr.c:3900-3958",
        split: HANDED,
    },
    // Foreign::DiscoveryLogPageOnAppThread
    ForeignEntry {
        reads: &[Request, Qpair, Ctrlr],
        writes: &[Request],
        spdk: "ctrlr.c:2572 (no hop) / ctrlr_discovery.c:367-394",
        split: HANDED,
    },
    // Foreign::SubsystemNotesNsChange
    ForeignEntry {
        reads: &[Subsystem, Ctrlr],
        writes: &[Ctrlr],
        spdk: "subsystem.c:1414-1420, ctrlr.c:2359 / subsystem.c:2203-2209, ctrlr.c:2591",
        split: "namespaces change only while the subsystem is paused or inactive: every \
         admin command is drained and new ones wait, so the controller thread runs no Get \
         Log Page that reads the list while it is written",
    },
    // Foreign::ListenerTridThroughPointer
    ForeignEntry {
        reads: &[Listener],
        writes: &[],
        spdk: "subsystem.c:1046,1298 + ctrlr.c:501 + ctrlr_discovery.c:133 / \
         subsystem.c:1683,1969 + ctrlr.c:228-232,617",
        split: "one unlocked pointer read, as SPDK makes it: the app thread frees a transport \
         listener (stop_listen, no pause needed) before or after the step, and a free before \
         it is what the read reports (freed or NULL trid, I1)",
    },
];

impl Foreign {
    /// Every entry, for docs and tests.
    pub const ALL: &'static [Foreign] = &[
        Foreign::ConnectFindsSubsystem,
        Foreign::FixedFields,
        Foreign::CommandReadsCtrlr,
        Foreign::PollGroupReadsSubsystem,
        Foreign::CcTimeoutReadsNamespaces,
        Foreign::BdevBlocks,
        Foreign::SubsystemThreadAddsCtrlr,
        Foreign::SubsystemThreadChecksIoConnect,
        Foreign::CtrlrThreadAddsIoQpair,
        Foreign::SubsystemThreadRemovesCtrlr,
        Foreign::DisconnectFromAnyThread,
        Foreign::CompleteFromAnyThread,
        Foreign::AbortFanout,
        Foreign::DiscoveryLogPageOnAppThread,
        Foreign::SubsystemNotesNsChange,
        Foreign::ListenerTridThroughPointer,
    ];

    /// What the entry allows and where SPDK does it.
    pub fn entry(self) -> &'static ForeignEntry {
        &TABLE[self as usize]
    }

    fn bits(self) -> u16 {
        let e = self.entry();
        let r = e.reads.iter().map(|k| allow_bit(*k, false));
        let w = e.writes.iter().map(|k| allow_bit(*k, true));
        r.chain(w).fold(0, |a, b| a | b)
    }
}

/// Allows `f`'s accesses until dropped.
pub(crate) struct ForeignGuard(u16);

impl Drop for ForeignGuard {
    #[inline]
    fn drop(&mut self) {
        record::restore_allowed(self.0);
    }
}

/// Allows the foreign accesses `f` names until the guard drops.
#[must_use]
#[inline]
pub(crate) fn foreign(f: Foreign) -> ForeignGuard {
    ForeignGuard(record::allow(f.bits()))
}

/// Suspends the check until the guard drops, for the model's own bookkeeping inside a step
/// (the checker's records for I9/I13 and P1, the poller index): no SPDK code reads there.
#[must_use]
pub(crate) fn bookkeeping() -> ForeignGuard {
    ForeignGuard(record::allow(u16::MAX))
}

thread_local! {
    /// The SPDK function the running step executes (the violation's site).
    static SITE: Cell<&'static str> = const { Cell::new("") };
}

/// Names the running SPDK function (a message's handler).
pub(super) fn set_site(site: &'static str) {
    SITE.set(site);
}

/// The SPDK function an input starts in (before any message runs).
fn input_site(input: &Input) -> &'static str {
    match input {
        Input::Accept { .. } => "nvmf_tcp_handle_connect",
        Input::Bytes { .. } => "nvmf_tcp_sock_process",
        Input::PeerClosed { .. } => "nvmf_tcp_sock_process (peer closed)",
        Input::Rpc { .. } => "rpc (app thread)",
        Input::Run(_) => "spdk_thread_poll",
        Input::Complete(_) => "spdk_bdev_io_complete",
        Input::Fire(t) => timer_site(t),
    }
}

fn timer_site(t: &Timer) -> &'static str {
    match t {
        Timer::KeepAlive { .. } => "nvmf_ctrlr_keep_alive_poll",
        Timer::Association { .. } => "nvmf_ctrlr_association_remove",
        Timer::CcRepoll { .. } => "_nvmf_ctrlr_cc_reset_shn_done",
        Timer::CcTimeout { .. } => "nvmf_ctrlr_cc_timeout",
        Timer::ConnectRetry { .. } => "_retry_connect",
        Timer::QidRetry { .. } => "_retry_qid_check",
        Timer::IdleConnection { .. } => "nvmf_tcp_qpair_idle",
        Timer::DisconnectHost { .. } => "nvmf_subsystem_disconnect_host_poll",
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Subsystem => "subsystem",
        Kind::Qpair => "qpair",
        Kind::Ctrlr => "controller",
        Kind::Request => "request",
        Kind::Poller => "poller",
        Kind::Listener => "listener",
    }
}

/// Check state saved across one step.
pub(super) struct Step(bool);

/// The thread whose code runs from here on: `Target::current`, and the running thread of the
/// I17 check (a free function so a caller may hold a borrow of another field).
pub(super) fn enter(current: &mut ThreadId, t: ThreadId) {
    *current = t;
    record::set_running(Some(t));
}

impl Target {
    /// Starts the I17 check for one step (unless the configuration turns it off).
    pub(super) fn ownership_begin(&self, input: &Input) -> Option<Step> {
        if self.config.ownership_check_off {
            return None;
        }
        set_site(input_site(input));
        record::set_running(None);
        let _ = record::take_breaches();
        Some(Step(record::set_checking(true)))
    }

    /// Ends the step's check and records its first breach as a violation of I17.
    pub(super) fn ownership_end(&mut self, step: Option<Step>) {
        let Some(Step(was)) = step else { return };
        record::set_checking(was);
        record::set_running(None);
        if let Some(b) = record::take_breaches().first() {
            self.ownership_breach(*b);
        }
    }

    fn ownership_breach(&mut self, b: Breach) {
        let what = kind_name(b.kind);
        let (idx, gen) = b.slot;
        let handle = format!("{what}#{idx}.{gen}");
        let verb = if b.write { "written" } else { "read" };
        let (file, line) = (b.at.file(), b.at.line());
        let (running, owner) = (b.running, b.owner);
        let detail =
            format!("{what} {verb} on {running} but owned by {owner} (model: {file}:{line})");
        self.crash_on(
            InvariantId::ThreadOwnership,
            SITE.get(),
            vec![handle],
            &detail,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvmf::arena::{Arena, CtrlrH, Owned};

    struct OnPg0;
    impl Owned for OnPg0 {
        fn owner(&self) -> Option<ThreadId> {
            Some(ThreadId::PollGroup(0))
        }
    }

    /// Accesses `h` on `running` as `access` does inside a step; the breaches it made.
    fn breaches(running: ThreadId, access: impl FnOnce()) -> Vec<Breach> {
        let was = record::set_checking(true);
        record::set_running(Some(running));
        access();
        record::set_running(None);
        record::set_checking(was);
        record::take_breaches()
    }

    #[test]
    fn an_access_off_the_owner_thread_is_a_breach_unless_spdk_makes_it() {
        let mut a: Arena<CtrlrH, OnPg0> = Arena::default();
        let h = a.insert(OnPg0);
        let pg0 = ThreadId::PollGroup(0);
        assert!(breaches(pg0, || {
            let _ = a.get_mut(h);
        })
        .is_empty());
        let b = breaches(ThreadId::PollGroup(1), || {
            let _ = a.get(h);
        });
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].kind, b[0].write, b[0].owner),
            (Kind::Ctrlr, false, pg0)
        );
        let read = || {
            let _f = foreign(Foreign::FixedFields);
            let _ = a.get(h);
        };
        assert!(breaches(ThreadId::App, read).is_empty(), "an allowed read");
        let write = || {
            let _f = foreign(Foreign::FixedFields);
            let _ = a.get_mut(h);
        };
        let b = breaches(ThreadId::App, write);
        assert!(
            b.len() == 1 && b[0].write,
            "a read entry allows no write: {b:?}"
        );
        // Outside a step (no running thread) nothing is checked.
        let outside = breaches(pg0, || {
            record::set_running(None);
            let _ = a.get(h);
        });
        assert!(outside.is_empty());
    }

    #[test]
    fn every_allow_list_entry_cites_spdk_and_says_why_it_is_not_split() {
        assert_eq!(Foreign::ALL.len(), TABLE.len());
        for (i, f) in Foreign::ALL.iter().enumerate() {
            assert_eq!(
                *f as usize, i,
                "Foreign::ALL and TABLE follow the enum's order"
            );
        }
        for f in Foreign::ALL {
            let e = f.entry();
            assert!(!e.reads.is_empty(), "{f:?} allows nothing");
            assert!(e.writes.iter().all(|w| e.reads.contains(w)), "{f:?}");
            assert!(e.spdk.contains(".c:") && e.spdk.contains(" / "), "{f:?}");
            assert!(e.split.len() > 20, "{f:?}");
        }
    }

    #[test]
    fn docs_list_every_allow_list_entry() -> std::io::Result<()> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/invariants.md");
        let doc = std::fs::read_to_string(path)?;
        for f in Foreign::ALL {
            let row = format!("| `{f:?}` |");
            assert!(doc.contains(&row), "docs/invariants.md lacks {row}");
        }
        Ok(())
    }
}
