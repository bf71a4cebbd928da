//! Reads and writes: building the I/O commands, reassembling C2HData by `datao`, answering
//! R2Ts with H2CData chunks.
//!
//! Invariants kept: every `Read`/`Write` action ends in exactly one `IoDone` with its tag
//! (locally failed, completed by the target, or aborted when its queue closes); C2HData must
//! continue exactly where the previous one stopped and never exceed the read's length;
//! H2CData chunks are at most `maxh2cdata` long and the last chunk of each R2T has LAST_PDU.

use super::conn::{fei, Violation};
use super::queue::{Payload, Purpose};
use super::{Host, HostEvent, Qid};
use crate::wire::{status, C2HData, Command, Cqe, FatalErrorStatus, H2CData, Pdu, Status, R2T};

/// Block size assumed for a namespace Identify did not report (SPDK's default malloc bdev).
const DEFAULT_BLOCK_SIZE: u32 = 512;
/// Offset of `r2tl` in an R2T.
const FEI_R2TL: u32 = 16;
/// Offset of `r2to` in an R2T.
const FEI_R2TO: u32 = 12;
/// Offset of the flags byte.
const FEI_FLAGS: u32 = 1;

impl Host {
    fn io_failed(&mut self, tag: u64, status: Status) {
        self.event(HostEvent::IoDone {
            tag,
            status,
            data: Vec::new(),
        });
    }

    fn block_size(&self, nsid: u32) -> u32 {
        self.ctrl
            .namespaces
            .get(&nsid)
            .copied()
            .unwrap_or(DEFAULT_BLOCK_SIZE)
    }

    /// Checks an I/O's shape; returns the 0's based block count.
    fn check_io(&self, qid: Qid, nsid: u32, blocks: u64, len: u64) -> Result<u16, Status> {
        if qid == 0 || blocks == 0 || blocks > 0x1_0000 || len > u64::from(u32::MAX) {
            return Err(status::INVALID_FIELD);
        }
        if self.ctrl.max_transfer().is_some_and(|max| len > max) {
            return Err(status::INVALID_FIELD);
        }
        let _ = nsid;
        Ok((blocks - 1) as u16)
    }

    pub(crate) fn read(&mut self, tag: u64, qid: Qid, nsid: u32, slba: u64, nlb: u32) {
        let len = u64::from(nlb) * u64::from(self.block_size(nsid));
        let nlb0 = match self.check_io(qid, nsid, u64::from(nlb), len) {
            Ok(n) => n,
            Err(status) => return self.io_failed(tag, status),
        };
        let cmd = Command::Read {
            nsid,
            slba,
            nlb: nlb0,
        };
        let payload = Payload::Receive(len as u32);
        if let Err(status) = self.submit_live(qid, &cmd, Purpose::Io { tag }, payload) {
            self.io_failed(tag, status);
        }
    }

    pub(crate) fn write(&mut self, tag: u64, qid: Qid, nsid: u32, slba: u64, data: Vec<u8>) {
        let bs = u64::from(self.block_size(nsid));
        let len = data.len() as u64;
        if !len.is_multiple_of(bs) {
            return self.io_failed(tag, status::INVALID_FIELD);
        }
        let nlb0 = match self.check_io(qid, nsid, len / bs, len) {
            Ok(n) => n,
            Err(status) => return self.io_failed(tag, status),
        };
        let cmd = Command::Write {
            nsid,
            slba,
            nlb: nlb0,
        };
        let in_capsule = len <= u64::from(self.config.in_capsule_max)
            && len <= u64::from(self.ctrl.in_capsule_limit());
        let payload = if in_capsule {
            Payload::InCapsule(data)
        } else {
            Payload::OnR2t(data)
        };
        if let Err(status) = self.submit_live(qid, &cmd, Purpose::Io { tag }, payload) {
            self.io_failed(tag, status);
        }
    }

    /// Appends read data; a C2HData with SUCCESS completes the command without a CapsuleResp.
    pub(crate) fn handle_c2h_data(&mut self, qid: Qid, d: &C2HData) -> Result<(), Violation> {
        let out = self
            .queues
            .get_mut(&qid)
            .and_then(|q| q.outstanding.get_mut(&d.cccid))
            .ok_or_else(|| {
                Violation::field(fei::CCCID, format!("C2HData for unknown cid {}", d.cccid))
            })?;
        if d.datao as usize != out.rx.len() {
            return Err(Violation::new(
                FatalErrorStatus::DataOutOfRange,
                fei::DATAO,
                format!(
                    "C2HData datao {} but {} bytes received",
                    d.datao,
                    out.rx.len()
                ),
            ));
        }
        if out.rx.len() + d.data.len() > out.rx_expected as usize {
            return Err(Violation::new(
                FatalErrorStatus::DataOutOfRange,
                fei::DATAL,
                format!(
                    "C2HData ends at {} past the {} bytes asked for",
                    out.rx.len() + d.data.len(),
                    out.rx_expected
                ),
            ));
        }
        if d.success && !d.last {
            return Err(Violation::field(
                FEI_FLAGS,
                "C2HData SUCCESS without LAST_PDU",
            ));
        }
        out.rx.extend_from_slice(&d.data);
        if d.success {
            self.complete_by_c2h(qid, d.cccid);
        }
        Ok(())
    }

    fn complete_by_c2h(&mut self, qid: Qid, cid: u16) {
        let Some(out) = self
            .queues
            .get_mut(&qid)
            .and_then(|q| q.outstanding.remove(&cid))
        else {
            return;
        };
        let cqe = Cqe {
            sqid: qid,
            cid,
            ..Cqe::default()
        };
        self.complete(qid, out, &cqe);
    }

    /// Answers an R2T with H2CData chunks of at most `maxh2cdata` bytes (Linux's checks).
    pub(crate) fn handle_r2t(&mut self, qid: Qid, r2t: &R2T) -> Result<(), Violation> {
        let q = self
            .queues
            .get_mut(&qid)
            .ok_or_else(|| Violation::field(fei::CCCID, "R2T on an unknown queue"))?;
        let maxh2cdata = q.maxh2cdata.max(4);
        let out = q.outstanding.get_mut(&r2t.cccid).ok_or_else(|| {
            Violation::field(fei::CCCID, format!("R2T for unknown cid {}", r2t.cccid))
        })?;
        check_r2t(r2t, out.tx_sent, out.tx.len())?;
        let start = r2t.r2to as usize;
        let end = start + r2t.r2tl as usize;
        out.tx_sent = r2t.r2to + r2t.r2tl;
        let chunks: Vec<Pdu> = (start..end)
            .step_by(maxh2cdata as usize)
            .map(|off| {
                let stop = (off + maxh2cdata as usize).min(end);
                Pdu::H2CData(H2CData {
                    cccid: r2t.cccid,
                    ttag: r2t.ttag,
                    datao: off as u32,
                    last: stop == end,
                    data: out.tx[off..stop].to_vec(),
                })
            })
            .collect();
        q.last_r2t = Some((r2t.cccid, r2t.ttag));
        for pdu in &chunks {
            self.send_pdu(qid, pdu);
        }
        Ok(())
    }
}

/// Linux `nvme_tcp_handle_r2t`: non-empty, not behind what was sent, within the write.
fn check_r2t(r2t: &R2T, sent: u32, len: usize) -> Result<(), Violation> {
    if r2t.r2tl == 0 {
        return Err(Violation::field(FEI_R2TL, "R2T length 0"));
    }
    if r2t.r2to < sent {
        return Err(Violation::new(
            FatalErrorStatus::DataOutOfRange,
            FEI_R2TO,
            format!("R2T offset {} but {} bytes already sent", r2t.r2to, sent),
        ));
    }
    if u64::from(r2t.r2to) + u64::from(r2t.r2tl) > len as u64 {
        return Err(Violation::new(
            FatalErrorStatus::DataOutOfRange,
            FEI_R2TL,
            format!(
                "R2T {}+{} exceeds the {} bytes to write",
                r2t.r2to, r2t.r2tl, len
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r2t(r2to: u32, r2tl: u32) -> R2T {
        R2T {
            cccid: 1,
            ttag: 2,
            r2to,
            r2tl,
        }
    }

    #[test]
    fn r2t_checks_follow_linux() {
        assert!(check_r2t(&r2t(0, 4096), 0, 8192).is_ok());
        assert!(check_r2t(&r2t(4096, 4096), 4096, 8192).is_ok());
        assert_eq!(check_r2t(&r2t(0, 0), 0, 8192).unwrap_err().fei, FEI_R2TL);
        let behind = check_r2t(&r2t(0, 4096), 4096, 8192).unwrap_err();
        assert_eq!(
            (behind.fes, behind.fei),
            (FatalErrorStatus::DataOutOfRange, FEI_R2TO)
        );
        let past = check_r2t(&r2t(4096, 8192), 0, 8192).unwrap_err();
        assert_eq!(
            (past.fes, past.fei),
            (FatalErrorStatus::DataOutOfRange, FEI_R2TL)
        );
        assert!(
            check_r2t(&r2t(u32::MAX, 2), 0, 8192).is_err(),
            "no overflow"
        );
    }
}
