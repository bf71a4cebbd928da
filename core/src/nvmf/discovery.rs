//! The discovery service as SPDK's nvmf_tgt serves it (`ctrlr_discovery.c`, the discovery
//! branches of `ctrlr.c` and `subsystem.c`): a subsystem with the well-known NQN
//! `nqn.2014-08.org.nvmexpress.discovery`, created at start when `TargetConfig::discovery` is
//! set (SPDK's nvmf_tgt always creates it, allowing any host), connectable on every transport
//! listener; its controllers take no I/O queues, accept only Identify (CNS 1), Get Log Page
//! (supported pages, discovery, feature effects), Keep Alive, Get/Set Features (KATO, AEC) and
//! AER; a KATO of 0 becomes 120 s with discovery log change notices off, any other KATO turns
//! them on. The discovery log page (0x70) is built on the app thread from every subsystem that
//! is not INACTIVE/DEACTIVATING and allows the host: one record per subsystem listener, most
//! recently added first, subsystems in NQN order. Adding or removing a listener or a host, or
//! changing allow_any_host, bumps the generation counter and sends a log change notice to the
//! discovery controllers on their threads (masked until the host reads the page without RAE).
//!
//! Owns: `Discovery` (genctr, per-subsystem listener port ids, the notice mask). Invariant:
//! genctr only grows; a notice is delivered at most once until the page is read.
//! Simplifications (docs/runtime.md): no referrals, no discovery filter (SPDK's default
//! `match_any`), no admin labels (extended entries never carry attributes), TCP only.

use super::arena::{CtrlrH, ReqH, SubsysH};
use super::log_page::{dword_page, slice_page};
use super::ownership::{foreign, Foreign};
use super::thread::Msg;
use super::{SubState, SubsystemConfig, Target, ThreadId, Trid};
use crate::wire::{status, Command, IdentifyController, Status};
use serde::Serialize;
use std::collections::BTreeSet;

/// `SPDK_NVMF_DISCOVERY_NQN`.
pub const DISCOVERY_NQN: &str = "nqn.2014-08.org.nvmexpress.discovery";
/// `NVMF_DISC_KATO_IN_MS`: a discovery controller's KATO when the host asked for none.
pub const DISC_KATO_MS: u32 = 120_000;
/// AEC bit 31: discovery log page change notices.
pub const AEC_DISCOVERY_LOG_CHANGE: u32 = 1 << 31;
/// `SPDK_NVMF_TCP_DEFAULT_AQ_DEPTH`: the admin queue size a record advertises (ASQSZ).
const TCP_MAX_AQ_DEPTH: u16 = 128;
const LID_SUPPORTED_LOG_PAGES: u8 = 0x00;
const LID_FEATURE_IDS_EFFECTS: u8 = 0x12;
pub const LID_DISCOVERY: u8 = 0x70;
const HEADER_LEN: usize = 1024;
const ENTRY_LEN: usize = 1024;
/// An extended entry: the entry, then TEL (u32), NUMEXAT (u16), reserved (u16).
const EXT_ENTRY_LEN: usize = ENTRY_LEN + 8;

/// Discovery state of the target (`tgt->discovery_genctr`, the AEN mask bit). The records
/// come from the subsystems' listeners (`SubsysListener::id` is the PORTID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Discovery {
    genctr: u64,
    /// Controllers whose discovery log change notice is masked (sent, page not read yet).
    masked: BTreeSet<CtrlrH>,
}

impl Discovery {
    pub fn genctr(&self) -> u64 {
        self.genctr
    }
}

/// The subsystem facts one discovery record needs.
pub struct Record<'a> {
    pub nqn: &'a str,
    pub discovery: bool,
    pub trid: &'a Trid,
    pub portid: u16,
}

/// The discovery log page (`nvmf_generate_discovery_log`) for `records`.
pub fn log_page(genctr: u64, records: &[Record<'_>], extended: bool) -> Vec<u8> {
    let each = if extended { EXT_ENTRY_LEN } else { ENTRY_LEN };
    let mut page = vec![0u8; HEADER_LEN + each * records.len()];
    page[0..8].copy_from_slice(&genctr.to_le_bytes());
    page[8..16].copy_from_slice(&(records.len() as u64).to_le_bytes());
    if extended {
        page[18] = 1; // DLPF.EXTEND
        let total = page.len() as u32;
        page[20..24].copy_from_slice(&total.to_le_bytes());
    }
    for (i, r) in records.iter().enumerate() {
        let e = &mut page[HEADER_LEN + i * each..HEADER_LEN + (i + 1) * each];
        write_entry(e, r);
        if extended {
            e[ENTRY_LEN..ENTRY_LEN + 4].copy_from_slice(&(EXT_ENTRY_LEN as u32).to_le_bytes());
        }
    }
    page
}

/// One record: `nvmf_generate_discovery_log` + `nvmf_tcp_discover`.
fn write_entry(e: &mut [u8], r: &Record<'_>) {
    e[0] = 3; // TRTYPE TCP
    e[1] = if r.trid.traddr.contains(':') { 2 } else { 1 }; // ADRFAM IPv6 / IPv4
    e[2] = if r.discovery { 3 } else { 2 }; // SUBTYPE current discovery / NVMe
    e[3] = 2; // TREQ: secure channel not required
    e[4..6].copy_from_slice(&r.portid.to_le_bytes());
    e[6..8].copy_from_slice(&0xFFFFu16.to_le_bytes()); // CNTLID: dynamic
    e[8..10].copy_from_slice(&TCP_MAX_AQ_DEPTH.to_le_bytes());
    let eflags: u16 = if r.discovery { 0b11 } else { 0 }; // DUPRETINFO | EPCSD
    e[10..12].copy_from_slice(&eflags.to_le_bytes());
    pad(&mut e[32..64], r.trid.trsvcid.as_bytes(), b' ');
    pad(&mut e[256..512], r.nqn.as_bytes(), 0);
    pad(&mut e[512..768], r.trid.traddr.as_bytes(), b' ');
    e[768] = 0; // TSAS.TCP.SECTYPE none
}

/// `spdk_strcpy_pad` (and `snprintf` for the NQN: NUL padding, the last byte kept NUL).
fn pad(field: &mut [u8], src: &[u8], fill: u8) {
    let room = if fill == 0 {
        field.len() - 1
    } else {
        field.len()
    };
    let n = src.len().min(room);
    field[..n].copy_from_slice(&src[..n]);
    field[n..].fill(fill);
}

/// `g_supported_log_pages_discover`: LSUPP for 0x00, 0x70 (LIDSP: extended entries), 0x12.
fn supported_log_pages() -> Vec<u8> {
    dword_page(&[
        (LID_SUPPORTED_LOG_PAGES, 1),
        (LID_DISCOVERY, 1 | 1 << 16),
        (LID_FEATURE_IDS_EFFECTS, 1),
    ])
}

/// `g_supported_feat_id_effects_log_pages_discovery`: KATO and AEC (FSUPP | CSCPE).
fn feature_effects() -> Vec<u8> {
    dword_page(&[(0x0F, 1 | 1 << 21), (0x0B, 1 | 1 << 21)])
}

impl Target {
    /// `nvmf_add_discovery_subsystem` (nvmf_tgt start-up).
    pub(super) fn create_discovery_subsystem(&mut self) {
        let mut cfg = SubsystemConfig::new(DISCOVERY_NQN);
        cfg.allow_any_host = true;
        // `spdk_nvmf_subsystem_create`: a discovery subsystem has no namespaces (max_nsid 0).
        cfg.max_namespaces = 0;
        self.create_subsystem(&cfg, super::callbacks::StateCb::None);
    }

    /// `spdk_nvmf_subsystem_is_discovery`.
    pub(super) fn is_discovery(&self, s: SubsysH) -> bool {
        let _fixed = foreign(Foreign::FixedFields);
        self.subsystems
            .get(s)
            .is_some_and(|s| s.nqn() == DISCOVERY_NQN)
    }

    pub(super) fn ctrlr_is_discovery(&self, c: CtrlrH) -> bool {
        let _fixed = foreign(Foreign::FixedFields);
        self.ctrlrs
            .get(c)
            .is_some_and(|c| self.is_discovery(c.subsys()))
    }

    /// The discovery generation counter (`tgt->discovery_genctr`).
    pub fn discovery_genctr(&self) -> u64 {
        self.discovery.genctr()
    }

    /// A subsystem listener was added (`_nvmf_subsystem_add_listener_done`).
    pub(super) fn discovery_listener_added(&mut self) {
        if self.config.discovery {
            self.send_discovery_log_notice(None);
        }
    }

    /// A subsystem listener was removed (`_nvmf_subsystem_remove_listener`).
    pub(super) fn discovery_listener_removed(&mut self) {
        if self.config.discovery {
            self.send_discovery_log_notice(None);
        }
    }

    /// A host was added or removed, or allow_any_host changed, on a subsystem with listeners.
    pub(super) fn discovery_hosts_changed(&mut self, s: SubsysH, hostnqn: Option<&str>) {
        let has_listeners = self
            .subsystems
            .get(s)
            .is_some_and(|s| !s.listeners().is_empty());
        if self.config.discovery && has_listeners {
            self.send_discovery_log_notice(hostnqn);
        }
    }

    /// `spdk_nvmf_send_discovery_log_notice`: genctr++, then a notice message to every
    /// discovery controller of the host (all hosts with `None`) on its thread.
    fn send_discovery_log_notice(&mut self, hostnqn: Option<&str>) {
        self.discovery.genctr += 1;
        let live: BTreeSet<CtrlrH> = self.ctrlrs.iter().map(|(h, _)| h).collect();
        self.discovery.masked.retain(|h| live.contains(h));
        let Some(d) = self.find_subsystem(DISCOVERY_NQN) else {
            return;
        };
        let targets: Vec<(CtrlrH, ThreadId)> = self
            .ctrlrs
            .iter()
            .filter(|(_, c)| c.subsys() == d && c.added())
            .filter(|(_, c)| hostnqn.is_none_or(|h| h == c.hostnqn()))
            .map(|(h, c)| (h, c.thread()))
            .collect();
        for (ctrlr, thread) in targets {
            self.send_msg(thread, Msg::DiscoveryLogChangeNotice { ctrlr });
        }
    }

    /// `nvmf_ctrlr_async_event_discovery_log_change_notice` (ctrlr thread).
    pub(super) fn discovery_log_change_notice(&mut self, h: CtrlrH) {
        let site = "nvmf_ctrlr_async_event_discovery_log_change_notice";
        let Some(c) = self.ctrlr_on_thread(h, site) else {
            return;
        };
        if c.aec() & AEC_DISCOVERY_LOG_CHANGE == 0 || !self.discovery.masked.insert(h) {
            return;
        }
        let Some(c) = self.ctrlrs.get_mut(h) else {
            return;
        };
        // Notice (2), discovery log page change (0xF0), log page 0x70.
        let cdw0 = 2 | 0xF0 << 8 | u32::from(LID_DISCOVERY) << 16;
        match c.take_aer() {
            Some(r) => self.complete_aer(r, cdw0),
            None => c.push_pending_aen(cdw0),
        }
    }

    /// KATO and AEC of a new controller of `s` (`nvmf_ctrlr_create`'s discovery branch).
    pub(super) fn discovery_kato(&self, s: SubsysH, kato_ms: u32) -> Option<(u32, u32)> {
        let ns_attr = super::ctrlr::AEC_NS_ATTR;
        match (self.is_discovery(s), kato_ms) {
            (false, _) => None,
            (true, 0) => Some((DISC_KATO_MS, ns_attr)),
            (true, k) => Some((k, ns_attr | AEC_DISCOVERY_LOG_CHANGE)),
        }
    }

    /// A discovery controller's admin command (`nvmf_ctrlr_process_admin_cmd`'s discovery
    /// branch). Returns false if `c` is not a discovery controller.
    pub(super) fn discovery_admin(&mut self, r: ReqH, c: CtrlrH, cmd: &Command) -> bool {
        if !self.ctrlr_is_discovery(c) {
            return false;
        }
        let st = match *cmd {
            Command::Identify { cns: 1, .. } => match self.discovery_identify(c) {
                Ok(bytes) => {
                    self.discovery_rsp_data(r, bytes);
                    status::SUCCESS
                }
                Err(st) => st,
            },
            Command::Identify { .. } => status::INVALID_FIELD,
            Command::GetLogPage {
                lid, numd, offset, ..
            } => match self.discovery_get_log_page(r, lid, numd, offset) {
                Some(st) => st,
                None => return true,
            },
            Command::PropertyGet { .. } | Command::PropertySet { .. } => return false,
            Command::GetFeatures {
                fid: 0x0F | 0x0B, ..
            }
            | Command::SetFeatures {
                fid: 0x0F | 0x0B, ..
            }
            | Command::KeepAlive
            | Command::AsyncEventRequest => return false,
            Command::GetFeatures { .. } | Command::SetFeatures { .. } => status::INVALID_FIELD,
            _ => status::INVALID_OPCODE,
        };
        self.complete_with(r, st);
        true
    }

    fn discovery_rsp_data(&mut self, r: ReqH, mut bytes: Vec<u8>) {
        if let Some(req) = self.reqs.get_mut(r) {
            let want = req.sqe.sgl1.len as usize;
            if want > 0 && want < bytes.len() {
                bytes.truncate(want);
            }
            req.rsp_data = bytes;
        }
    }

    /// `spdk_nvmf_ctrlr_identify_ctrlr` for a discovery controller: the common fields only,
    /// OAES discovery log change notices, CNTRLTYPE discovery.
    fn discovery_identify(&self, c: CtrlrH) -> Result<Vec<u8>, Status> {
        let ctrlr = self.ctrlrs.get(c).ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let id = IdentifyController {
            fr: super::log_page::FIRMWARE_REVISION.to_string(),
            mdts: (self.config.max_io_size / 4096).max(1).ilog2() as u8,
            cntlid: ctrlr.cntlid(),
            ver: 0x0001_0300,
            oaes: 1 << 31,
            cntrltype: 2,
            aerl: (super::ctrlr::MAX_AERS - 1) as u8,
            maxcmd: self.config.max_queue_depth,
            sgls: 1 | (1 << 20),
            subnqn: DISCOVERY_NQN.to_string(),
            ..IdentifyController::default()
        };
        let mut bytes = id.to_bytes();
        bytes[261] = 1 << 2; // LPA.LPEDS: extended data for Get Log Page
        bytes[262] = 127; // ELPE
        Ok(bytes)
    }

    /// Get Log Page on a discovery controller: None when it went to the app thread.
    fn discovery_get_log_page(
        &mut self,
        r: ReqH,
        lid: u8,
        numd: u32,
        offset: u64,
    ) -> Option<Status> {
        let len = match self.log_page_len(r, lid, numd) {
            Ok(len) => len,
            Err(st) => return Some(st),
        };
        if offset & 3 != 0 {
            return Some(status::INVALID_FIELD);
        }
        // v24.01 serves the discovery page only (ctrlr.c:2514-2530).
        let newer = self.config.spdk.serves_supported_log_pages();
        let page = match lid {
            LID_SUPPORTED_LOG_PAGES if newer => supported_log_pages(),
            LID_FEATURE_IDS_EFFECTS if newer => feature_effects(),
            LID_DISCOVERY => {
                self.send_msg(ThreadId::App, Msg::DiscoveryLogPage { req: r });
                return None;
            }
            _ => return Some(super::log_page::unserved(self.config.spdk)),
        };
        Some(match slice_page(&page, offset, len) {
            Ok(data) => {
                self.discovery_rsp_data(r, data);
                status::SUCCESS
            }
            Err(st) => st,
        })
    }

    /// `nvmf_get_discovery_log_page` (app thread): generate, copy the range, unmask the
    /// notice unless RAE, complete.
    pub(super) fn discovery_log_page_msg(&mut self, r: ReqH) {
        let _handed = foreign(Foreign::DiscoveryLogPageOnAppThread);
        let Some(req) = self.live(r, "nvmf_get_discovery_log_page") else {
            return;
        };
        let Command::GetLogPage { numd, offset, .. } = req.cmd else {
            return;
        };
        let (cdw10, qh) = (req.sqe.cdw10, req.qpair);
        let rae = cdw10 & (1 << 15) != 0;
        let extended = (cdw10 >> 8) & 1 != 0;
        // The default discovery filter (match_any) does not look at the source listener.
        let Some(c) = self.qpairs.get(qh).and_then(|q| q.ctrlr()) else {
            self.complete_with(r, status::INTERNAL_DEVICE_ERROR);
            return;
        };
        let hostnqn = self.ctrlrs.get(c).map(|c| c.hostnqn().to_string());
        let Some(page) = self.discovery_page_for(hostnqn.as_deref().unwrap_or(""), extended) else {
            return;
        };
        let len = (((numd as usize) + 1) * 4).min(self.config.max_io_size as usize);
        let st = match slice_page(&page, offset, len) {
            Ok(data) => {
                self.discovery_rsp_data(r, data);
                if !rae {
                    self.discovery.masked.remove(&c);
                }
                status::SUCCESS
            }
            Err(st) => st,
        };
        self.complete_with(r, st);
    }

    /// `nvmf_generate_discovery_log`: one record per listener of every subsystem that is
    /// neither INACTIVE nor DEACTIVATING and allows the host, in NQN order, each subsystem's
    /// listeners head first. Each listener's trid is read (subsys_listener.rs): `None` when a
    /// read crashed (v24.01's freed listener).
    pub(super) fn discovery_page_for(&mut self, hostnqn: &str, extended: bool) -> Option<Vec<u8>> {
        let mut subs: Vec<(SubsysH, String)> = self
            .subsystems
            .iter()
            .filter(|(_, s)| !matches!(s.state(), SubState::Inactive | SubState::Deactivating))
            .filter(|(_, s)| s.host_allowed(hostnqn))
            .map(|(h, s)| (h, s.nqn().to_string()))
            .collect();
        subs.sort_by(|a, b| a.1.cmp(&b.1));
        let mut listed = Vec::new();
        for (h, nqn) in subs {
            let active = self.read_subsys_listeners(h, "nvmf_generate_discovery_log")?;
            listed.extend(active.into_iter().map(|l| (nqn.clone(), l)));
        }
        let records: Vec<Record> = listed
            .iter()
            .map(|(nqn, l)| Record {
                nqn,
                discovery: nqn == DISCOVERY_NQN,
                trid: &l.trid,
                portid: l.id,
            })
            .collect();
        Some(log_page(self.discovery.genctr, &records, extended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_spdks_layout() {
        let trid = Trid::tcp("10.0.0.1", 4420);
        let recs = [Record {
            nqn: "nqn.2016-06.io.spdk:cnode1",
            discovery: false,
            trid: &trid,
            portid: 3,
        }];
        let p = log_page(7, &recs, false);
        assert_eq!(p.len(), 2048);
        assert_eq!(u64::from_le_bytes(p[0..8].try_into().unwrap()), 7);
        assert_eq!(u64::from_le_bytes(p[8..16].try_into().unwrap()), 1);
        let e = &p[1024..];
        assert_eq!(&e[0..4], &[3, 1, 2, 2]);
        assert_eq!(&e[4..12], &[3, 0, 0xFF, 0xFF, 128, 0, 0, 0]);
        assert_eq!(&e[32..37], b"4420 ");
        assert_eq!(&e[256..282], b"nqn.2016-06.io.spdk:cnode1");
        assert_eq!(e[282], 0);
        assert_eq!(&e[512..521], b"10.0.0.1 ");
        let x = log_page(7, &recs, true);
        assert_eq!((x.len(), x[18]), (1024 + 1032, 1));
        assert_eq!(u32::from_le_bytes(x[20..24].try_into().unwrap()), 2056);
        assert_eq!(u32::from_le_bytes(x[2048..2052].try_into().unwrap()), 1032);
    }

    #[test]
    fn pages_past_the_end_are_invalid_and_short_reads_are_zero_filled() {
        let p = supported_log_pages();
        assert_eq!(&p[0x70 * 4..0x70 * 4 + 4], &[1, 0, 1, 0]);
        assert_eq!(slice_page(&p, 1024, 4), Err(status::INVALID_FIELD));
        assert_eq!(slice_page(&p, 2, 4), Err(status::INVALID_FIELD));
        let tail = slice_page(&p, 1020, 8).unwrap();
        assert_eq!(tail, vec![0; 8]);
        assert_eq!(&feature_effects()[0x0F * 4..0x0F * 4 + 4], &[1, 0, 0x20, 0]);
    }
}
