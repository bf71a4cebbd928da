//! Admin and fabrics command execution on the controller's thread: Property Get/Set (CAP, VS,
//! CC with EN/SHN semantics, CSTS), Identify (CNS 0/1/2/3), Get/Set Features, Asynchronous
//! Event Requests (at most 4), Keep Alive, Get Log Page (zero-filled), and the dispatch of every
//! admitted request to its handler.
//!
//! Invariants kept: CSTS.RDY becomes 1 only when CC.EN goes 0 -> 1 and SHST only reports
//! complete after the shutdown fan-out (I10); only Keep Alive refreshes the keep-alive deadline.

use super::arena::{CtrlrH, ReqH};
use super::ctrlr::{CC_EN, MAX_AERS};
use super::ownership::{foreign, Foreign};
use super::Target;
use crate::wire::{feature, prop, status, Command, IdentifyController, IdentifyNamespace, Status};

/// Admin opcode 0x08: Abort.
const OPC_ABORT: u8 = 0x08;
/// Feature 0x81: the host identifier.
const HOST_IDENTIFIER: u8 = 0x81;

/// Where an AER's counter offset is taken (`Target::aer_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AerOffset {
    ProcessAdminCmd,
    HandlerEntry,
    Stored,
}

impl Target {
    /// Routes an admitted request to its handler.
    pub(super) fn dispatch_request(&mut self, r: ReqH) {
        let Some(req) = self.reqs.get(r) else { return };
        let cmd = req.cmd.clone();
        let Some(q) = self.qpairs.get(req.qpair) else {
            return;
        };
        let (ctrlr, qid, fabrics) = (q.ctrlr(), q.qid(), req.is_fabrics());
        if let Command::Connect(_) = cmd {
            // `nvmf_ctrlr_process_fabrics_cmd`: with `qpair->ctrlr == NULL` the CONNECT
            // handler runs (again, after a failed add or while a first CONNECT is parked);
            // with a controller CONNECT is not an allowed fabrics command.
            match ctrlr {
                None => self.cmd_connect(r),
                Some(_) => self.complete_with(r, status::INVALID_OPCODE),
            }
            return;
        }
        let Some(c) = ctrlr else {
            if qid == 0 && !fabrics {
                return self.admin_before_connect(r, &cmd);
            }
            self.complete_with(r, status::COMMAND_SEQUENCE_ERROR);
            return;
        };
        if qid != 0 && fabrics {
            self.complete_with(r, status::INVALID_OPCODE);
            return;
        }
        if qid == 0 && cmd == Command::AsyncEventRequest {
            self.aer_offset(r, AerOffset::ProcessAdminCmd);
        }
        // `nvmf_ctrlr_process_{admin,io}_cmd`: CC.EN must be 1 (read unlocked from the I/O
        // qpair's thread, as SPDK does); fabrics commands skip the check.
        let read = foreign(Foreign::CommandReadsCtrlr);
        let enabled = self.ctrlrs.get(c).is_some_and(|c| c.cc() & CC_EN != 0);
        drop(read);
        if !fabrics && !enabled {
            if qid == 0 && cmd == Command::AsyncEventRequest {
                self.mark(super::Mark::AerWhileDisabled, format!("{r}"));
            }
            self.complete_with(r, status::COMMAND_SEQUENCE_ERROR);
            return;
        }
        if qid != 0 {
            self.io_exec(r, c);
            return;
        }
        if self
            .ctrlr_on_thread(c, "nvmf_ctrlr_process_admin_cmd")
            .is_none()
        {
            return;
        }
        self.admin_exec(r, c, cmd);
    }

    /// `nvmf_ctrlr_process_admin_cmd` with `qpair->ctrlr == NULL` (an admin command before
    /// CONNECT): "Admin command sent before CONNECT", COMMAND SEQUENCE ERROR. With
    /// `spdk-3100-early-admin` on, the v22.09..v23.05 order: an AER's counter offset reads
    /// `ctrlr->subsys->id` first.
    fn admin_before_connect(&mut self, r: ReqH, cmd: &Command) {
        if self.bug(super::BugId::Spdk3100EarlyAdmin) && *cmd == Command::AsyncEventRequest {
            let label = self
                .reqs
                .get(r)
                .and_then(|req| self.qpairs.get(req.qpair))
                .map(|q| q.label())
                .unwrap_or_default();
            self.crash_on(
                super::InvariantId::NoDanglingReference,
                "nvmf_ctrlr_process_admin_cmd",
                vec![label, "ctrlr NULL".to_string()],
                "AER before CONNECT: sgroups[ctrlr->subsys->id] read through a NULL controller",
            );
            return;
        }
        self.mark(super::Mark::AdminBeforeConnect, format!("{r}"));
        self.complete_with(r, status::COMMAND_SEQUENCE_ERROR);
    }

    fn admin_exec(&mut self, r: ReqH, c: CtrlrH, cmd: Command) {
        // `nvmf_ctrlr_process_admin_cmd`: fused admin commands are not supported.
        if self
            .reqs
            .get(r)
            .is_some_and(|q| !q.is_fabrics() && q.sqe.flags & 3 != 0)
        {
            self.complete_with(r, status::INVALID_FIELD);
            return;
        }
        if self.discovery_admin(r, c, &cmd) {
            return;
        }
        let st = match cmd {
            Command::PropertyGet { attrib, ofst } => self.property_get(r, c, attrib, ofst),
            Command::PropertySet {
                attrib,
                ofst,
                value,
            } => self.property_set(c, attrib, ofst, value),
            Command::Identify { cns, nsid, .. } => self.identify(r, c, cns, nsid),
            Command::GetFeatures {
                fid: HOST_IDENTIFIER,
                cdw11,
                ..
            } => self.get_host_identifier(r, c, cdw11),
            Command::SetFeatures {
                fid: HOST_IDENTIFIER,
                ..
            } => status::COMMAND_SEQUENCE_ERROR,
            Command::GetFeatures { fid, .. } => self.get_features(r, c, fid),
            Command::SetFeatures { fid, cdw11, .. } => self.set_features(r, c, fid, cdw11),
            Command::AsyncEventRequest => return self.aer_submit(r, c),
            Command::Other {
                opc: OPC_ABORT,
                fctype: None,
            } => return self.abort_start(r, c),
            Command::KeepAlive => {
                let now = self.now;
                if let Some(ctrlr) = self.ctrlrs.get_mut(c) {
                    ctrlr.keep_alive(now);
                }
                self.arm_keep_alive(c);
                status::SUCCESS
            }
            Command::GetLogPage {
                lid, numd, offset, ..
            } => self.get_log_page(r, c, lid, numd, offset),
            _ => status::INVALID_OPCODE,
        };
        self.complete_with(r, st);
    }

    fn property_get(&mut self, r: ReqH, c: CtrlrH, attrib: u8, ofst: u32) -> Status {
        let Some(ctrlr) = self.ctrlrs.get(c) else {
            return status::INTERNAL_DEVICE_ERROR;
        };
        let size8 = attrib & 7 == 1;
        let mqes = u64::from(self.config.max_queue_depth.saturating_sub(1));
        // CAP: MQES, CQR, TO = 30 (15 s), CSS NVM, MPSMIN/MAX 0, CRWMS per profile.
        let (vs, crwms) = self.config.spdk.nvme_version();
        let cap = mqes | (1 << 16) | (30 << 24) | (1 << 37) | (u64::from(crwms) << 59);
        let value = match (ofst, size8) {
            (prop::CAP, true) => cap,
            (prop::CAP, false) => cap & 0xFFFF_FFFF,
            (0x04, false) => cap >> 32,
            (prop::VS, false) => u64::from(vs),
            (prop::CC, false) => u64::from(ctrlr.cc()),
            (prop::CSTS, false) => u64::from(ctrlr.csts()),
            _ => return status::CONNECT_INVALID_PARAMETERS,
        };
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = value as u32;
            req.rsp.cdw1 = (value >> 32) as u32;
        }
        status::SUCCESS
    }

    /// `nvmf_prop_set_cc` (and the read-only properties' rejection).
    fn property_set(&mut self, c: CtrlrH, attrib: u8, ofst: u32, value: u64) -> Status {
        if ofst != prop::CC || attrib & 7 != 0 {
            return status::CONNECT_INVALID_PARAMETERS;
        }
        let Some(ctrlr) = self.ctrlrs.get_mut(c) else {
            return status::INTERNAL_DEVICE_ERROR;
        };
        let Some(fx) = ctrlr.write_cc(value as u32) else {
            return status::CONNECT_INVALID_PARAMETERS;
        };
        if fx.enabled {
            let ctrlr = ctrlr.key();
            self.poller_unregister(super::Timer::Association { ctrlr });
        }
        if fx.reset {
            self.ctrlr_start_reset_shn(c, false);
        }
        if fx.shutdown {
            self.ctrlr_start_reset_shn(c, true);
        }
        if fx.invalid {
            return status::CONNECT_INVALID_PARAMETERS;
        }
        status::SUCCESS
    }

    fn identify(&mut self, r: ReqH, c: CtrlrH, cns: u8, nsid: u32) -> Status {
        let data = match cns {
            0x00 => self.identify_ns(c, nsid).map(super::multipath::ns),
            0x01 => self
                .identify_ctrlr(c)
                .map(|id| super::multipath::ctrlr(id.to_bytes()))
                .map(|b| super::ident::ctrlr(b, self.config.spdk))
                .map(super::log_page::identify_frmw),
            0x02 => self.identify_active_ns_list(c, nsid),
            0x03 => self.identify_ns_descriptors(c, nsid),
            // I/O command set specific namespace / controller data (NVM): all zeros.
            0x05 => self.identify_ns_descriptors(c, nsid).map(|_| vec![0; 4096]),
            0x06 => Ok(vec![0; 4096]),
            _ => return status::INVALID_FIELD,
        };
        match data {
            Ok(bytes) => {
                self.set_rsp_data(r, bytes);
                status::SUCCESS
            }
            Err(st) => st,
        }
    }

    pub(super) fn set_rsp_data(&mut self, r: ReqH, mut bytes: Vec<u8>) {
        if let Some(req) = self.reqs.get_mut(r) {
            let want = req.sqe.sgl1.len as usize;
            if want > 0 && want < bytes.len() {
                bytes.truncate(want);
            }
            req.rsp_data = bytes;
        }
    }

    fn ctrlr_subsystem(&self, c: CtrlrH) -> Option<&super::subsystem::Subsystem> {
        let _read = foreign(Foreign::CommandReadsCtrlr);
        self.ctrlrs
            .get(c)
            .and_then(|c| self.subsystems.get(c.subsys()))
    }

    /// Identify Controller with the fields real hosts check (docs/lifecycle.md).
    fn identify_ctrlr(&self, c: CtrlrH) -> Result<IdentifyController, Status> {
        let ctrlr = self.ctrlrs.get(c).ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let sub = self
            .ctrlr_subsystem(c)
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let max_nsid = sub.max_nsid();
        let mdts = (self.config.max_io_size / 4096).max(1).ilog2() as u8;
        Ok(IdentifyController {
            vid: 0x8086,
            ssvid: 0x8086,
            sn: sub.serial().to_string(),
            mn: sub.model().to_string(),
            fr: super::log_page::FIRMWARE_REVISION.to_string(),
            mdts,
            cntlid: ctrlr.cntlid(),
            ver: self.config.spdk.nvme_version().0,
            oaes: 1 << 8,
            cntrltype: 1,
            aerl: (MAX_AERS - 1) as u8,
            kas: self.config.kas,
            sqes: 0x66,
            cqes: 0x44,
            maxcmd: self.config.max_queue_depth,
            nn: max_nsid,
            sgls: 1 | (1 << 20),
            subnqn: sub.nqn().to_string(),
            ioccsz: 4 + self.config.in_capsule_data_size / 16,
            iorcsz: 1,
            icdoff: 0,
            msdbd: 1,
        })
    }

    fn identify_ns(&self, c: CtrlrH, nsid: u32) -> Result<Vec<u8>, Status> {
        let sub = self
            .ctrlr_subsystem(c)
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        if nsid == 0 || nsid == 0xFFFF_FFFF {
            return Err(status::INVALID_NAMESPACE);
        }
        let Some(ns) = sub.namespace(nsid) else {
            // An inactive NSID reads as zeros.
            return Ok(vec![0; 4096]);
        };
        let blocks = ns.cfg.blocks;
        let bytes = IdentifyNamespace {
            nsze: blocks,
            ncap: blocks,
            nuse: blocks,
            nlbaf: 0,
            flbas: 0,
            lbads: ns.cfg.block_size.max(1).ilog2() as u8,
        }
        .to_bytes();
        Ok(super::ident::ns(bytes, &ns.ids))
    }

    fn identify_active_ns_list(&self, c: CtrlrH, after: u32) -> Result<Vec<u8>, Status> {
        let sub = self
            .ctrlr_subsystem(c)
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let mut out = vec![0u8; 4096];
        for (i, id) in sub
            .namespaces()
            .map(|n| n.cfg.nsid)
            .filter(|id| *id > after)
            .take(1024)
            .enumerate()
        {
            out[i * 4..i * 4 + 4].copy_from_slice(&id.to_le_bytes());
        }
        Ok(out)
    }

    /// `nvmf_ctrlr_identify_ns_id_descriptor_list`: NSID 0 or past NN is an invalid
    /// namespace, an inactive one an invalid field.
    fn identify_ns_descriptors(&self, c: CtrlrH, nsid: u32) -> Result<Vec<u8>, Status> {
        let sub = self
            .ctrlr_subsystem(c)
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        if nsid == 0 || nsid > sub.max_nsid() {
            return Err(status::INVALID_NAMESPACE);
        }
        let ns = sub.namespace(nsid).ok_or(status::INVALID_FIELD)?;
        Ok(super::ident::descriptors(&ns.ids))
    }

    /// `nvmf_ctrlr_get_features_host_identifier`: the CONNECT's 128-bit host ID (EXHID must
    /// be 1 on fabrics).
    fn get_host_identifier(&mut self, r: ReqH, c: CtrlrH, cdw11: u32) -> Status {
        if cdw11 & 1 == 0 {
            return status::INVALID_FIELD;
        }
        let Some(hostid) = self.ctrlrs.get(c).map(|c| c.hostid()) else {
            return status::INTERNAL_DEVICE_ERROR;
        };
        self.set_rsp_data(r, hostid.to_vec());
        status::SUCCESS
    }

    fn get_features(&mut self, r: ReqH, c: CtrlrH, fid: u8) -> Status {
        if fid == super::write_cache::FID_VOLATILE_WRITE_CACHE {
            return self.feature_answer(r, self.get_features_vwc(c));
        }
        let max_io = u32::from(self.config.max_io_qpairs_per_ctrlr.saturating_sub(1));
        let Some(ctrlr) = self.ctrlrs.get(c) else {
            return status::INTERNAL_DEVICE_ERROR;
        };
        let value = match fid {
            feature::NUMBER_OF_QUEUES => max_io | (max_io << 16),
            feature::ASYNC_EVENT_CONFIG => ctrlr.aec(),
            feature::KEEP_ALIVE_TIMER => ctrlr.kato_ms(),
            0x01 | 0x02 | 0x04 | 0x05 | 0x08 | 0x09 | 0x0A => 0,
            _ => return status::INVALID_FIELD,
        };
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = value;
        }
        status::SUCCESS
    }

    fn set_features(&mut self, r: ReqH, c: CtrlrH, fid: u8, cdw11: u32) -> Status {
        if fid == super::write_cache::FID_VOLATILE_WRITE_CACHE {
            let res = self.set_features_vwc(c, cdw11);
            return self.feature_answer(r, res);
        }
        let max_io = u32::from(self.config.max_io_qpairs_per_ctrlr.saturating_sub(1));
        let (min_kato, kas) = (self.config.min_kato_ms, self.config.kas);
        let now = self.now;
        let Some(ctrlr) = self.ctrlrs.get_mut(c) else {
            return status::INTERNAL_DEVICE_ERROR;
        };
        let cdw0 = match fid {
            // `nvmf_ctrlr_set_features_number_of_queues`: 0xFFFF invalid; late once I/O qpairs exist.
            feature::NUMBER_OF_QUEUES => {
                if cdw11 >> 16 == 0xFFFF || cdw11 & 0xFFFF == 0xFFFF {
                    return status::INVALID_FIELD;
                }
                if ctrlr.qpair_mask().len() > 1 {
                    return status::COMMAND_SEQUENCE_ERROR;
                }
                max_io | (max_io << 16)
            }
            feature::ASYNC_EVENT_CONFIG => {
                ctrlr.set_aec(cdw11);
                0
            }
            feature::KEEP_ALIVE_TIMER => {
                if cdw11 == 0 {
                    return status::KEEP_ALIVE_INVALID;
                }
                let kato = super::ctrlr::round_kato(cdw11, min_kato, kas);
                ctrlr.set_kato(kato, now);
                let ctrlr = ctrlr.key();
                // "if (ctrlr->keep_alive_poller != NULL) spdk_poller_unregister(...)".
                self.poller_unregister(super::Timer::KeepAlive { ctrlr });
                self.start_keep_alive(c);
                0
            }
            0x01 | 0x02 | 0x04 | 0x05 | 0x08 | 0x09 | 0x0A => 0,
            _ => return status::INVALID_FIELD,
        };
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = cdw0;
        }
        status::SUCCESS
    }

    /// `nvmf_ctrlr_async_event_request`: store it (uncounted: it never completes on its own),
    /// or complete it at once with a pending event; the fifth is rejected.
    fn aer_submit(&mut self, r: ReqH, c: CtrlrH) {
        self.aer_offset(r, AerOffset::HandlerEntry);
        let Some(ctrlr) = self.ctrlrs.get_mut(c) else {
            return;
        };
        if let Some(cdw0) = ctrlr.take_pending_aen() {
            self.mark(super::Mark::AerAnsweredFromPending, format!("{r}"));
            self.complete_aer(r, cdw0);
            return;
        }
        if ctrlr.push_aer(r).is_err() {
            self.mark(super::Mark::AerLimitExceeded, format!("{r}"));
            self.complete_with(r, status::ASYNC_EVENT_LIMIT_EXCEEDED);
            return;
        }
        self.aer_offset(r, AerOffset::Stored);
    }

    /// The AER's `mgmt_io_outstanding--` that offsets its admission (an AER is not an
    /// outstanding command; `_nvmf_request_complete` skips AERs), taken where the profile's
    /// code takes it: at the top of `nvmf_ctrlr_process_admin_cmd` for every AER (9cb5f885df,
    /// v22.09); with `spdk-2215` at the top of `nvmf_ctrlr_async_event_request`
    /// (43ad7febb2, v20.10 .. v22.05: errors answered before the handler, CC.EN = 0, skip
    /// it); with `spdk-1552` only when the AER is stored (up to v20.07: the limit and
    /// pending-event answers skip it).
    fn aer_offset(&mut self, r: ReqH, at: AerOffset) {
        let profile = if self.bug(super::BugId::Spdk1552) {
            AerOffset::Stored
        } else if self.bug(super::BugId::Spdk2215) {
            AerOffset::HandlerEntry
        } else {
            AerOffset::ProcessAdminCmd
        };
        if at == profile {
            self.release_admission(r);
        }
    }
}
