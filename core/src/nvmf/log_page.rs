//! Get Log Page contents as SPDK's `nvmf_ctrlr_get_log_page` serves them: the offset (CDW12/13)
//! must be dword aligned, the page is copied from the offset for the requested length (NUMDL
//! and NUMDU) and the rest of the transfer reads as zeros. The firmware slot page (0x03) has
//! AFI.active_slot = 1 and slot 1's revision = Identify Controller's FR
//! (`nvmf_get_firmware_slot_log_page`; an offset past its 512 bytes is an invalid field). The
//! other supported pages read as zeros here. Owns no state.

use crate::wire::{status, Status};

/// Identify Controller FR and firmware slot 1's revision.
pub(super) const FIRMWARE_REVISION: &str = "fabcheck";
const FIRMWARE_PAGE: u8 = 0x03;
/// Byte offset of FRMW in Identify Controller.
const FRMW: usize = 260;
/// FRMW as SPDK sets it: slot 1 read-only (bit 0), one slot (bits 3:1 = 1).
const FRMW_ONE_READ_ONLY_SLOT: u8 = 0b0011;
const FIRMWARE_PAGE_LEN: u64 = 512;

/// The `len` bytes a Get Log Page of `lid` returns from `offset`, or its error status.
pub(super) fn read(lid: u8, offset: u64, len: usize) -> Result<Vec<u8>, Status> {
    if offset & 3 != 0 {
        return Err(status::INVALID_FIELD);
    }
    let mut out = vec![0u8; len];
    if lid == FIRMWARE_PAGE {
        if offset >= FIRMWARE_PAGE_LEN {
            return Err(status::INVALID_FIELD);
        }
        let page = firmware_page();
        let from = &page[offset as usize..];
        let n = from.len().min(len);
        out[..n].copy_from_slice(&from[..n]);
    }
    Ok(out)
}

/// Identify Controller bytes with FRMW describing the one slot the firmware page reports.
pub(super) fn identify_frmw(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(b) = bytes.get_mut(FRMW) {
        *b = FRMW_ONE_READ_ONLY_SLOT;
    }
    bytes
}

fn firmware_page() -> Vec<u8> {
    let mut page = vec![0u8; FIRMWARE_PAGE_LEN as usize];
    page[0] = 1; // AFI: active slot 1, next reset slot 0
    let mut frs1 = [b' '; 8];
    let fr = FIRMWARE_REVISION.as_bytes();
    frs1[..fr.len().min(8)].copy_from_slice(&fr[..fr.len().min(8)]);
    page[8..16].copy_from_slice(&frs1);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_slot_log_names_the_active_slot_and_honours_the_offset() {
        let p = read(0x03, 0, 512).unwrap();
        assert_eq!((p[0], &p[8..16]), (1, &b"fabcheck"[..]));
        let tail = read(0x03, 8, 16).unwrap();
        assert_eq!(&tail[..8], b"fabcheck");
        assert_eq!(&tail[8..], &[0u8; 8]);
        assert_eq!(read(0x03, 2, 4), Err(status::INVALID_FIELD), "unaligned");
        assert_eq!(
            read(0x03, 512, 4),
            Err(status::INVALID_FIELD),
            "past the page"
        );
        let long = read(0x03, 0, 8192).unwrap();
        assert_eq!(long.len(), 8192, "NUMDU lengths are served");
        assert_eq!(read(0x02, 4096, 4).unwrap(), vec![0; 4]);
        assert_eq!(identify_frmw(vec![0; 4096])[260], 0b0011);
    }
}
