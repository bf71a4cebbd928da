//! Get Log Page contents as SPDK's `nvmf_ctrlr_get_log_page` serves them: the offset (CDW12/13)
//! must be dword aligned, the page is copied from the offset for the requested length (NUMDL
//! and NUMDU) and the rest of the transfer reads as zeros. The firmware slot page (0x03) has
//! AFI.active_slot = 1 and slot 1's revision = Identify Controller's FR
//! (`nvmf_get_firmware_slot_log_page`; an offset past its 512 bytes is an invalid field). The
//! Changed Namespace List page (0x04) is the controller's `NsNotice`: the nsids changed since
//! the host last read it, and whether the namespace-attribute notice is masked until then. The
//! other supported pages read as zeros here. Owns no state outside `NsNotice`.

use crate::wire::{status, Status};

/// Identify Controller FR and firmware slot 1's revision.
pub(super) const FIRMWARE_REVISION: &str = "fabcheck";
const FIRMWARE_PAGE: u8 = 0x03;
/// Byte offset of FRMW in Identify Controller.
const FRMW: usize = 260;
/// FRMW as SPDK sets it: slot 1 read-only (bit 0), one slot (bits 3:1 = 1).
const FRMW_ONE_READ_ONLY_SLOT: u8 = 0b0011;
const FIRMWARE_PAGE_LEN: u64 = 512;
/// The Changed Namespace List (0x04).
pub(super) const CHANGED_NS_PAGE: u8 = 0x04;
/// Entries in the Changed Namespace List (`SPDK_COUNTOF(ctrlr->changed_ns_list.ns_list)`).
const CHANGED_NS_MAX: usize = 1024;

/// One controller's Changed Namespace List and namespace-attribute notice mask, as SPDK keeps
/// them (`ctrlr->changed_ns_list`, bit 0 of `ctrlr->notice_aen_mask`; v24.01 and master alike).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NsNotice {
    /// The page's entries: changed nsids in order, or `[0xFFFF_FFFF]` once it overflowed.
    list: Vec<u32>,
    /// A namespace-attribute notice was sent and the host has not read the page since.
    masked: bool,
}

impl NsNotice {
    /// `nvmf_ctrlr_ns_changed`: note `nsid` once; past 1024 entries the page says "more than
    /// 1024" (first entry FFFFFFFFh, the rest zero).
    pub fn changed(&mut self, nsid: u32) {
        if self.list == [u32::MAX] || self.list.contains(&nsid) {
            return;
        }
        if self.list.len() == CHANGED_NS_MAX {
            self.list = vec![u32::MAX];
        } else {
            self.list.push(nsid);
        }
    }

    /// `nvmf_ctrlr_mask_aen(NS_ATTR_CHANGE)`: true (and now masked) if a notice may be sent;
    /// false while an earlier notice waits for the host to read the page.
    pub fn mask(&mut self) -> bool {
        !std::mem::replace(&mut self.masked, true)
    }

    /// `nvmf_get_changed_ns_list_log_page`: the page's `len` bytes from `offset`, then the
    /// page is cleared and, unless the host asked to retain the event (RAE), the notice is
    /// unmasked.
    pub fn read(&mut self, offset: u64, len: usize, rae: bool) -> Vec<u8> {
        let mut page = vec![0u8; CHANGED_NS_MAX * 4];
        for (i, nsid) in self.list.iter().enumerate() {
            page[i * 4..i * 4 + 4].copy_from_slice(&nsid.to_le_bytes());
        }
        let mut out = vec![0u8; len];
        if let Some(from) = usize::try_from(offset).ok().and_then(|o| page.get(o..)) {
            let n = from.len().min(len);
            out[..n].copy_from_slice(&from[..n]);
        }
        self.list.clear();
        if !rae {
            self.masked = false;
        }
        out
    }
}

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

    /// SPDK sends one namespace-attribute notice until the host reads the Changed Namespace
    /// List with RAE clear (`nvmf_ctrlr_async_event_ns_notice`, `nvmf_ctrlr_mask_aen`); the
    /// page lists each changed nsid once and is cleared by the read.
    #[test]
    fn nvmf_ctrlr_mask_aen_holds_the_notice_until_the_changed_ns_list_is_read() {
        let mut n = NsNotice::default();
        n.changed(2);
        n.changed(2);
        n.changed(1);
        assert!(n.mask(), "first notice goes out");
        assert!(!n.mask(), "masked until the page is read");
        let page = n.read(0, 12, true);
        assert_eq!(page, [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(!n.mask(), "RAE keeps the notice masked");
        assert_eq!(n.read(0, 4, false), vec![0; 4], "the read cleared the page");
        assert!(n.mask(), "read with RAE clear: the next change may notify");
        for nsid in 1..=1025 {
            n.changed(nsid);
        }
        assert_eq!(n.read(0, 8, false), [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }
}
