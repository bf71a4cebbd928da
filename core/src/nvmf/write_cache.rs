//! The volatile write cache as SPDK reports it for RAM (malloc) namespaces, and Get/Set
//! Features 0x06.
//!
//! SPDK's malloc bdev sets `write_cache = 1`, so a subsystem of malloc namespaces has
//! `vwc_present` (master `nvmf_subsystem_refresh_vwc_present`: any namespace's bdev with a
//! write cache, or no namespace at all; v24.01 sets VWC.present unconditionally): Identify
//! Controller VWC is "present, flush broadcast not supported" and a new controller starts with
//! WCE = 1. The malloc bdev completes a Flush at once: there is no cache in front of its RAM
//! and no durable store behind it. fabcheck's namespaces are the same: a write's data lands
//! in the namespace's blocks when the device completes it, Flush succeeds at once, and
//! nothing survives the target process (fabcheck-target has no persistence across restarts),
//! so "written but not flushed" and "flushed" data cannot differ and no separate cache is
//! modelled. Advertising the cache tells hosts the truth that completed writes are not
//! durable, so they flush as they do against SPDK.
//!
//! Features (`nvmf_ctrlr_{get,set}_features_volatile_write_cache`): master answers Get with
//! WCE and refuses Set with WCE = 0 as "feature not changeable" (SPDK cannot bypass a
//! backend cache), accepting WCE = 1 as a no-op; v24.01 stores CDW11 (reserved bits cleared)
//! and answers Get with what was stored. Owns no state (WCE is `Ctrlr::vwc`).

use super::arena::{CtrlrH, ReqH};
use super::Target;
use crate::wire::{status, Status};

/// Feature identifier 0x06.
pub const FID_VOLATILE_WRITE_CACHE: u8 = 0x06;
/// Identify Controller VWC: present (bit 0), flush broadcast not supported (bits 2:1 = 10b).
pub const VWC_PRESENT_NO_BROADCAST: u8 = 1 | 2 << 1;
/// Command specific SC 0x0E: feature not changeable.
pub const FEATURE_NOT_CHANGEABLE: Status = Status::new(1, 0x0E);

impl Target {
    /// Get Features 0x06: CDW0 = WCE.
    pub(super) fn get_features_vwc(&self, c: CtrlrH) -> Result<u32, Status> {
        self.ctrlrs
            .get(c)
            .map(|c| c.vwc())
            .ok_or(status::INTERNAL_DEVICE_ERROR)
    }

    /// Set Features 0x06 as the profile's SPDK runs it; Ok(CDW0).
    pub(super) fn set_features_vwc(&mut self, c: CtrlrH, cdw11: u32) -> Result<u32, Status> {
        let spdk = self.config.spdk;
        let ctrlr = self
            .ctrlrs
            .get_mut(c)
            .ok_or(status::INTERNAL_DEVICE_ERROR)?;
        if !spdk.refuses_write_cache_disable() {
            ctrlr.set_vwc(cdw11);
        } else if cdw11 & 1 == 0 {
            return Err(FEATURE_NOT_CHANGEABLE);
        }
        Ok(0)
    }

    /// Answers a feature command: CDW0 on success, else the status.
    pub(super) fn feature_answer(&mut self, r: ReqH, res: Result<u32, Status>) -> Status {
        match res {
            Ok(cdw0) => {
                if let Some(req) = self.reqs.get_mut(r) {
                    req.rsp.cdw0 = cdw0;
                }
                status::SUCCESS
            }
            Err(st) => st,
        }
    }
}
