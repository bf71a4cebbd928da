//! I/O commands on RAM namespaces: Read, Write (in-capsule, or R2T + H2CData first) and Flush,
//! each completed later by a device event (`Input::Complete`) that the scheduler delivers, so
//! qpairs and pauses can drain with I/O outstanding.
//!
//! Invariants kept: a read answers with C2HData then CapsuleResp (or, in v24.01, a C2HData
//! with SUCCESS alone: `Spdk::c2h_success`); data is
//! applied or read at device-completion time; a device completion for a request that already
//! ended is an I4 violation.

use super::arena::{CtrlrH, ReqH};
use super::ownership::{foreign, Foreign};
use super::request::Phase;
use super::{DeviceIoId, InvariantId, Mark, Target, ThreadId};
use crate::wire::{status, Command, Status};

impl Target {
    /// Validates an I/O command and hands it to the device.
    pub(super) fn io_exec(&mut self, r: ReqH, c: CtrlrH) {
        if self.io_fused_gate(r, c) {
            return;
        }
        match self.io_check(r, c) {
            Ok(()) => {
                let id = DeviceIoId(self.next_device_io);
                self.next_device_io += 1;
                self.device.insert(id, r);
                if let Some(req) = self.reqs.get_mut(r) {
                    req.phase = Phase::Device;
                }
            }
            Err(st) => self.complete_with(r, st),
        }
    }

    /// Namespace, range and transfer-size checks.
    fn io_check(&self, r: ReqH, c: CtrlrH) -> Result<(), Status> {
        let req = self.reqs.get(r).ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let _read = foreign(Foreign::CommandReadsCtrlr);
        let sub = self
            .ctrlrs
            .get(c)
            .and_then(|c| self.subsystems.get(c.subsys()))
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        let (nsid, slba, nlb, write) = match req.cmd {
            Command::Read { nsid, slba, nlb } => (nsid, slba, nlb, false),
            Command::Write { nsid, slba, nlb } => (nsid, slba, nlb, true),
            Command::Flush { nsid } => {
                return if sub.namespace(nsid).is_some() {
                    Ok(())
                } else {
                    Err(status::INVALID_NAMESPACE)
                };
            }
            Command::Other { fctype: None, .. } => {
                return super::io_cmds::check(sub, &req.sqe, &req.data);
            }
            _ => return Err(status::INVALID_OPCODE),
        };
        let ns = sub.namespace(nsid).ok_or(status::INVALID_NAMESPACE)?;
        let count = u64::from(nlb) + 1;
        if slba
            .checked_add(count)
            .is_none_or(|end| end > ns.cfg.blocks)
        {
            return Err(status::LBA_OUT_OF_RANGE);
        }
        let len = count * u64::from(ns.cfg.block_size);
        if len > u64::from(self.config.max_io_size) {
            return Err(status::INVALID_FIELD);
        }
        if write && req.data.len() as u64 != len {
            return Err(status::DATA_TRANSFER_ERROR);
        }
        Ok(())
    }

    /// The expected host data length of a write (from NLB), or of another I/O command that
    /// moves data from the host (Compare, Dataset Management: the SGL length); None if there
    /// is none or the namespace is unknown.
    pub(super) fn write_len(
        &self,
        qh: super::arena::QpairH,
        cmd: &Command,
        sgl_len: u32,
    ) -> Option<u32> {
        let io_queue = self.qpairs.get(qh).is_some_and(|q| q.qid() != 0);
        let Command::Write { nsid, nlb, .. } = cmd else {
            return match cmd {
                Command::Other { opc, fctype: None }
                    if io_queue && super::io_cmds::host_to_controller(*opc) =>
                {
                    Some(sgl_len)
                }
                _ => None,
            };
        };
        let q = self.qpairs.get(qh)?;
        let _read = foreign(Foreign::CommandReadsCtrlr);
        let c = self.ctrlrs.get(q.ctrlr()?)?;
        let ns = self.subsystems.get(c.subsys())?.namespace(*nsid)?;
        Some((u32::from(*nlb) + 1).saturating_mul(ns.cfg.block_size))
    }

    /// A device completion: apply the write or read the blocks, then complete on the PG.
    pub(super) fn handle_device_complete(&mut self, io: DeviceIoId) {
        if self.tcp_write_event(io) {
            return;
        }
        let Some(r) = self.device.remove(&io) else {
            return;
        };
        let Some(req) = self.reqs.get(r) else {
            self.crash_on(
                InvariantId::RequestEndsOnce,
                "spdk_bdev_io_complete",
                vec![format!("{r}")],
                "device completion for a finished request",
            );
            return;
        };
        super::ownership::enter(&mut self.current, ThreadId::PollGroup(req.pg));
        let cmd = req.cmd.clone();
        let (qh, first_fused) = (req.qpair, req.first_fused);
        let st = match first_fused {
            Some(first) => self.fused_device_apply(first, r, qh),
            None => self.device_apply(r, qh, &cmd),
        };
        self.mark_with(Mark::IoCompleted, || format!("{r}"));
        self.complete_with(r, st);
    }

    fn device_apply(&mut self, r: ReqH, qh: super::arena::QpairH, cmd: &Command) -> Status {
        let _blocks = (foreign(Foreign::FixedFields), foreign(Foreign::BdevBlocks));
        let Some(s) = self
            .qpairs
            .get(qh)
            .and_then(|q| q.ctrlr())
            .and_then(|c| self.ctrlrs.get(c))
            .map(|c| c.subsys())
        else {
            return status::ABORTED_SQ_DELETION;
        };
        let Some(sub) = self.subsystems.get_mut(s) else {
            return status::ABORTED_SQ_DELETION;
        };
        match *cmd {
            Command::Write { nsid, slba, .. } => {
                let Some(ns) = sub.namespace_mut(nsid) else {
                    return status::INVALID_NAMESPACE;
                };
                let data = self.reqs.get(r).map_or(&[][..], |req| &req.data[..]);
                super::blocks::write(ns, slba, data);
                status::SUCCESS
            }
            Command::Read { nsid, slba, nlb } => {
                let Some(ns) = sub.namespace(nsid) else {
                    return status::INVALID_NAMESPACE;
                };
                let count = u64::from(nlb) + 1;
                let mut out = self
                    .spare_data
                    .take((count * u64::from(ns.cfg.block_size)) as usize);
                super::blocks::read_into(ns, slba, count, &mut out);
                if let Some(req) = self.reqs.get_mut(r) {
                    req.rsp_data = out;
                }
                status::SUCCESS
            }
            Command::Other { fctype: None, .. } => {
                let Some(req) = self.reqs.get(r) else {
                    return status::ABORTED_SQ_DELETION;
                };
                match sub.namespace_mut(req.sqe.nsid) {
                    Some(ns) => super::io_cmds::apply(ns, &req.sqe, &req.data),
                    None => status::INVALID_NAMESPACE,
                }
            }
            _ => status::SUCCESS,
        }
    }
}
