//! Fused Compare-and-Write, as SPDK's `nvmf_ctrlr_process_io_fused_cmd` and
//! `nvmf_bdev_ctrlr_compare_and_write_cmd` run it on a malloc bdev (FUSES.FCWS is advertised:
//! the TCP transport's default `fuses` option has every bit set).
//!
//! - A first half (FUSE 01b) must be a Compare; it is held unanswered in
//!   `qpair->first_fused_req` (still on `outstanding`, still counted) until the next command.
//!   A first half while one is held answers the held one "aborted, missing fused command" and
//!   is held instead (its opcode is then not checked, as in SPDK).
//! - A second half (FUSE 10b) without a held first is "missing fused command"; one that is not
//!   a Write answers both halves (the first "missing fused", itself "invalid opcode").
//! - FUSE 11b is an invalid field (dnr).
//! - Any other command on the namespace (after the namespace check) answers a held first half
//!   "missing fused command" and runs normally.
//! - The pair: mismatched SLBA or block count is an invalid field, a range past the end "LBA
//!   out of range", write data shorter than the blocks "data SGL length invalid"; each error
//!   answers the Compare with it and the Write "aborted due to failed fused command". Otherwise
//!   one device I/O runs the compare and, only on a match, the write, in the one device event
//!   that completes it, so no other command's data lands between them (the bdev layer's LBA
//!   range lock). A miscompare answers the Compare "compare failure" and the Write "aborted
//!   due to failed fused command" and writes nothing; the Compare is answered first.
//!
//! Over TCP the transport (tcp_fused.rs) executes halves only as consecutive pairs, so the
//! out-of-order cases here are reached only through a pair whose first half is not a Compare
//! or whose second is not a Write; they are kept as SPDK's controller layer has them.
//!
//! Owns no state: the held half is `Qpair::first_fused`, the pair link `Request::first_fused`.

use super::arena::{CtrlrH, QpairH, ReqH};
use super::io_cmds::{COMPARE_FAILURE, OPC_COMPARE, SGL_LENGTH_INVALID};
use super::ownership::{foreign, Foreign};
use super::request::Phase;
use super::subsystem::Namespace;
use super::{DeviceIoId, Target};
use crate::wire::{status, Sqe, Status};

/// Generic SC 0x09: command aborted due to failed fused command.
pub const ABORTED_FAILED_FUSED: Status = Status::new(0, 0x09);
/// Generic SC 0x0A: command aborted due to missing fused command.
pub const ABORTED_MISSING_FUSED: Status = Status::new(0, 0x0A);
/// NVM opcode Write.
const OPC_WRITE: u8 = 0x01;

impl Target {
    /// The fused step of `nvmf_ctrlr_process_io_cmd` (after the namespace check): a fused
    /// half is handled here (true); a held first half meets a plain command (false: run it).
    pub(super) fn io_fused_gate(&mut self, r: ReqH, c: CtrlrH) -> bool {
        let Some((qh, fuse, nsid)) = self
            .reqs
            .get(r)
            .map(|q| (q.qpair, q.sqe.flags & 3, q.sqe.nsid))
        else {
            return true;
        };
        let read = foreign(Foreign::CommandReadsCtrlr);
        let active = self
            .ctrlrs
            .get(c)
            .and_then(|c| self.subsystems.get(c.subsys()))
            .is_some_and(|s| s.namespace(nsid).is_some());
        drop(read);
        if !active {
            return false;
        }
        if fuse != 0 {
            self.fused_exec(r, qh, fuse);
            return true;
        }
        if let Some(first) = self.set_first_fused(qh, None) {
            self.complete_with(first, ABORTED_MISSING_FUSED);
        }
        false
    }

    fn set_first_fused(&mut self, qh: QpairH, r: Option<ReqH>) -> Option<ReqH> {
        self.qpairs.get_mut(qh)?.replace_first_fused(r)
    }

    /// `nvmf_ctrlr_process_io_fused_cmd`.
    fn fused_exec(&mut self, r: ReqH, qh: QpairH, fuse: u8) {
        let opc = self.reqs.get(r).map_or(0, |q| q.sqe.opc);
        match fuse {
            1 => {
                let held = self.set_first_fused(qh, None);
                if let Some(prev) = held {
                    self.complete_with(prev, ABORTED_MISSING_FUSED);
                } else if opc != OPC_COMPARE {
                    self.complete_with(r, status::INVALID_OPCODE);
                    return;
                }
                self.set_first_fused(qh, Some(r));
            }
            2 => match self.set_first_fused(qh, None) {
                None => self.complete_with(r, ABORTED_MISSING_FUSED),
                Some(first) if opc != OPC_WRITE => {
                    self.complete_with(first, ABORTED_MISSING_FUSED);
                    self.complete_with(r, status::INVALID_OPCODE);
                }
                Some(first) => self.compare_and_write(first, r),
            },
            _ => self.complete_with(r, status::INVALID_FIELD.with_dnr()),
        }
    }

    /// `nvmf_bdev_ctrlr_compare_and_write_cmd`: the pair's checks, then one device I/O.
    fn compare_and_write(&mut self, first: ReqH, second: ReqH) {
        match self.caw_check(first, second) {
            Ok(()) => {
                let id = DeviceIoId(self.next_device_io);
                self.next_device_io += 1;
                self.device.insert(id, second);
                if let Some(req) = self.reqs.get_mut(second) {
                    req.first_fused = Some(first);
                    req.phase = Phase::Device;
                }
            }
            Err(st) => {
                self.complete_with(first, st);
                self.complete_with(second, ABORTED_FAILED_FUSED);
            }
        }
    }

    fn caw_check(&self, first: ReqH, second: ReqH) -> Result<(), Status> {
        let (Some(cmp), Some(wr)) = (self.reqs.get(first), self.reqs.get(second)) else {
            return Err(status::INTERNAL_DEVICE_ERROR);
        };
        let _read = foreign(Foreign::CommandReadsCtrlr);
        let ns = self
            .qpairs
            .get(wr.qpair)
            .and_then(|q| q.ctrlr())
            .and_then(|c| self.ctrlrs.get(c))
            .and_then(|c| self.subsystems.get(c.subsys()))
            .and_then(|s| s.namespace(wr.sqe.nsid))
            .ok_or(status::INVALID_NAMESPACE)?;
        let (slba, count) = lba_range(&wr.sqe);
        if lba_range(&cmp.sqe) != (slba, count) {
            return Err(status::INVALID_FIELD);
        }
        if slba
            .checked_add(count)
            .is_none_or(|end| end > ns.cfg.blocks)
        {
            return Err(status::LBA_OUT_OF_RANGE);
        }
        if count * u64::from(ns.cfg.block_size) > wr.data.len() as u64 {
            return Err(SGL_LENGTH_INVALID);
        }
        Ok(())
    }

    /// The device completion of a pair (`nvmf_bdev_ctrlr_complete_cmd` with `first_fused`):
    /// compare, write on a match, answer the Compare, then return the Write's status.
    pub(super) fn fused_device_apply(
        &mut self,
        first: ReqH,
        second: ReqH,
        ns_of: QpairH,
    ) -> Status {
        let _blocks = foreign(Foreign::BdevBlocks);
        let cmp = self
            .reqs
            .get(first)
            .map(|q| q.data.clone())
            .unwrap_or_default();
        let (nsid, sqe) = match self.reqs.get(second) {
            Some(q) => (q.sqe.nsid, q.sqe),
            None => return status::ABORTED_SQ_DELETION,
        };
        let _fixed = foreign(Foreign::FixedFields);
        let sub = self
            .qpairs
            .get(ns_of)
            .and_then(|q| q.ctrlr())
            .and_then(|c| self.ctrlrs.get(c))
            .map(|c| c.subsys());
        let data = self
            .reqs
            .get(second)
            .map(|q| q.data.clone())
            .unwrap_or_default();
        let ns = sub
            .and_then(|s| self.subsystems.get_mut(s))
            .and_then(|s| s.namespace_mut(nsid));
        let (first_st, second_st) = match ns {
            Some(ns) => caw_apply(ns, &sqe, &cmp, &data),
            None => (status::INVALID_NAMESPACE, ABORTED_FAILED_FUSED),
        };
        self.complete_with(first, first_st);
        second_st
    }
}

/// SLBA (CDW10-11) and the block count (CDW12 NLB + 1).
fn lba_range(sqe: &Sqe) -> (u64, u64) {
    let slba = u64::from(sqe.cdw10) | u64::from(sqe.cdw11) << 32;
    (slba, u64::from(sqe.cdw12 & 0xFFFF) + 1)
}

/// The bdev's emulated compare-and-write on a malloc namespace: (Compare, Write) statuses.
fn caw_apply(ns: &mut Namespace, sqe: &Sqe, cmp: &[u8], data: &[u8]) -> (Status, Status) {
    let (slba, count) = lba_range(sqe);
    let stored = super::blocks::read(ns, slba, count);
    if cmp.get(..stored.len()) != Some(&stored[..]) {
        return (COMPARE_FAILURE, ABORTED_FAILED_FUSED);
    }
    super::blocks::write(ns, slba, &data[..stored.len()]);
    (status::SUCCESS, status::SUCCESS)
}
