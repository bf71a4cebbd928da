//! Builders for host-to-target PDUs (the raw peer end), so scripts can send ICReq, CONNECT,
//! property and admin commands, and I/O in precise orders.

use crate::wire::{
    feature, prop, CapsuleCmd, Command, Connect, ConnectData, Digests, H2CData, IcReq, Pdu,
    SglDescriptor, SGL_IN_CAPSULE, SGL_TRANSPORT,
};

pub fn icreq() -> Pdu {
    Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::default(),
        maxr2t: 0,
    })
}

fn capsule(cmd: &Command, cid: u16, data: Vec<u8>, sgl_len: u32, in_capsule: bool) -> Pdu {
    let mut sqe = cmd.to_sqe(cid);
    sqe.sgl1 = SglDescriptor {
        addr: 0,
        len: sgl_len,
        kind: if in_capsule {
            SGL_IN_CAPSULE
        } else {
            SGL_TRANSPORT
        },
    };
    Pdu::CapsuleCmd(CapsuleCmd { sqe, data })
}

/// CONNECT on `qid` (admin: cntlid 0xFFFF).
pub fn connect(cid: u16, qid: u16, subnqn: &str, hostnqn: &str, cntlid: u16, kato_ms: u32) -> Pdu {
    connect_with_cattr(cid, qid, subnqn, hostnqn, cntlid, kato_ms, 0)
}

/// CONNECT on `qid` with queue attributes `cattr` (e.g. `wire::CATTR_DISSQFC`).
pub fn connect_with_cattr(
    cid: u16,
    qid: u16,
    subnqn: &str,
    hostnqn: &str,
    cntlid: u16,
    kato_ms: u32,
    cattr: u8,
) -> Pdu {
    let cmd = Command::Connect(Connect {
        recfmt: 0,
        qid,
        sqsize: 31,
        cattr,
        kato_ms,
    });
    let data = ConnectData {
        hostid: [7; 16],
        cntlid,
        subnqn: subnqn.to_string(),
        hostnqn: hostnqn.to_string(),
    }
    .to_bytes();
    capsule(&cmd, cid, data, 1024, true)
}

pub fn prop_get(cid: u16, ofst: u32) -> Pdu {
    let attrib = u8::from(ofst == prop::CAP);
    capsule(
        &Command::PropertyGet { attrib, ofst },
        cid,
        Vec::new(),
        0,
        true,
    )
}

pub fn prop_set_cc(cid: u16, value: u32) -> Pdu {
    let cmd = Command::PropertySet {
        attrib: 0,
        ofst: prop::CC,
        value: u64::from(value),
    };
    capsule(&cmd, cid, Vec::new(), 0, true)
}

/// CC with EN = 1, IOSQES 6, IOCQES 4.
pub const CC_ENABLE: u32 = 1 | (6 << 16) | (4 << 20);
/// CC with SHN = normal (EN kept).
pub const CC_SHUTDOWN: u32 = CC_ENABLE | (1 << 14);

pub fn identify(cid: u16, cns: u8, nsid: u32) -> Pdu {
    let cmd = Command::Identify {
        cns,
        cntid: 0,
        nsid,
    };
    capsule(&cmd, cid, Vec::new(), 4096, false)
}

pub fn set_features(cid: u16, fid: u8, cdw11: u32) -> Pdu {
    let cmd = Command::SetFeatures {
        fid,
        save: false,
        cdw11,
    };
    capsule(&cmd, cid, Vec::new(), 0, true)
}

pub fn get_features(cid: u16, fid: u8) -> Pdu {
    let cmd = Command::GetFeatures {
        fid,
        sel: 0,
        cdw11: 0,
    };
    capsule(&cmd, cid, Vec::new(), 0, true)
}

/// Set Features AEC with the namespace-attribute notice enabled.
pub fn enable_ns_aen(cid: u16) -> Pdu {
    set_features(cid, feature::ASYNC_EVENT_CONFIG, 1 << 8)
}

pub fn aer(cid: u16) -> Pdu {
    capsule(&Command::AsyncEventRequest, cid, Vec::new(), 0, true)
}

pub fn keep_alive(cid: u16) -> Pdu {
    capsule(&Command::KeepAlive, cid, Vec::new(), 0, true)
}

/// A write of `data` at `slba` (512-byte blocks): in-capsule or by R2T.
pub fn write(cid: u16, nsid: u32, slba: u64, data: Vec<u8>, in_capsule: bool) -> Pdu {
    let nlb = (data.len() / 512 - 1) as u16;
    let len = data.len() as u32;
    let cmd = Command::Write { nsid, slba, nlb };
    let body = if in_capsule { data } else { Vec::new() };
    capsule(&cmd, cid, body, len, in_capsule)
}

/// A write of `len` bytes whose data follows by R2T + H2CData.
pub fn write_r2t(cid: u16, nsid: u32, slba: u64, len: u32) -> Pdu {
    let cmd = Command::Write {
        nsid,
        slba,
        nlb: (len / 512 - 1) as u16,
    };
    capsule(&cmd, cid, Vec::new(), len, false)
}

pub fn read(cid: u16, nsid: u32, slba: u64, blocks: u16) -> Pdu {
    let cmd = Command::Read {
        nsid,
        slba,
        nlb: blocks - 1,
    };
    capsule(&cmd, cid, Vec::new(), u32::from(blocks) * 512, false)
}

pub fn h2c(cccid: u16, ttag: u16, datao: u32, data: Vec<u8>, last: bool) -> Pdu {
    Pdu::H2CData(H2CData {
        cccid,
        ttag,
        datao,
        last,
        data,
    })
}

/// Get Log Page of `len` bytes (a multiple of 4) from `offset`; `rae` sets CDW10 bit 15 and
/// `lsp` CDW10 bits 11:8.
pub fn get_log_page(cid: u16, lid: u8, len: u32, offset: u64, rae: bool, lsp: u8) -> Pdu {
    let cmd = Command::GetLogPage {
        lid,
        numd: len / 4 - 1,
        offset,
        nsid: 0,
    };
    let mut pdu = capsule(&cmd, cid, Vec::new(), len, false);
    if let Pdu::CapsuleCmd(c) = &mut pdu {
        c.sqe.cdw10 |= u32::from(rae) << 15 | u32::from(lsp & 0xF) << 8;
    }
    pdu
}

/// Any command by opcode on an admin or I/O queue (no data).
pub fn raw(cid: u16, opc: u8, nsid: u32) -> Pdu {
    let mut pdu = capsule(&Command::KeepAlive, cid, Vec::new(), 0, true);
    if let Pdu::CapsuleCmd(c) = &mut pdu {
        c.sqe.opc = opc;
        c.sqe.nsid = nsid;
    }
    pdu
}

/// An I/O command by opcode with CDW10-12 and host data (in-capsule, or by R2T when
/// `in_capsule` is false and `data` is what the host will send).
pub fn io_cmd(cid: u16, opc: u8, cdws: [u32; 3], data: Vec<u8>, in_capsule: bool) -> Pdu {
    let len = data.len() as u32;
    let body = if in_capsule { data } else { Vec::new() };
    let mut pdu = capsule(&Command::Flush { nsid: 1 }, cid, body, len, in_capsule);
    if let Pdu::CapsuleCmd(c) = &mut pdu {
        c.sqe.opc = opc;
        c.sqe.cdw10 = cdws[0];
        c.sqe.cdw11 = cdws[1];
        c.sqe.cdw12 = cdws[2];
    }
    pdu
}
