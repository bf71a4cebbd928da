//! The command layer: typed views over SQEs (`Command`) and the CONNECT data.
//!
//! Owns: opcode tables (admin, I/O, fabrics) and the command dword layouts. Invariant:
//! `Command::parse(&cmd.to_sqe(cid), q) == cmd` for every command whose opcode belongs to
//! queue kind `q` (opcodes 0x00..0x02 mean different commands on admin and I/O queues).

use super::bytes::{get_cstr, get_u16, put_cstr, put_u16};
use super::sqe::SQE_FLAGS_SGL;
use super::{
    Command, Connect, ConnectData, QueueKind, Sqe, WireError, FCTYPE_CONNECT, FCTYPE_PROPERTY_GET,
    FCTYPE_PROPERTY_SET, OPC_FABRICS,
};

/// Admin opcodes.
pub mod admin_opc {
    pub const GET_LOG_PAGE: u8 = 0x02;
    pub const IDENTIFY: u8 = 0x06;
    pub const SET_FEATURES: u8 = 0x09;
    pub const GET_FEATURES: u8 = 0x0A;
    pub const ASYNC_EVENT_REQUEST: u8 = 0x0C;
    pub const KEEP_ALIVE: u8 = 0x18;
}

/// NVM I/O opcodes.
pub mod io_opc {
    pub const FLUSH: u8 = 0x00;
    pub const WRITE: u8 = 0x01;
    pub const READ: u8 = 0x02;
}

/// Identify CNS values.
pub mod cns {
    pub const NAMESPACE: u8 = 0x00;
    pub const CONTROLLER: u8 = 0x01;
    pub const ACTIVE_NS_LIST: u8 = 0x02;
    pub const NS_DESCRIPTORS: u8 = 0x03;
}

/// CONNECT data length.
pub const CONNECT_DATA_LEN: usize = 1024;

/// Byte offsets inside the CONNECT data (also the `ipo` of a bad data field).
pub mod connect_field {
    pub const HOSTID: usize = 0;
    pub const CNTLID: usize = 16;
    pub const SUBNQN: usize = 256;
    pub const HOSTNQN: usize = 512;
    pub const NQN_LEN: usize = 256;
}

fn lo16(v: u32) -> u16 {
    v as u16
}

fn hi16(v: u32) -> u16 {
    (v >> 16) as u16
}

fn u64_of(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | u64::from(hi) << 32
}

impl Command {
    pub(crate) fn parse_sqe(sqe: &Sqe, queue: QueueKind) -> Command {
        if sqe.opc == OPC_FABRICS {
            return parse_fabrics(sqe);
        }
        match queue {
            QueueKind::Admin => parse_admin(sqe),
            QueueKind::Io => parse_io(sqe),
        }
    }

    pub(crate) fn build_sqe(&self, cid: u16) -> Sqe {
        let mut sqe = Sqe {
            flags: SQE_FLAGS_SGL,
            cid,
            ..Sqe::default()
        };
        self.fill_sqe(&mut sqe);
        sqe
    }

    fn fill_sqe(&self, s: &mut Sqe) {
        match *self {
            Command::Connect(ref c) => fill_connect(s, c),
            Command::PropertyGet { attrib, ofst } => {
                fabrics(s, FCTYPE_PROPERTY_GET, attrib, ofst);
            }
            Command::PropertySet {
                attrib,
                ofst,
                value,
            } => {
                fabrics(s, FCTYPE_PROPERTY_SET, attrib, ofst);
                s.cdw12 = value as u32;
                s.cdw13 = (value >> 32) as u32;
            }
            Command::Identify { .. }
            | Command::GetFeatures { .. }
            | Command::SetFeatures { .. }
            | Command::GetLogPage { .. } => self.fill_admin_sqe(s),
            Command::AsyncEventRequest => s.opc = admin_opc::ASYNC_EVENT_REQUEST,
            Command::KeepAlive => s.opc = admin_opc::KEEP_ALIVE,
            Command::Read { nsid, slba, nlb } => rw(s, io_opc::READ, nsid, slba, nlb),
            Command::Write { nsid, slba, nlb } => rw(s, io_opc::WRITE, nsid, slba, nlb),
            Command::Flush { nsid } => admin(s, io_opc::FLUSH, nsid, 0),
            Command::Other { opc, fctype } => {
                s.opc = opc;
                s.nsid = fctype.map_or(0, u32::from);
            }
        }
    }

    /// The admin commands with fields beyond the opcode.
    fn fill_admin_sqe(&self, s: &mut Sqe) {
        match *self {
            Command::Identify { cns, cntid, nsid } => {
                admin(
                    s,
                    admin_opc::IDENTIFY,
                    nsid,
                    u32::from(cns) | u32::from(cntid) << 16,
                );
            }
            Command::GetFeatures { fid, sel, cdw11 } => {
                admin(
                    s,
                    admin_opc::GET_FEATURES,
                    0,
                    u32::from(fid) | u32::from(sel & 7) << 8,
                );
                s.cdw11 = cdw11;
            }
            Command::SetFeatures { fid, save, cdw11 } => {
                admin(
                    s,
                    admin_opc::SET_FEATURES,
                    0,
                    u32::from(fid) | u32::from(save) << 31,
                );
                s.cdw11 = cdw11;
            }
            Command::GetLogPage {
                lid,
                numd,
                offset,
                nsid,
            } => {
                admin(
                    s,
                    admin_opc::GET_LOG_PAGE,
                    nsid,
                    u32::from(lid) | (numd & 0xffff) << 16,
                );
                s.cdw11 = numd >> 16;
                s.cdw12 = offset as u32;
                s.cdw13 = (offset >> 32) as u32;
            }
            _ => {}
        }
    }

    /// Whether this is a fabrics command (opcode 0x7F).
    pub fn is_fabrics(&self) -> bool {
        match self {
            Command::Connect(_) | Command::PropertyGet { .. } | Command::PropertySet { .. } => true,
            Command::Other { opc, .. } => *opc == OPC_FABRICS,
            _ => false,
        }
    }
}

fn parse_fabrics(s: &Sqe) -> Command {
    let attrib = s.cdw10 as u8;
    match s.fctype() {
        FCTYPE_CONNECT => Command::Connect(Connect {
            recfmt: lo16(s.cdw10),
            qid: hi16(s.cdw10),
            sqsize: lo16(s.cdw11),
            cattr: (s.cdw11 >> 16) as u8,
            kato_ms: s.cdw12,
        }),
        FCTYPE_PROPERTY_GET => Command::PropertyGet {
            attrib,
            ofst: s.cdw11,
        },
        FCTYPE_PROPERTY_SET => Command::PropertySet {
            attrib,
            ofst: s.cdw11,
            value: u64_of(s.cdw12, s.cdw13),
        },
        other => Command::Other {
            opc: OPC_FABRICS,
            fctype: Some(other),
        },
    }
}

fn parse_admin(s: &Sqe) -> Command {
    match s.opc {
        admin_opc::IDENTIFY => Command::Identify {
            cns: s.cdw10 as u8,
            cntid: hi16(s.cdw10),
            nsid: s.nsid,
        },
        admin_opc::GET_FEATURES => Command::GetFeatures {
            fid: s.cdw10 as u8,
            sel: ((s.cdw10 >> 8) & 7) as u8,
            cdw11: s.cdw11,
        },
        admin_opc::SET_FEATURES => Command::SetFeatures {
            fid: s.cdw10 as u8,
            save: s.cdw10 >> 31 != 0,
            cdw11: s.cdw11,
        },
        admin_opc::ASYNC_EVENT_REQUEST => Command::AsyncEventRequest,
        admin_opc::KEEP_ALIVE => Command::KeepAlive,
        admin_opc::GET_LOG_PAGE => Command::GetLogPage {
            lid: s.cdw10 as u8,
            numd: u32::from(hi16(s.cdw10)) | (s.cdw11 & 0xffff) << 16,
            offset: u64_of(s.cdw12, s.cdw13),
            nsid: s.nsid,
        },
        opc => Command::Other { opc, fctype: None },
    }
}

fn parse_io(s: &Sqe) -> Command {
    let slba = u64_of(s.cdw10, s.cdw11);
    let nlb = lo16(s.cdw12);
    match s.opc {
        io_opc::READ => Command::Read {
            nsid: s.nsid,
            slba,
            nlb,
        },
        io_opc::WRITE => Command::Write {
            nsid: s.nsid,
            slba,
            nlb,
        },
        io_opc::FLUSH => Command::Flush { nsid: s.nsid },
        opc => Command::Other { opc, fctype: None },
    }
}

fn fabrics(s: &mut Sqe, fctype: u8, attrib: u8, ofst: u32) {
    s.opc = OPC_FABRICS;
    s.nsid = u32::from(fctype);
    s.cdw10 = u32::from(attrib);
    s.cdw11 = ofst;
}

fn fill_connect(s: &mut Sqe, c: &Connect) {
    s.opc = OPC_FABRICS;
    s.nsid = u32::from(FCTYPE_CONNECT);
    s.cdw10 = u32::from(c.recfmt) | u32::from(c.qid) << 16;
    s.cdw11 = u32::from(c.sqsize) | u32::from(c.cattr) << 16;
    s.cdw12 = c.kato_ms;
}

fn admin(s: &mut Sqe, opc: u8, nsid: u32, cdw10: u32) {
    s.opc = opc;
    s.nsid = nsid;
    s.cdw10 = cdw10;
}

fn rw(s: &mut Sqe, opc: u8, nsid: u32, slba: u64, nlb: u16) {
    s.opc = opc;
    s.nsid = nsid;
    s.cdw10 = slba as u32;
    s.cdw11 = (slba >> 32) as u32;
    s.cdw12 = u32::from(nlb);
}

impl ConnectData {
    pub(crate) fn parse_bytes(data: &[u8]) -> Result<ConnectData, WireError> {
        use connect_field::*;
        if data.len() < CONNECT_DATA_LEN {
            let reason = format!("CONNECT data is {} bytes, need 1024", data.len());
            return Err(WireError::new(
                super::FatalErrorStatus::DataOutOfRange,
                0,
                &[],
                reason,
            ));
        }
        let nqn = |off: usize| {
            get_cstr(&data[off..off + NQN_LEN]).ok_or_else(|| {
                WireError::bad_field(
                    &[],
                    off,
                    format!("CONNECT NQN at data offset {off} is not UTF-8"),
                )
            })
        };
        let mut hostid = [0u8; 16];
        hostid.copy_from_slice(&data[HOSTID..HOSTID + 16]);
        Ok(ConnectData {
            hostid,
            cntlid: get_u16(data, CNTLID),
            subnqn: nqn(SUBNQN)?,
            hostnqn: nqn(HOSTNQN)?,
        })
    }

    pub(crate) fn build_bytes(&self) -> Vec<u8> {
        use connect_field::*;
        let mut b = vec![0u8; CONNECT_DATA_LEN];
        b[HOSTID..HOSTID + 16].copy_from_slice(&self.hostid);
        put_u16(&mut b, CNTLID, self.cntlid);
        put_cstr(&mut b[SUBNQN..SUBNQN + NQN_LEN], &self.subnqn);
        put_cstr(&mut b[HOSTNQN..HOSTNQN + NQN_LEN], &self.hostnqn);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::prop;

    #[test]
    fn connect_sqe_golden() {
        let cmd = Command::Connect(Connect {
            recfmt: 0,
            qid: 1,
            sqsize: 127,
            cattr: 0x04,
            kato_ms: 0,
        });
        let sqe = cmd.to_sqe(0x10);
        let b = sqe.to_bytes();
        assert_eq!(&b[0..6], &[0x7f, 0x40, 0x10, 0x00, 0x01, 0x00]);
        assert_eq!(&b[40..52], &[0, 0, 1, 0, 127, 0, 4, 0, 0, 0, 0, 0]);
        assert_eq!(Command::parse(&sqe, QueueKind::Io), cmd);
        assert!(cmd.is_fabrics());
    }

    #[test]
    fn property_and_admin_golden() {
        let set = Command::PropertySet {
            attrib: 0,
            ofst: prop::CC,
            value: 0x0046_0001,
        };
        let b = set.to_sqe(1).to_bytes();
        assert_eq!(b[4], FCTYPE_PROPERTY_SET);
        assert_eq!(
            &b[40..56],
            &[0, 0, 0, 0, 0x14, 0, 0, 0, 1, 0, 0x46, 0, 0, 0, 0, 0]
        );
        let id = Command::Identify {
            cns: 1,
            cntid: 0,
            nsid: 0,
        };
        let b = id.to_sqe(2).to_bytes();
        assert_eq!((b[0], b[40]), (0x06, 1));
        let gl = Command::GetLogPage {
            lid: 2,
            numd: 0x0001_0003,
            offset: 0x1_0000_0010,
            nsid: !0,
        };
        let s = gl.to_sqe(3);
        assert_eq!(
            (s.cdw10, s.cdw11, s.cdw12, s.cdw13),
            (0x0003_0002, 1, 0x10, 1)
        );
        assert_eq!(Command::parse(&s, QueueKind::Admin), gl);
        let rd = Command::Read {
            nsid: 1,
            slba: 0x1_0000_0002,
            nlb: 7,
        };
        let s = rd.to_sqe(4);
        assert_eq!((s.opc, s.cdw10, s.cdw11, s.cdw12), (2, 2, 1, 7));
        assert_eq!(Command::parse(&s, QueueKind::Io), rd);
        assert_eq!(
            Command::parse(&s, QueueKind::Admin),
            Command::GetLogPage {
                lid: 2,
                numd: 1 << 16,
                offset: 7,
                nsid: 1
            }
        );
    }

    #[test]
    fn connect_data_golden_and_errors() {
        let cd = ConnectData {
            hostid: [0x11; 16],
            cntlid: 0xffff,
            subnqn: "nqn.2016-06.io.spdk:cnode1".into(),
            hostnqn: "nqn.host".into(),
        };
        let b = cd.to_bytes();
        assert_eq!(b.len(), 1024);
        assert_eq!(&b[16..18], &[0xff, 0xff]);
        assert_eq!(&b[256..260], b"nqn.");
        assert_eq!(b[256 + 26], 0);
        assert_eq!(&b[512..520], b"nqn.host");
        assert_eq!(ConnectData::parse(&b).unwrap(), cd);
        let short = ConnectData::parse(&b[..1023]).unwrap_err();
        assert_eq!(short.fes, crate::wire::FatalErrorStatus::DataOutOfRange);
        let mut bad = b.clone();
        bad[512] = 0xff;
        assert_eq!(ConnectData::parse(&bad).unwrap_err().fei, 512);
    }
}
