//! Get Log Page contents of an NVM controller as SPDK's `nvmf_ctrlr_get_log_page` serves them,
//! per version profile. The offset (CDW12/13) must be dword aligned; a page is copied from the
//! offset for the requested length (NUMDL and NUMDU) and the rest of the transfer reads as
//! zeros. A LID the controller does not serve is "invalid log page" (command specific, 0x09;
//! v24.01: "invalid field"), and v24.01 refuses an offset beyond the transfer's length and
//! copies nothing from an offset past a page, where later versions refuse the offset.
//!
//! Served in every profile: the error (0x01) and health (0x02) pages as zeros (SPDK leaves
//! both "TODO"), the firmware slot page (0x03: AFI.active_slot = 1 and slot 1's revision =
//! Identify Controller's FR, `nvmf_get_firmware_slot_log_page`; an offset past its 512 bytes
//! is an invalid field), the Changed Namespace List (0x04, the controller's `NsNotice`: the
//! nsids changed since the host last read it, and whether the namespace-attribute notice is
//! masked until then), the Commands Supported and Effects page (0x05, `effects_page`) and the
//! reservation notification page (0x80, empty without reservations). In v26.05 and master (not
//! v24.05) also the Supported Log Pages page (0x00), the Feature Identifiers Effects page
//! (0x12) and the NVMe-MI Commands Effects page (0x13, zeros), and pages of controller scope
//! refuse an NSID other than 0 and FFFFFFFFh. `Target::get_log_page` is the command's entry
//! (admin.rs dispatches it). Owns no state outside `NsNotice`.
//!
//! Left out where SPDK advertises them, as Identify's ONCS leaves them out (ident.rs): the
//! commands and features fabcheck does not implement (reservations, Copy, zoned commands,
//! Host Behavior Support, the reservation features).

use super::arena::{CtrlrH, ReqH};
use super::{Spdk, Target};
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
        let out = copy_from(&page, offset, len);
        self.list.clear();
        if !rae {
            self.masked = false;
        }
        out
    }
}

impl Target {
    /// `nvmf_ctrlr_get_log_page` on an NVM controller: the NSID of a controller-scope page
    /// (`Spdk::serves_supported_log_pages`), then the pages `log_page::read` serves, or the
    /// controller's Changed Namespace List.
    pub(super) fn get_log_page(
        &mut self,
        r: ReqH,
        c: CtrlrH,
        lid: u8,
        numd: u32,
        offset: u64,
    ) -> Status {
        let spdk = self.config.spdk;
        let len = match self.log_page_len(r, lid, numd) {
            Ok(len) => len,
            Err(st) => return st,
        };
        if !offset_ok(spdk, offset, len) {
            return status::INVALID_FIELD;
        }
        if lid == CHANGED_NS_PAGE {
            return self.changed_ns_list(r, c, offset, len);
        }
        match read(spdk, lid, offset, len) {
            Ok(data) => {
                self.set_rsp_data(r, data);
                status::SUCCESS
            }
            Err(st) => st,
        }
    }

    /// The checks `nvmf_ctrlr_get_log_page` makes before it tells discovery controllers from
    /// NVM ones, and the transfer's length: in v26.05 and master the NSID of a
    /// controller-scope page must be 0 or FFFFFFFFh (`controller_scope`).
    pub(super) fn log_page_len(&self, r: ReqH, lid: u8, numd: u32) -> Result<usize, Status> {
        let nsid = self.reqs.get(r).map_or(0, |q| q.sqe.nsid);
        let scoped = self.config.spdk.serves_supported_log_pages() && controller_scope(lid);
        if scoped && nsid != 0 && nsid != u32::MAX {
            return Err(status::INVALID_FIELD);
        }
        let len = ((numd as usize) + 1) * 4;
        Ok(len.min(self.config.max_io_size as usize))
    }

    /// `nvmf_get_changed_ns_list_log_page` (the offset already checked by `get_log_page`):
    /// the controller's page (cleared by the read; RAE, CDW10 bit 15, clear unmasks the
    /// notice); `Spdk::refuses_log_offset_past_page`.
    fn changed_ns_list(&mut self, r: ReqH, c: CtrlrH, offset: u64, len: usize) -> Status {
        if offset >= 4096 && self.config.spdk.refuses_log_offset_past_page() {
            return status::INVALID_FIELD;
        }
        let rae = self.reqs.get(r).is_some_and(|q| q.sqe.cdw10 & 1 << 15 != 0);
        let Some(ctrlr) = self.ctrlrs.get_mut(c) else {
            return status::INVALID_FIELD;
        };
        let data = ctrlr.ns_notice_mut().read(offset, len, rae);
        self.set_rsp_data(r, data);
        status::SUCCESS
    }
}

/// "Invalid log page": SCT command specific, SC 09h.
pub(super) const INVALID_LOG_PAGE: Status = Status::new(1, 0x09);
const SUPPORTED_LOG_PAGES: u8 = 0x00;
const ERROR_PAGE: u8 = 0x01;
const HEALTH_PAGE: u8 = 0x02;
/// The Commands Supported and Effects page.
pub(super) const EFFECTS_PAGE: u8 = 0x05;
const FEATURE_IDS_EFFECTS: u8 = 0x12;
const NVME_MI_COMMANDS_EFFECTS: u8 = 0x13;
const RESERVATION_NOTIFICATION: u8 = 0x80;
const EFFECTS_PAGE_LEN: usize = 4096;

/// `is_log_page_ctrlr_nvm_scope`: pages of controller or NVM subsystem scope, whose NSID must
/// be 0 or FFFFFFFFh (v26.05 ctrlr.c:2786-2807 and master check it; v24.01 does not).
pub(super) fn controller_scope(lid: u8) -> bool {
    matches!(lid, 0x00 | 0x01 | 0x03..=0x0D | 0x0F)
}

/// The `len` bytes a Get Log Page of `lid` returns from `offset` on an NVM controller of
/// profile `spdk` (not the Changed Namespace List, which the controller keeps), or its error
/// status.
pub(super) fn read(spdk: Spdk, lid: u8, offset: u64, len: usize) -> Result<Vec<u8>, Status> {
    let newer = spdk.serves_supported_log_pages();
    if !offset_ok(spdk, offset, len) {
        return Err(status::INVALID_FIELD);
    }
    match lid {
        ERROR_PAGE | HEALTH_PAGE | RESERVATION_NOTIFICATION => Ok(vec![0u8; len]),
        FIRMWARE_PAGE => page_from(spdk, &firmware_page(), offset, len),
        EFFECTS_PAGE => page_from(spdk, &effects_page(spdk), offset, len),
        SUPPORTED_LOG_PAGES if newer => slice_page(&supported_log_pages(), offset, len),
        FEATURE_IDS_EFFECTS if newer => slice_page(&feature_ids_effects(), offset, len),
        // "To comply with id-ctrl LPA bit 5, don't fail this log but return zeroed buffer".
        NVME_MI_COMMANDS_EFFECTS if newer => Ok(vec![0u8; len]),
        _ => Err(unserved(spdk)),
    }
}

/// The checks before any page: a dword-aligned offset, and in v24.01 (ctrlr.c:2536-2541) no
/// offset beyond the transfer's length.
pub(super) fn offset_ok(spdk: Spdk, offset: u64, len: usize) -> bool {
    offset & 3 == 0 && (spdk.serves_supported_log_pages() || offset <= len as u64)
}

/// The status of a page the controller does not serve: "invalid log page" in v26.05 and
/// master, "invalid field" in v24.01 and v24.05 (their `invalid_log_page` label sets the
/// generic status).
pub(super) fn unserved(spdk: Spdk) -> Status {
    if spdk.serves_supported_log_pages() {
        INVALID_LOG_PAGE
    } else {
        status::INVALID_FIELD
    }
}

/// `len` bytes of a page from `offset`: v24.01 copies nothing from an offset past the page;
/// v26.05 and master refuse it.
fn page_from(spdk: Spdk, page: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, Status> {
    if spdk.serves_supported_log_pages() {
        slice_page(page, offset, len)
    } else {
        Ok(copy_from(page, offset, len))
    }
}

/// `len` bytes of `page` from `offset`, zero-filled past its end (nothing past the page).
fn copy_from(page: &[u8], offset: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if let Some(from) = usize::try_from(offset).ok().and_then(|o| page.get(o..)) {
        let n = from.len().min(len);
        out[..n].copy_from_slice(&from[..n]);
    }
    out
}

/// Command Supported (CSUPP), Logical Block Content Change (LBCC), and the command scope:
/// namespace (NSCPE) and controller (CSCPE), bits 20 and 21.
const CSUPP: u32 = 1;
const LBCC: u32 = 1 << 1;
const NSCPE: u32 = 1 << 20;
const CSCPE: u32 = 1 << 21;

/// `g_cmds_and_effect_log_page` as `spdk_nvmf_get_cmds_and_effects_log_page` returns it for a
/// controller with fabcheck's ONCS (Compare, Dataset Management, Write Zeroes): 256 admin
/// entries, then 256 I/O entries, then reserved bytes. v24.01 (ctrlr.c:2420-2472) has CSUPP
/// and LBCC only, and lists Copy and the zoned commands whatever the namespaces (left out
/// here: not implemented); v26.05 (ctrlr.c:2619-2710) and master add the command scope and
/// clear the entries of what ONCS does not advertise (reservations, Copy) and of zoned
/// commands without a zoned namespace.
fn effects_page(spdk: Spdk) -> Vec<u8> {
    let (ns, ctrl) = if spdk.serves_supported_log_pages() {
        (NSCPE, CSCPE)
    } else {
        (0, 0)
    };
    let admin = [
        (0x02, CSUPP | ns | ctrl), // Get Log Page
        (0x06, CSUPP | ns | ctrl), // Identify
        (0x08, CSUPP | ctrl),      // Abort
        (0x09, CSUPP | ns | ctrl), // Set Features
        (0x0A, CSUPP | ns | ctrl), // Get Features
        (0x0C, CSUPP | ctrl),      // Asynchronous Event Request
        (0x18, CSUPP | ctrl),      // Keep Alive
    ];
    let io = [
        (0x00, CSUPP | LBCC | ns), // Flush
        (0x01, CSUPP | LBCC | ns), // Write
        (0x02, CSUPP | ns),        // Read
        (0x05, CSUPP | ns),        // Compare
        (0x08, CSUPP | LBCC | ns), // Write Zeroes
        (0x09, CSUPP | LBCC | ns), // Dataset Management
    ];
    let mut page = vec![0u8; EFFECTS_PAGE_LEN];
    page[..1024].copy_from_slice(&dword_page(&admin));
    page[1024..2048].copy_from_slice(&dword_page(&io));
    page
}

/// `g_supported_log_pages` of an NVM subsystem without ANA reporting (v26.05
/// ctrlr.c:2880-2904): LSUPP for 0x00-0x05, 0x80, 0x12 and 0x13.
fn supported_log_pages() -> Vec<u8> {
    let lids = [
        SUPPORTED_LOG_PAGES,
        ERROR_PAGE,
        HEALTH_PAGE,
        FIRMWARE_PAGE,
        EFFECTS_PAGE,
        CHANGED_NS_PAGE,
        RESERVATION_NOTIFICATION,
        FEATURE_IDS_EFFECTS,
        NVME_MI_COMMANDS_EFFECTS,
    ];
    dword_page(&lids.map(|lid| (lid, 1)))
}

/// `g_supported_feat_id_effects_log_pages` (v26.05 ctrlr.c:2813-2832): FSUPP and the scope of
/// each feature fabcheck answers (Host Behavior Support and the reservation features left
/// out: not implemented).
fn feature_ids_effects() -> Vec<u8> {
    let ctrl = [
        0x01, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0F, 0x81,
    ];
    let mut set: Vec<(u8, u32)> = ctrl.iter().map(|fid| (*fid, CSUPP | CSCPE)).collect();
    set.push((0x05, CSUPP | NSCPE)); // Error Recovery
    dword_page(&set)
}

/// A page of 256 dwords with `bits` set at the given indexes.
pub(super) fn dword_page(set: &[(u8, u32)]) -> Vec<u8> {
    let mut page = vec![0u8; 1024];
    for (i, bits) in set {
        let at = usize::from(*i) * 4;
        page[at..at + 4].copy_from_slice(&bits.to_le_bytes());
    }
    page
}

/// `len` bytes of `page` from `offset`, zero-filled past its end; an offset at or past the
/// end is an invalid field.
pub(super) fn slice_page(page: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, Status> {
    if offset & 3 != 0 || offset >= page.len() as u64 {
        return Err(status::INVALID_FIELD);
    }
    Ok(copy_from(page, offset, len))
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
        let p = read(Spdk::V26_05, 0x03, 0, 512).unwrap();
        assert_eq!((p[0], &p[8..16]), (1, &b"fabcheck"[..]));
        let tail = read(Spdk::V26_05, 0x03, 8, 16).unwrap();
        assert_eq!(&tail[..8], b"fabcheck");
        assert_eq!(&tail[8..], &[0u8; 8]);
        assert_eq!(
            read(Spdk::V26_05, 0x03, 2, 4),
            Err(status::INVALID_FIELD),
            "unaligned"
        );
        assert_eq!(
            read(Spdk::V26_05, 0x03, 512, 4),
            Err(status::INVALID_FIELD),
            "past the page"
        );
        let long = read(Spdk::V26_05, 0x03, 0, 8192).unwrap();
        assert_eq!(long.len(), 8192, "NUMDU lengths are served");
        assert_eq!(read(Spdk::V26_05, 0x02, 4096, 4).unwrap(), vec![0; 4]);
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
