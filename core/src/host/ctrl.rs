//! The controller as the host sees it: lifecycle phase, registers read during init, Identify
//! results, the keep-alive timer, CSTS polling (enable, reset, shutdown) and AERs.
//!
//! Invariants kept: at most one CSTS poll and one Keep Alive in flight; timers are only armed
//! while the admin queue is live; closing the admin queue disarms both and forgets the cntlid.

use super::queue::{Payload, Purpose, QueueState};
use super::{Host, HostEvent, Qid};
use crate::time::{Duration, Instant};
use crate::wire::{prop, AsyncEvent, Command, Cqe, OPC_FABRICS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CC.EN.
pub(crate) const CC_EN: u32 = 1;
/// CC.SHN = 01b (normal shutdown), bits 14..16.
const CC_SHN_NORMAL: u32 = 1 << 14;
const CC_SHN_MASK: u32 = 3 << 14;
/// CSTS.RDY.
const CSTS_RDY: u32 = 1;
/// CSTS.SHST, bits 2..4; 10b = shutdown complete.
const CSTS_SHST_MASK: u32 = 3 << 2;
const CSTS_SHST_COMPLETE: u32 = 2 << 2;
/// How often CSTS is re-read while waiting.
pub(crate) const CSTS_POLL_PERIOD: Duration = Duration::from_millis(10);
/// Linux's `NVME_SHUTDOWN_TIMEOUT` when RTD3E is not reported.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const OPC_AER: u8 = 0x0C;
const OPC_KEEP_ALIVE: u8 = 0x18;

/// Where the controller is, as the host sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum CtrlPhase {
    /// No admin CONNECT has succeeded (or the admin queue closed).
    #[default]
    Down,
    /// Admin queue connected; controller not enabled by this host (or disabled by a reset).
    Connected,
    /// The init sequence is running.
    Initializing,
    /// Init finished: I/O queues may connect.
    Ready,
    /// CC.EN = 0 written, waiting for CSTS.RDY = 0.
    Resetting,
    /// CC.SHN written, waiting for CSTS.SHST = complete.
    ShuttingDown,
    /// CSTS.SHST = complete.
    ShutDown,
    /// The host gave up (init check failed, CSTS timeout, init command failed).
    Failed,
}

/// What a CSTS poll waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PollGoal {
    /// CSTS.RDY = 1 after CC.EN = 1 (init).
    Ready,
    /// CSTS.RDY = 0 after CC.EN = 0 (reset).
    Disabled,
    /// CSTS.SHST = complete after CC.SHN.
    ShutdownDone,
}

/// An active CSTS poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CstsPoll {
    pub goal: PollGoal,
    /// Give up when a poll answers "not yet" at or after this time.
    pub deadline: Instant,
    /// When to send the next Property Get CSTS (`None` while one is in flight).
    pub next: Option<Instant>,
}

/// Periodic Keep Alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KeepAliveTimer {
    /// Scripted switch (`SetKeepAlive`).
    pub enabled: bool,
    /// KATO/2, known after Get Features KATO.
    pub period: Option<Duration>,
    pub next: Option<Instant>,
    pub in_flight: bool,
}

impl Default for KeepAliveTimer {
    fn default() -> Self {
        KeepAliveTimer {
            enabled: true,
            period: None,
            next: None,
            in_flight: false,
        }
    }
}

/// Controller-level host state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Ctrl {
    pub cntlid: Option<u16>,
    /// The last cntlid an admin CONNECT returned, kept after the admin queue closed.
    pub last_cntlid: Option<u16>,
    pub phase: CtrlPhase,
    /// `Connect`/`Initialize`: start init once the admin CONNECT succeeds.
    pub auto_init: bool,
    pub vs: u32,
    pub cap: u64,
    /// The last CC value read or written.
    pub cc: u32,
    /// From Identify Controller: in-capsule size in 16 B units, MDTS, AERL.
    pub ioccsz: u32,
    pub mdts: u8,
    pub aerl: u8,
    pub oaes: u32,
    /// I/O queues granted by Set Features number of queues.
    pub io_queues: u16,
    /// nsid -> block size in bytes.
    pub namespaces: BTreeMap<u32, u32>,
    /// Namespaces of the active list still to identify during init.
    pub ns_scan: Vec<u32>,
    /// Namespaces still to identify in a rescan after a namespace-changed AEN.
    pub rescan: Vec<u32>,
    pub ka: KeepAliveTimer,
    pub poll: Option<CstsPoll>,
}

impl Ctrl {
    pub fn admin_connected(&mut self, cntlid: u16) {
        self.cntlid = Some(cntlid);
        self.last_cntlid = Some(cntlid);
        self.phase = CtrlPhase::Connected;
    }

    pub fn admin_closed(&mut self) {
        self.cntlid = None;
        self.phase = CtrlPhase::Down;
        self.auto_init = false;
        self.poll = None;
        self.ka.period = None;
        self.ka.next = None;
        self.ka.in_flight = false;
    }

    /// CAP.TO (bits 24..32, 500 ms units) as Linux reads it: `(TO + 1) * 500 ms`.
    pub fn ready_timeout(&self) -> Duration {
        Duration::from_millis(((self.cap >> 24) & 0xFF).saturating_add(1) * 500)
    }

    /// Largest write sent in-capsule on an I/O queue: `ioccsz * 16 - 64`.
    pub fn in_capsule_limit(&self) -> u32 {
        self.ioccsz.saturating_mul(16).saturating_sub(64)
    }

    /// Largest transfer (MDTS, in units of 4 KiB pages), `None` for no limit.
    pub fn max_transfer(&self) -> Option<u64> {
        (self.mdts != 0).then(|| 4096u64 << self.mdts.min(40))
    }
}

/// Property Get (4-byte attribute unless `ofst` is CAP).
pub(crate) fn property_get(ofst: u32) -> Command {
    Command::PropertyGet {
        attrib: u8::from(ofst == prop::CAP),
        ofst,
    }
}

/// Property Set CC.
pub(crate) fn set_cc(value: u32) -> Command {
    Command::PropertySet {
        attrib: 0,
        ofst: prop::CC,
        value: u64::from(value),
    }
}

impl Host {
    pub(crate) fn open_admin(&mut self) {
        if self
            .queues
            .get(&0)
            .is_some_and(super::queue::Queue::is_open)
        {
            return self.reject("OpenAdmin: the admin queue is already open");
        }
        self.open_queue(0, false);
    }

    pub(crate) fn connect_admin(&mut self) {
        match self.queues.get(&0).map(|q| q.state) {
            Some(QueueState::IcDone) => self.send_connect(0),
            Some(QueueState::Opening | QueueState::AwaitingIcResp) => {
                if let Some(q) = self.queues.get_mut(&0) {
                    q.connect_on_ic = true;
                }
            }
            _ => self.event(HostEvent::ConnectFailed {
                qid: 0,
                status: super::local_status::HOST_PATH_ERROR,
            }),
        }
    }

    pub(crate) fn initialize(&mut self) {
        match (self.queues.get(&0).map(|q| q.state), self.ctrl.phase) {
            (Some(QueueState::Live), CtrlPhase::Connected) => self.start_init(),
            (Some(QueueState::Opening | QueueState::AwaitingIcResp | QueueState::IcDone), _)
            | (Some(QueueState::Connecting), _) => self.ctrl.auto_init = true,
            (_, phase) => self.reject(format!("Initialize in phase {phase:?}")),
        }
    }

    pub(crate) fn connect_all(&mut self) {
        if self
            .queues
            .get(&0)
            .is_some_and(super::queue::Queue::is_open)
        {
            return self.reject("Connect: the admin queue is already open");
        }
        self.ctrl.auto_init = true;
        self.open_queue(0, true);
    }

    pub(crate) fn connect_io(&mut self, qid: Qid) {
        let open = self
            .queues
            .get(&qid)
            .is_some_and(super::queue::Queue::is_open);
        if qid == 0 || open || self.ctrl.cntlid.is_none() {
            return self.event(HostEvent::ConnectFailed {
                qid,
                status: super::local_status::HOST_PATH_ERROR,
            });
        }
        self.open_queue(qid, true);
    }

    /// Starts waiting for `goal`: sends the first Property Get CSTS now.
    pub(crate) fn start_csts_poll(&mut self, goal: PollGoal, timeout: Duration) {
        self.ctrl.poll = Some(CstsPoll {
            goal,
            deadline: self.now + timeout,
            next: Some(self.now),
        });
        self.fire_csts_poll();
    }

    /// Sends the due CSTS poll, if any.
    pub(crate) fn fire_csts_poll(&mut self) {
        let now = self.now;
        let Some(poll) = self
            .ctrl
            .poll
            .as_mut()
            .filter(|p| p.next.is_some_and(|t| t <= now))
        else {
            return;
        };
        poll.next = None;
        let cmd = property_get(prop::CSTS);
        if self
            .submit_live(0, &cmd, Purpose::CstsPoll, Payload::None)
            .is_err()
        {
            self.ctrl.poll = None;
        }
    }

    /// A Property Get CSTS answered: done, poll again in 10 ms, or give up.
    pub(crate) fn csts_polled(&mut self, cqe: &Cqe) {
        let Some(poll) = self.ctrl.poll else {
            return;
        };
        if !cqe.status.is_success() {
            self.ctrl.poll = None;
            return self.poll_failed(
                poll.goal,
                &format!("Property Get CSTS failed: {:?}", cqe.status),
            );
        }
        let csts = cqe.cdw0;
        let reached = match poll.goal {
            PollGoal::Ready => csts & CSTS_RDY != 0,
            PollGoal::Disabled => csts & CSTS_RDY == 0,
            PollGoal::ShutdownDone => csts & CSTS_SHST_MASK == CSTS_SHST_COMPLETE,
        };
        if reached {
            self.ctrl.poll = None;
            return self.poll_reached(poll.goal);
        }
        if self.now >= poll.deadline {
            self.ctrl.poll = None;
            return self.poll_failed(poll.goal, &format!("CSTS {csts:#x} after the timeout"));
        }
        if let Some(p) = self.ctrl.poll.as_mut() {
            p.next = Some(self.now + CSTS_POLL_PERIOD);
        }
    }

    fn poll_reached(&mut self, goal: PollGoal) {
        match goal {
            PollGoal::Ready => self.init_ready_reached(),
            PollGoal::Disabled => {
                self.ctrl.phase = CtrlPhase::Connected;
                self.event(HostEvent::ResetComplete);
            }
            PollGoal::ShutdownDone => {
                self.ctrl.phase = CtrlPhase::ShutDown;
                self.event(HostEvent::ShutdownComplete);
            }
        }
    }

    fn poll_failed(&mut self, goal: PollGoal, why: &str) {
        self.ctrl.phase = CtrlPhase::Failed;
        let what = match goal {
            PollGoal::Ready => "waiting for CSTS.RDY = 1",
            PollGoal::Disabled => "waiting for CSTS.RDY = 0",
            PollGoal::ShutdownDone => "waiting for CSTS.SHST = complete",
        };
        self.event(HostEvent::ControllerFailed {
            reason: format!("{what}: {why}"),
        });
    }

    /// Whether a CC write may start now (admin live, no init/reset/shutdown in progress).
    fn cc_write_allowed(&self, what: &str) -> Result<(), String> {
        if !self.is_live(0) {
            return Err(format!("{what}: the admin queue is not connected"));
        }
        match self.ctrl.phase {
            CtrlPhase::Initializing | CtrlPhase::Resetting | CtrlPhase::ShuttingDown => {
                Err(format!("{what} while {:?}", self.ctrl.phase))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn reset(&mut self) {
        if let Err(why) = self.cc_write_allowed("Reset") {
            return self.reject(why);
        }
        self.ctrl.cc &= !CC_EN;
        self.ctrl.phase = CtrlPhase::Resetting;
        self.write_cc();
    }

    pub(crate) fn shutdown(&mut self) {
        if let Err(why) = self.cc_write_allowed("Shutdown") {
            return self.reject(why);
        }
        // Linux stops keep-alive before shutting the controller down (nvme_stop_ctrl).
        self.ctrl.ka.next = None;
        self.ctrl.ka.enabled = false;
        self.ctrl.cc = (self.ctrl.cc & !CC_SHN_MASK) | CC_SHN_NORMAL;
        self.ctrl.phase = CtrlPhase::ShuttingDown;
        self.write_cc();
    }

    fn write_cc(&mut self) {
        let cmd = set_cc(self.ctrl.cc);
        if let Err(status) = self.submit_live(0, &cmd, Purpose::CcWrite, Payload::None) {
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: OPC_FABRICS,
                status,
            });
        }
    }

    /// The reset or shutdown CC write answered: poll CSTS for its effect.
    pub(crate) fn cc_write_done(&mut self, cqe: &Cqe) {
        if !cqe.status.is_success() {
            self.ctrl.phase = CtrlPhase::Connected;
            return self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: OPC_FABRICS,
                status: cqe.status,
            });
        }
        match self.ctrl.phase {
            CtrlPhase::Resetting => {
                let timeout = self.ctrl.ready_timeout();
                self.start_csts_poll(PollGoal::Disabled, timeout);
            }
            CtrlPhase::ShuttingDown => {
                self.start_csts_poll(PollGoal::ShutdownDone, SHUTDOWN_TIMEOUT)
            }
            _ => {}
        }
    }

    /// Arms periodic Keep Alive every KATO/2 (`kato_ms` 0: none).
    pub(crate) fn arm_keep_alive(&mut self, kato_ms: u32) {
        self.ctrl.ka.period = (kato_ms != 0).then(|| Duration::from_millis(u64::from(kato_ms) / 2));
        self.ctrl.ka.next = match (self.ctrl.ka.enabled, self.ctrl.ka.period) {
            (true, Some(p)) => Some(self.now + p),
            _ => None,
        };
    }

    pub(crate) fn set_keep_alive(&mut self, on: bool) {
        self.ctrl.ka.enabled = on;
        self.ctrl.ka.next = match (on, self.ctrl.ka.period) {
            (true, Some(p)) if self.is_live(0) => Some(self.now + p),
            _ => None,
        };
    }

    /// Sends the due Keep Alive (skipped if one is still in flight) and re-arms.
    pub(crate) fn fire_keep_alive(&mut self) {
        let (Some(next), Some(period)) = (self.ctrl.ka.next, self.ctrl.ka.period) else {
            return;
        };
        if next > self.now {
            return;
        }
        self.ctrl.ka.next = Some(self.now + period);
        if !self.ctrl.ka.in_flight {
            self.send_keep_alive();
        }
    }

    pub(crate) fn keep_alive_now(&mut self) {
        self.send_keep_alive();
    }

    fn send_keep_alive(&mut self) {
        match self.submit_live(0, &Command::KeepAlive, Purpose::KeepAlive, Payload::None) {
            Ok(_) => self.ctrl.ka.in_flight = true,
            Err(status) => self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: OPC_KEEP_ALIVE,
                status,
            }),
        }
    }

    /// Keep Alive or AEN log page completions: only failures are reported.
    pub(crate) fn admin_done(&mut self, opc: u8, cqe: &Cqe) {
        if opc == OPC_KEEP_ALIVE {
            self.ctrl.ka.in_flight = false;
        }
        if !cqe.status.is_success() {
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc,
                status: cqe.status,
            });
        }
    }

    pub(crate) fn submit_aer(&mut self) {
        if let Err(status) =
            self.submit_live(0, &Command::AsyncEventRequest, Purpose::Aer, Payload::None)
        {
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: OPC_AER,
                status,
            });
        }
    }

    /// An AER completed: report the event, read its log page (which lets the target send the
    /// next one of that type) and put the AER back. A failed AER is reported and not re-sent.
    pub(crate) fn aer_done(&mut self, cqe: &Cqe) {
        if !cqe.status.is_success() {
            return self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: OPC_AER,
                status: cqe.status,
            });
        }
        let event = AsyncEvent::from_cdw0(cqe.cdw0);
        self.event(HostEvent::Aen(event));
        if event.log_page != 0 {
            let cmd = Command::GetLogPage {
                lid: event.log_page,
                numd: 1023, // 0's based: 4096 bytes
                offset: 0,
                nsid: 0xFFFF_FFFF,
            };
            let purpose = Purpose::AenLog {
                lid: event.log_page,
            };
            let _ = self.submit_live(0, &cmd, purpose, Payload::Receive(4096));
        }
        self.submit_aer();
    }
}

#[cfg(test)]
mod tests;
