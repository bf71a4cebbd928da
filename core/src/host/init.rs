//! The controller init sequence real hosts (SPDK, Linux) run after the admin CONNECT, one
//! command at a time, in this order: Property Get VS, CAP, CC; Property Set CC (EN = 1,
//! IOSQES = 6, IOCQES = 4); poll CSTS.RDY; Identify controller; Set Features AEC; the AERs;
//! Get Features KATO (arms Keep Alive); Set Features number of queues; Identify active
//! namespace list and each namespace. Then `HostEvent::Ready`.
//!
//! Invariants kept: each step is sent only after the previous one completed; a failed
//! register access, CC write, CSTS timeout or Identify Controller check (icdoff 0, SGL support,
//! matching cntlid, as Linux checks) stops init in `CtrlPhase::Failed`; the other steps are
//! reported when they fail and init goes on, as Linux does.

use super::ctrl::{property_get, set_cc, CtrlPhase, PollGoal, CC_EN};
use super::queue::{Payload, Purpose};
use super::{Host, HostEvent};
use crate::wire::{feature, prop, Command, Cqe, IdentifyController, IdentifyNamespace};

/// CC.IOSQES = 6 (64 B SQEs) and CC.IOCQES = 4 (16 B CQEs).
const CC_IO_ENTRY_SIZES: u32 = (6 << 16) | (4 << 20);
/// AEN kinds a host enables (Linux `NVME_AEN_SUPPORTED`: ns attr, fw activation, ANA, disc).
const AEN_SUPPORTED: u32 = (1 << 8) | (1 << 9) | (1 << 11) | (1 << 31);
/// I/O queues asked for in Set Features number of queues (0's based).
const IO_QUEUES_WANTED: u32 = 63;
const IDENTIFY_LEN: u32 = 4096;

/// One step of the init sequence (the command whose completion is awaited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum InitStep {
    GetVs,
    GetCap,
    GetCc,
    SetCc,
    IdentifyCtrl,
    SetAec,
    GetKato,
    SetQueues,
    IdentifyNsList,
    IdentifyNs(u32),
}

impl InitStep {
    /// The command this step sends, and how its data moves.
    fn command(self, host: &Host) -> (Command, Payload) {
        let data = Payload::Receive(IDENTIFY_LEN);
        match self {
            InitStep::GetVs => (property_get(prop::VS), Payload::None),
            InitStep::GetCap => (property_get(prop::CAP), Payload::None),
            InitStep::GetCc => (property_get(prop::CC), Payload::None),
            InitStep::SetCc => (set_cc(host.ctrl.cc), Payload::None),
            InitStep::IdentifyCtrl => (identify(1, 0), data),
            InitStep::SetAec => (
                set_features(feature::ASYNC_EVENT_CONFIG, host.ctrl.oaes & AEN_SUPPORTED),
                Payload::None,
            ),
            InitStep::GetKato => (
                Command::GetFeatures {
                    fid: feature::KEEP_ALIVE_TIMER,
                    sel: 0,
                    cdw11: 0,
                },
                Payload::None,
            ),
            InitStep::SetQueues => (
                set_features(
                    feature::NUMBER_OF_QUEUES,
                    IO_QUEUES_WANTED | (IO_QUEUES_WANTED << 16),
                ),
                Payload::None,
            ),
            InitStep::IdentifyNsList => (identify(2, 0), data),
            InitStep::IdentifyNs(nsid) => (identify(0, nsid), data),
        }
    }

    /// Whether a failure of this step ends init (Linux treats the others as warnings).
    fn is_fatal(self) -> bool {
        matches!(
            self,
            InitStep::GetVs
                | InitStep::GetCap
                | InitStep::GetCc
                | InitStep::SetCc
                | InitStep::IdentifyCtrl
        )
    }
}

fn identify(cns: u8, nsid: u32) -> Command {
    Command::Identify {
        cns,
        cntid: 0,
        nsid,
    }
}

fn set_features(fid: u8, cdw11: u32) -> Command {
    Command::SetFeatures {
        fid,
        save: false,
        cdw11,
    }
}

/// Log page of the changed namespace list (read after a namespace attribute AEN).
const LID_CHANGED_NS: u8 = 0x04;

/// The active namespace list: little-endian u32 nsids, ending at the first 0.
fn parse_ns_list(data: &[u8]) -> Vec<u32> {
    data.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .take_while(|&n| n != 0)
        .collect()
}

impl Host {
    pub(crate) fn start_init(&mut self) {
        self.ctrl.phase = CtrlPhase::Initializing;
        self.ctrl.namespaces.clear();
        self.send_step(InitStep::GetVs);
    }

    fn send_step(&mut self, step: InitStep) {
        let (cmd, payload) = step.command(self);
        if let Err(status) = self.submit_live(0, &cmd, Purpose::Init(step), payload) {
            self.ctrl.phase = CtrlPhase::Failed;
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc: cmd.to_sqe(0).opc,
                status,
            });
        }
    }

    /// The completion of init step `step` (with its C2H data in `rx`).
    pub(crate) fn init_step_done(&mut self, step: InitStep, opc: u8, cqe: &Cqe, rx: &[u8]) {
        if self.ctrl.phase != CtrlPhase::Initializing {
            return;
        }
        if !cqe.status.is_success() {
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc,
                status: cqe.status,
            });
            if step.is_fatal() {
                self.ctrl.phase = CtrlPhase::Failed;
                return;
            }
        }
        let ok = cqe.status.is_success();
        self.init_step_succeeded(step, cqe, rx, ok);
    }

    /// Records what `step` returned (when `ok`) and sends the next step.
    fn init_step_succeeded(&mut self, step: InitStep, cqe: &Cqe, rx: &[u8], ok: bool) {
        match step {
            InitStep::GetVs => {
                self.ctrl.vs = cqe.cdw0;
                self.send_step(InitStep::GetCap);
            }
            InitStep::GetCap => {
                self.ctrl.cap = u64::from(cqe.cdw0) | u64::from(cqe.cdw1) << 32;
                self.send_step(InitStep::GetCc);
            }
            InitStep::GetCc => {
                self.ctrl.cc = CC_IO_ENTRY_SIZES | CC_EN;
                self.send_step(InitStep::SetCc);
            }
            InitStep::SetCc => {
                let timeout = self.ctrl.ready_timeout();
                self.start_csts_poll(PollGoal::Ready, timeout);
            }
            InitStep::IdentifyCtrl => self.identify_ctrl_done(rx),
            InitStep::SetAec => self.aec_done(),
            InitStep::GetKato => {
                let kato = if ok && cqe.cdw0 != 0 {
                    cqe.cdw0
                } else {
                    self.config.kato_ms
                };
                self.arm_keep_alive(if self.config.kato_ms == 0 { 0 } else { kato });
                self.send_step(InitStep::SetQueues);
            }
            InitStep::SetQueues => {
                let granted = (cqe.cdw0 & 0xFFFF).min(cqe.cdw0 >> 16) as u16;
                self.ctrl.io_queues = if ok { granted.saturating_add(1) } else { 0 };
                self.send_step(InitStep::IdentifyNsList);
            }
            InitStep::IdentifyNsList => {
                self.ctrl.ns_scan = if ok { parse_ns_list(rx) } else { Vec::new() };
                self.next_namespace();
            }
            InitStep::IdentifyNs(nsid) => {
                if let Some(ns) = IdentifyNamespace::parse(rx).filter(|_| ok) {
                    if (9..=16).contains(&ns.lbads) {
                        self.ctrl.namespaces.insert(nsid, 1 << ns.lbads);
                    }
                }
                self.next_namespace();
            }
        }
    }

    /// CSTS.RDY = 1 reached: identify the controller.
    pub(crate) fn init_ready_reached(&mut self) {
        self.send_step(InitStep::IdentifyCtrl);
    }

    fn identify_ctrl_done(&mut self, rx: &[u8]) {
        let id = match IdentifyController::parse(rx) {
            Some(id) => id,
            None => return self.init_failed("Identify Controller data too short"),
        };
        if id.icdoff != 0 {
            return self.init_failed(&format!("icdoff {} is not supported", id.icdoff));
        }
        if id.sgls & 1 == 0 {
            return self.init_failed("Mandatory sgls are not supported");
        }
        if Some(id.cntlid) != self.ctrl.cntlid {
            return self.init_failed(&format!(
                "Mismatching cntlid: Connect {:?} vs Identify {}",
                self.ctrl.cntlid, id.cntlid
            ));
        }
        self.ctrl.ioccsz = id.ioccsz;
        self.ctrl.mdts = id.mdts;
        self.ctrl.aerl = id.aerl;
        self.ctrl.oaes = id.oaes;
        self.send_step(InitStep::SetAec);
    }

    fn init_failed(&mut self, reason: &str) {
        self.ctrl.phase = CtrlPhase::Failed;
        self.event(HostEvent::ControllerFailed {
            reason: reason.to_string(),
        });
    }

    /// AEC configured (or not): submit the AERs (at most AERL + 1), then read KATO.
    fn aec_done(&mut self) {
        let aers = self.config.aers.min(self.ctrl.aerl.saturating_add(1));
        for _ in 0..aers {
            self.submit_aer();
        }
        self.send_step(InitStep::GetKato);
    }

    /// The log page read after an AEN completed; a changed-namespace list starts a rescan
    /// (Identify active list, then each namespace), as Linux's scan work does.
    pub(crate) fn aen_log_done(&mut self, lid: u8, opc: u8, cqe: &Cqe) {
        self.admin_done(opc, cqe);
        if cqe.status.is_success() && lid == LID_CHANGED_NS && self.ctrl.phase == CtrlPhase::Ready {
            self.send_rescan(InitStep::IdentifyNsList);
        }
    }

    fn send_rescan(&mut self, step: InitStep) {
        let (cmd, payload) = step.command(self);
        let _ = self.submit_live(0, &cmd, Purpose::Rescan(step), payload);
    }

    /// One rescan Identify answered: rebuild the namespace table from the new active list.
    pub(crate) fn rescan_step_done(&mut self, step: InitStep, cqe: &Cqe, rx: &[u8]) {
        let ok = cqe.status.is_success();
        match step {
            InitStep::IdentifyNsList if ok => {
                let list = parse_ns_list(rx);
                self.ctrl.namespaces.retain(|nsid, _| list.contains(nsid));
                self.ctrl.rescan = list;
            }
            InitStep::IdentifyNs(nsid) => {
                match IdentifyNamespace::parse(rx).filter(|ns| ok && (9..=16).contains(&ns.lbads)) {
                    Some(ns) => self.ctrl.namespaces.insert(nsid, 1 << ns.lbads),
                    None => self.ctrl.namespaces.remove(&nsid),
                };
            }
            _ => return,
        }
        if !self.ctrl.rescan.is_empty() {
            let nsid = self.ctrl.rescan.remove(0);
            self.send_rescan(InitStep::IdentifyNs(nsid));
        }
    }

    /// Identifies the next namespace of the active list, or finishes init.
    fn next_namespace(&mut self) {
        if self.ctrl.ns_scan.is_empty() {
            self.ctrl.phase = CtrlPhase::Ready;
            let cntlid = self.ctrl.cntlid.unwrap_or(0xFFFF);
            return self.event(HostEvent::Ready { cntlid });
        }
        let nsid = self.ctrl.ns_scan.remove(0);
        self.send_step(InitStep::IdentifyNs(nsid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_list_stops_at_the_first_zero() {
        let mut data = vec![0u8; 4096];
        data[..4].copy_from_slice(&1u32.to_le_bytes());
        data[4..8].copy_from_slice(&7u32.to_le_bytes());
        data[12..16].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(parse_ns_list(&data), vec![1, 7]);
        assert_eq!(parse_ns_list(&[1, 0, 0]), Vec::<u32>::new());
    }

    #[test]
    fn only_register_and_identify_failures_are_fatal() {
        assert!(InitStep::SetCc.is_fatal());
        assert!(InitStep::IdentifyCtrl.is_fatal());
        assert!(!InitStep::SetAec.is_fatal());
        assert!(!InitStep::SetQueues.is_fatal());
        assert!(!InitStep::IdentifyNs(1).is_fatal());
    }
}
