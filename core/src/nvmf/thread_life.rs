//! Thread and poll-group lifetime (structure S1 of catalogue issue II): whole-target shutdown
//! destroys every poll group and lets its thread exit, as SPDK's `nvmf_tgt.c` does.
//!
//! SPDK (v24.01 and master, `lib/thread/thread.c`): `spdk_thread_exit` moves a thread to
//! EXITING; `thread_exit` marks it EXITED only once its message ring is empty and no poller is
//! registered on it, so messages queued before the exit still run. A send to an EXITED thread
//! fails: v24.01 logs "marked as exited" and returns -EIO (the message is lost), master calls
//! `abort()`. The poll group itself (`struct spdk_nvmf_poll_group`, the io_channel's context)
//! is freed when its channel is put, right before its thread starts exiting
//! (`nvmf_tgt_destroy_poll_group` -> `nvmf_tgt_cleanup_poll_group` -> destroy_cb
//! `nvmf_tgt_destroy_poll_group_done` -> `spdk_thread_exit`).
//!
//! Invariant kept and checked here, I15 (thread and poll-group lifetime): no message that
//! reads its poll group runs after that group was destroyed, and no message is sent to an
//! exited thread. Both are recorded as violations naming the SPDK function.
//!
//! Simplifications: the EXITING -> EXITED step is taken as soon as the conditions hold (after
//! the thread's last message ran), i.e. the scheduler always polls an exiting thread next;
//! the five-second forced exit (`SPDK_THREAD_EXIT_TIMEOUT_SEC`) is not modelled. The app
//! thread never exits (SPDK's app thread outlives the nvmf target).

use super::thread::{thread_index, Msg};
use super::{BugId, InvariantId, Mark, Target, ThreadId};
use serde::Serialize;

/// `spdk_thread->state` as far as lib/nvmf can observe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum ThreadLife {
    #[default]
    Running,
    /// `spdk_thread_exit` was called; queued messages still run.
    Exiting,
    /// `thread_exit` found nothing left: sends fail.
    Exited,
}

/// Lifetime bookkeeping: one keeper for thread states and the function now running.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Lifetime {
    /// Indexed like `Target::queues` (0 = app, 1 + n = poll group n).
    threads: Vec<ThreadLife>,
    /// The SPDK function of the message being dispatched (None between steps, so resting
    /// states do not differ by it).
    running: Option<&'static str>,
    /// Disconnect callbacks registered with `spdk_nvmf_qpair_disconnect(qpair, cb, ctx)`
    /// (only the `spdk-2765` walk registers one; disconnect_cb.rs): qpair -> destroy fan-out.
    disconnect_cbs: Vec<(super::arena::QpairH, u64)>,
}

impl Lifetime {
    pub fn new(threads: usize) -> Self {
        Lifetime {
            threads: vec![ThreadLife::Running; threads],
            running: None,
            disconnect_cbs: Vec::new(),
        }
    }

    /// Remembers `cb` for `qpair` (`qpair_ctx->cb_fn`).
    pub fn register_disconnect_cb(&mut self, qpair: super::arena::QpairH, fan: u64) {
        self.disconnect_cbs.retain(|(q, _)| *q != qpair);
        self.disconnect_cbs.push((qpair, fan));
    }

    /// Takes the callback registered for `qpair`, if any.
    pub fn take_disconnect_cb(&mut self, qpair: super::arena::QpairH) -> Option<u64> {
        let i = self.disconnect_cbs.iter().position(|(q, _)| *q == qpair)?;
        Some(self.disconnect_cbs.remove(i).1)
    }

    /// The state of `t`.
    pub fn of(&self, t: ThreadId) -> ThreadLife {
        self.threads
            .get(thread_index(t))
            .copied()
            .unwrap_or_default()
    }
}

impl Msg {
    /// Whether the SPDK function this message runs dereferences its poll group (`group`,
    /// `qpair->group`, the channel's context): the group walks, CONNECT's last hop and request
    /// completion (the sgroup counters). `for_each_channel` visits are not listed: SPDK's
    /// `_call_channel` skips a thread whose channel is gone. Controller-thread hops that read only the controller
    /// (`_nvmf_ctrlr_free_from_qpair`, `_nvmf_ctrlr_destruct`) and the transport's own qpair
    /// teardown do not.
    pub fn reads_poll_group(&self) -> bool {
        matches!(
            self,
            Msg::PollGroupAdd { .. }
                | Msg::QpairDisconnect { .. }
                | Msg::SendConnectRsp { .. }
                | Msg::RequestComplete { .. }
                | Msg::RemoveSubsystemRepoll { .. }
                | Msg::StopListenRepoll { .. }
                | Msg::PgDestroyRepoll { .. }
                | Msg::TgtDestroyPollGroup { .. }
                | Msg::TgtDisconnectNext { .. }
        )
    }
}

impl Target {
    /// The thread lifetime of `t` (S1).
    pub fn thread_life(&self, t: ThreadId) -> ThreadLife {
        self.lifetime.of(t)
    }

    /// `spdk_thread_send_msg`'s check: a send to an EXITED thread is I15 (master aborts,
    /// v24.01 loses the message with -EIO). Returns whether the message may be queued.
    pub(super) fn send_allowed(&mut self, to: ThreadId, msg: &Msg) -> bool {
        if self.lifetime.of(to) != ThreadLife::Exited {
            return true;
        }
        let site = self.lifetime.running.unwrap_or("spdk_thread_send_msg");
        let detail = if self.config.spdk.aborts_on_send_to_exited_thread() {
            "spdk_thread_send_msg to a thread marked as exited: abort()"
        } else {
            "spdk_thread_send_msg to a thread marked as exited: -EIO, the message is lost"
        };
        let handles = vec![format!("{to}"), msg.name().to_string()];
        self.crash_on(InvariantId::ThreadLifetime, site, handles, detail);
        false
    }

    /// `spdk_thread_send_msg` from a function nested in the running message (the I15 site).
    pub(super) fn send_msg_from(&mut self, site: &'static str, to: ThreadId, msg: Msg) {
        let outer = self.lifetime.running.replace(site);
        self.send_msg(to, msg);
        self.lifetime.running = outer;
    }

    /// Before a message runs on `thread`: one that reads a destroyed poll group is I15.
    /// Returns whether it may run; records the running function for `send_allowed`.
    pub(super) fn run_allowed(&mut self, thread: ThreadId, msg: &Msg) -> bool {
        self.lifetime.running = Some(msg.name());
        let ThreadId::PollGroup(pg) = thread else {
            return true;
        };
        let destroyed = self
            .pgs
            .get(usize::from(pg))
            .is_some_and(|g| g.is_destroyed());
        if !destroyed || !msg.reads_poll_group() {
            return true;
        }
        let handles = vec![format!("pg{pg} (freed)"), msg.name().to_string()];
        let detail = "message runs against a destroyed poll group (use after free of \
                      struct spdk_nvmf_poll_group)";
        self.crash_on(InvariantId::ThreadLifetime, msg.name(), handles, detail);
        false
    }

    /// After a message ran on `thread`: `thread_exit` for an exiting thread.
    pub(super) fn ran_on(&mut self, thread: ThreadId) {
        self.lifetime.running = None;
        self.thread_exit_poll(thread);
    }

    /// `spdk_thread_exit` on the current poll group thread (`nvmf_tgt_destroy_poll_group_done`
    /// after the group was freed).
    pub(super) fn thread_exit(&mut self, t: ThreadId) {
        let i = thread_index(t);
        if self.lifetime.threads.get(i) == Some(&ThreadLife::Running) {
            self.lifetime.threads[i] = ThreadLife::Exiting;
        }
        self.thread_exit_poll(t);
    }

    /// `thread_exit`: EXITING -> EXITED once no message is queued (or parked: a parked
    /// re-poll is a message SPDK keeps re-sending) and no poller is registered on `t`.
    /// v21.01's `thread_exit` (the `spdk-1850` switch) waited for the pollers only.
    fn thread_exit_poll(&mut self, t: ThreadId) {
        let i = thread_index(t);
        if self.lifetime.threads.get(i) != Some(&ThreadLife::Exiting) {
            return;
        }
        let queued = !self.queues[i].is_empty() || !self.parked[i].is_empty();
        let waits_for_ring = !self.bug(BugId::Spdk1850);
        if (waits_for_ring && queued) || self.pollers.iter().any(|(_, p)| p.thread == t) {
            return;
        }
        self.lifetime.threads[i] = ThreadLife::Exited;
        self.mark(Mark::ThreadExited, format!("{t}"));
        if queued {
            self.exited_with_messages(t);
        }
    }

    /// v21.01: a thread marked EXITED with messages still on its ring. The reactor destroys
    /// it (`spdk_thread_destroy` -> `_free_thread` frees the ring): the messages never run,
    /// and whatever they were to free or finish is lost with them (I15).
    fn exited_with_messages(&mut self, t: ThreadId) {
        let i = thread_index(t);
        let first = self.queues[i]
            .front()
            .or_else(|| self.parked[i].first())
            .map(|m| m.name());
        let Some(name) = first else { return };
        let handles = vec![format!("{t} (exited)"), name.to_string()];
        let detail = "message queued on a thread that exited without running it: v21.01's \
                      thread_exit does not wait for the message ring, and spdk_thread_destroy \
                      frees the ring with the message on it";
        self.crash_on(InvariantId::ThreadLifetime, name, handles, detail);
    }
}
