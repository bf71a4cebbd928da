//! The optional NVM commands on RAM namespaces, as SPDK's `ctrlr_bdev.c` runs them on a
//! malloc bdev: Compare (`nvmf_bdev_ctrlr_compare_cmd`: a miscompare is SCT 2 / SC 0x85),
//! Write Zeroes (`nvmf_bdev_ctrlr_write_zeroes_cmd`: DEAC is an invalid field) and Dataset
//! Management (`nvmf_bdev_ctrlr_dsm_cmd`: only AD does anything; each range is unmapped,
//! which a malloc bdev does by zeroing; a range past the end stops the walk with an internal
//! device error, the ranges before it stay unmapped). Fused commands are fused.rs's. Checks run when the command is
//! executed, effects when the device completes it (io.rs). Owns no state.

use super::subsystem::{Namespace, Subsystem};
use crate::wire::{status, Sqe, Status};

pub const OPC_COMPARE: u8 = 0x05;
pub const OPC_WRITE_ZEROES: u8 = 0x08;
pub const OPC_DSM: u8 = 0x09;
/// Generic SC 0x0F: data SGL length invalid.
pub(super) const SGL_LENGTH_INVALID: Status = Status::new(0, 0x0F);
/// Media error SC 0x85: compare failure.
pub const COMPARE_FAILURE: Status = Status::new(2, 0x85);

/// Whether an I/O opcode moves data from the host (opcode bits 1:0 = 01b).
pub fn host_to_controller(opc: u8) -> bool {
    opc & 3 == 1
}

/// SLBA (CDW10-11) and the block count (CDW12 NLB + 1).
fn lba_range(sqe: &Sqe) -> (u64, u64) {
    let slba = u64::from(sqe.cdw10) | u64::from(sqe.cdw11) << 32;
    (slba, u64::from(sqe.cdw12 & 0xFFFF) + 1)
}

fn in_range(ns: &Namespace, slba: u64, count: u64) -> bool {
    slba.checked_add(count)
        .is_some_and(|end| end <= ns.cfg.blocks)
}

/// The execution-time checks of an optional command (`data`: the host data received).
pub fn check(sub: &Subsystem, sqe: &Sqe, data: &[u8]) -> Result<(), Status> {
    if !matches!(sqe.opc, OPC_COMPARE | OPC_WRITE_ZEROES | OPC_DSM) {
        return Err(status::INVALID_OPCODE);
    }
    let ns = sub.namespace(sqe.nsid).ok_or(status::INVALID_NAMESPACE)?;
    let (slba, count) = lba_range(sqe);
    match sqe.opc {
        OPC_COMPARE | OPC_WRITE_ZEROES if !in_range(ns, slba, count) => {
            Err(status::LBA_OUT_OF_RANGE)
        }
        OPC_COMPARE if count * u64::from(ns.cfg.block_size) > data.len() as u64 => {
            Err(SGL_LENGTH_INVALID)
        }
        OPC_WRITE_ZEROES if sqe.cdw12 & (1 << 25) != 0 => Err(status::INVALID_FIELD),
        OPC_DSM if ((sqe.cdw10 & 0xFF) as usize + 1) * 16 > data.len() => Err(SGL_LENGTH_INVALID),
        _ => Ok(()),
    }
}

/// The device's work for an optional command that passed `check`.
pub fn apply(ns: &mut Namespace, sqe: &Sqe, data: &[u8]) -> Status {
    let (slba, count) = lba_range(sqe);
    match sqe.opc {
        OPC_COMPARE => {
            let stored = super::blocks::read(ns, slba, count);
            if data.get(..stored.len()) == Some(&stored[..]) {
                status::SUCCESS
            } else {
                COMPARE_FAILURE
            }
        }
        OPC_WRITE_ZEROES => {
            super::blocks::zero(ns, slba, count);
            status::SUCCESS
        }
        OPC_DSM if sqe.cdw11 & (1 << 2) != 0 => deallocate(ns, sqe, data),
        _ => status::SUCCESS,
    }
}

/// `nvmf_bdev_ctrlr_unmap`: each 16-byte range (attributes, length, starting LBA) in order.
fn deallocate(ns: &mut Namespace, sqe: &Sqe, data: &[u8]) -> Status {
    let nr = (sqe.cdw10 & 0xFF) as usize + 1;
    for r in data.chunks_exact(16).take(nr) {
        let len = u64::from(u32::from_le_bytes([r[4], r[5], r[6], r[7]]));
        let mut lba = [0u8; 8];
        lba.copy_from_slice(&r[8..16]);
        let lba = u64::from_le_bytes(lba);
        if !in_range(ns, lba, len) {
            return status::INTERNAL_DEVICE_ERROR;
        }
        super::blocks::zero(ns, lba, len);
    }
    status::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvmf::{NamespaceConfig, NamespaceIds};

    fn ns() -> Namespace {
        let cfg = NamespaceConfig {
            nsid: 1,
            block_size: 4,
            blocks: 8,
        };
        let mut ns = Namespace::new(cfg, NamespaceIds::default());
        for lba in 0..8u64 {
            ns.blocks.insert(lba, vec![lba as u8 + 1; 4]);
        }
        ns
    }

    fn sqe(opc: u8, slba: u64, nlb: u32) -> Sqe {
        Sqe {
            opc,
            nsid: 1,
            cdw10: slba as u32,
            cdw11: (slba >> 32) as u32,
            cdw12: nlb,
            ..Sqe::default()
        }
    }

    fn range(lba: u64, len: u32) -> Vec<u8> {
        let mut r = vec![0u8; 16];
        r[4..8].copy_from_slice(&len.to_le_bytes());
        r[8..16].copy_from_slice(&lba.to_le_bytes());
        r
    }

    #[test]
    fn compare_matches_and_miscompares() {
        let mut n = ns();
        let same = [vec![3u8; 4], vec![4u8; 4]].concat();
        assert_eq!(
            apply(&mut n, &sqe(OPC_COMPARE, 2, 1), &same),
            status::SUCCESS
        );
        let mut other = same.clone();
        other[7] = 0;
        assert_eq!(
            apply(&mut n, &sqe(OPC_COMPARE, 2, 1), &other),
            COMPARE_FAILURE
        );
    }

    #[test]
    fn write_zeroes_and_deallocate_zero_their_ranges() {
        let mut n = ns();
        assert_eq!(
            apply(&mut n, &sqe(OPC_WRITE_ZEROES, 1, 1), &[]),
            status::SUCCESS
        );
        let mut dsm = sqe(OPC_DSM, 0, 0);
        dsm.cdw10 = 1; // two ranges
        dsm.cdw11 = 1 << 2; // AD
        let data = [range(5, 1), range(7, 1)].concat();
        assert_eq!(apply(&mut n, &dsm, &data), status::SUCCESS);
        let left: Vec<u64> = n.blocks.keys().copied().collect();
        assert_eq!(left, vec![0, 3, 4, 6]);
        let past = [range(3, 1), range(7, 2)].concat();
        assert_eq!(apply(&mut n, &dsm, &past), status::INTERNAL_DEVICE_ERROR);
        assert!(
            !n.blocks.contains_key(&3),
            "ranges before the bad one stay unmapped"
        );
        dsm.cdw11 = 0;
        assert_eq!(
            apply(&mut n, &dsm, &[range(0, 1), range(0, 1)].concat()),
            status::SUCCESS
        );
        assert!(n.blocks.contains_key(&0), "without AD nothing happens");
    }
}
