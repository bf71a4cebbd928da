//! Stages 1 and 2 of `PduDecoder`: the common header (type, direction, IC sequence, `hlen`)
//! and the type-specific header (flags, `pdo`, `plen` and its limits, fields), each failure
//! mapped to the spec's fatal error status and FEI.

use super::*;

impl PduDecoder {
    /// Stage 1: the common header. Returns the type and the header length with digest.
    #[inline]
    pub(super) fn check_common(&self, b: &[u8]) -> Result<(PduType, usize), WireError> {
        let c = CommonHeader::parse(b);
        let role = self.config.role;
        let Some(ty) = PduType::from_u8(c.pdu_type) else {
            let reason = format!("unknown PDU type {:#04x}", c.pdu_type);
            return Err(WireError::bad_field(b, ch::PDU_TYPE, reason));
        };
        if !ty.received_by(role) {
            let reason = format!("{} is not a PDU a {role:?} receives", ty.name());
            return Err(WireError::bad_field(b, ch::PDU_TYPE, reason));
        }
        self.check_sequence(ty, b)?;
        if usize::from(c.hlen) != ty.hlen() {
            let reason = format!("{} hlen {} (expected {})", ty.name(), c.hlen, ty.hlen());
            return Err(WireError::bad_field(b, ch::HLEN, reason));
        }
        let hd = self.config.digests.header && ty.has_header_digest();
        if (c.flags & flags::HDGSTF != 0) != hd {
            let reason = format!(
                "{} HDGSTF flag does not match the negotiated digest",
                ty.name()
            );
            return Err(WireError::bad_field(b, ch::FLAGS, reason));
        }
        Ok((ty, ty.hlen() + usize::from(hd) * DIGEST_LEN))
    }

    /// The IC exchange comes first and only once; TermReq is legal at any time.
    #[inline]
    pub(super) fn check_sequence(&self, ty: PduType, b: &[u8]) -> Result<(), WireError> {
        let is_ic = matches!(ty, PduType::IcReq | PduType::IcResp);
        let is_term = matches!(ty, PduType::H2CTermReq | PduType::C2HTermReq);
        if !self.ic_done && !is_ic && !is_term {
            let first = if self.config.role == Role::Target {
                "ICReq"
            } else {
                "ICResp"
            };
            let reason = format!("{} before {first}", ty.name());
            return Err(WireError::sequence(b, reason));
        }
        if self.ic_done && is_ic {
            return Err(WireError::sequence(b, format!("second {}", ty.name())));
        }
        Ok(())
    }

    /// Stage 2: the whole header (with its digest). Returns where data and digests are.
    #[inline]
    pub(super) fn check_header(&self, ty: PduType, h: &[u8]) -> Result<Layout, WireError> {
        let hlen = ty.hlen();
        let header = &h[..hlen];
        if h.len() > hlen {
            let got = get_u32(h, hlen);
            if crc32c(header) != got {
                let reason = format!("{} header digest mismatch", ty.name());
                return Err(WireError::new(
                    FatalErrorStatus::HeaderDigestError,
                    got,
                    header,
                    reason,
                ));
            }
        }
        let lay = self.check_layout(ty, h.len(), header)?;
        self.check_fields(&lay, header)?;
        Ok(lay)
    }

    /// DDGSTF, `pdo` and `plen` against the type's layout and the configured limits.
    #[inline]
    pub(super) fn check_layout(
        &self,
        ty: PduType,
        header_len: usize,
        h: &[u8],
    ) -> Result<Layout, WireError> {
        let c = CommonHeader::parse(h);
        let plen = c.plen as usize;
        if c.plen > self.config.max_pdu_len {
            let reason = format!(
                "plen {} above the limit {}",
                c.plen, self.config.max_pdu_len
            );
            return Err(WireError::bad_field(h, ch::PLEN, reason));
        }
        let has_data = match ty {
            PduType::H2CData | PduType::C2HData => true,
            PduType::CapsuleCmd => c.pdo != 0,
            _ => false,
        };
        let dd = has_data && self.config.digests.data;
        if (c.flags & flags::DDGSTF != 0) != dd {
            let reason = format!(
                "{} DDGSTF flag does not match the PDU and digests",
                ty.name()
            );
            return Err(WireError::bad_field(h, ch::FLAGS, reason));
        }
        let mut lay = Layout {
            ty,
            flags: c.flags,
            hlen: ty.hlen(),
            dd,
            data_start: header_len,
            data_end: header_len,
            plen,
        };
        match ty {
            PduType::H2CTermReq | PduType::C2HTermReq => {
                if plen < header_len || plen > TERM_REQ_MAX_PLEN {
                    let reason = format!("{} plen {plen} outside 24..=152", ty.name());
                    return Err(WireError::bad_field(h, ch::PLEN, reason));
                }
                lay.data_end = plen;
            }
            _ if has_data => check_data_layout(&mut lay, c.pdo, header_len, h)?,
            _ => check_no_data_layout(&lay, c.pdo, header_len, h)?,
        }
        Ok(lay)
    }

    /// Type-specific header fields.
    #[inline]
    pub(super) fn check_fields(&self, lay: &Layout, h: &[u8]) -> Result<(), WireError> {
        let data_len = lay.data_end - lay.data_start;
        match lay.ty {
            PduType::IcReq | PduType::IcResp => check_ic(lay.ty, h),
            PduType::H2CTermReq | PduType::C2HTermReq => {
                let fes = crate::wire::bytes::get_u16(h, pf::FES);
                if FatalErrorStatus::from_u16(fes).is_none() {
                    let reason = format!("TermReq with reserved FES {fes}");
                    return Err(WireError::bad_field(h, pf::FES, reason));
                }
                Ok(())
            }
            PduType::CapsuleCmd | PduType::H2CData | PduType::C2HData => {
                self.check_data_fields(lay, h, data_len)
            }
            PduType::R2T => {
                if get_u32(h, pf::LENGTH) == 0 {
                    return Err(WireError::bad_field(h, pf::LENGTH, "R2T with r2tl 0"));
                }
                Ok(())
            }
            PduType::CapsuleResp => Ok(()),
        }
    }

    #[inline]
    pub(super) fn check_data_fields(
        &self,
        lay: &Layout,
        h: &[u8],
        data_len: usize,
    ) -> Result<(), WireError> {
        if lay.ty != PduType::CapsuleCmd {
            let datal = get_u32(h, pf::LENGTH);
            if datal as usize != data_len {
                let reason = format!("datal {datal} but plen leaves {data_len} data bytes");
                return Err(WireError::bad_field(h, pf::LENGTH, reason));
            }
        }
        if data_len > self.config.max_data_len as usize {
            let reason = format!(
                "{} carries {data_len} data bytes, limit {}",
                lay.ty.name(),
                self.config.max_data_len
            );
            return Err(WireError::limit(h, reason));
        }
        if lay.ty == PduType::C2HData
            && lay.flags & flags::SUCCESS != 0
            && lay.flags & flags::LAST_PDU == 0
        {
            return Err(WireError::bad_field(
                h,
                ch::FLAGS,
                "C2HData SUCCESS without LAST_PDU",
            ));
        }
        Ok(())
    }
}
