//! One-line human forms of PDUs and commands for traces (`CONNECT qid=0 cntlid=0xffff ...`).
//!
//! Owns: trace text only; nothing parses it back. A `CapsuleCmd` needs the queue kind to name
//! opcodes 0x00..=0x02 (Flush/Write/Read on I/O queues, admin commands on the admin queue):
//! `Pdu`'s `Display` shows those raw; `Pdu::display(Some(queue))` names them.

use super::{
    prop, CapsuleCmd, Command, ConnectData, FatalErrorStatus, Pdu, QueueKind, FCTYPE_CONNECT,
    OPC_FABRICS,
};
use std::fmt;

/// A `Pdu` shown with the queue kind it travels on (see `Pdu::display`).
pub struct PduDisplay<'a> {
    pdu: &'a Pdu,
    queue: Option<QueueKind>,
}

impl Pdu {
    /// Trace form; with `queue` known, ambiguous opcodes are named.
    pub fn display(&self, queue: Option<QueueKind>) -> PduDisplay<'_> {
        PduDisplay { pdu: self, queue }
    }
}

impl fmt::Display for Pdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display(None).fmt(f)
    }
}

impl fmt::Display for PduDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pdu {
            Pdu::IcReq(ic) => write!(
                f,
                "ICReq pfv={} hpda={} hdgst={} ddgst={} maxr2t={}",
                ic.pfv, ic.hpda, ic.digests.header as u8, ic.digests.data as u8, ic.maxr2t
            ),
            Pdu::IcResp(ic) => write!(
                f,
                "ICResp pfv={} cpda={} hdgst={} ddgst={} maxh2cdata={}",
                ic.pfv, ic.cpda, ic.digests.header as u8, ic.digests.data as u8, ic.maxh2cdata
            ),
            Pdu::H2CTermReq(t) => write!(f, "H2CTermReq {}", TermText(t.fes, t.fei, t.data.len())),
            Pdu::C2HTermReq(t) => write!(f, "C2HTermReq {}", TermText(t.fes, t.fei, t.data.len())),
            Pdu::CapsuleCmd(c) => fmt_capsule(f, c, self.queue),
            Pdu::CapsuleResp(r) => {
                let c = &r.cqe;
                write!(f, "CapsuleResp cid={} status={}", c.cid, c.status)?;
                write!(f, " cdw0={:#x} sqhd={}", c.cdw0, c.sqhd)
            }
            Pdu::H2CData(d) => write!(
                f,
                "H2CData cccid={} ttag={} datao={} len={}{}",
                d.cccid,
                d.ttag,
                d.datao,
                d.data.len(),
                if d.last { " last" } else { "" }
            ),
            Pdu::C2HData(d) => write!(
                f,
                "C2HData cccid={} datao={} len={}{}{}",
                d.cccid,
                d.datao,
                d.data.len(),
                if d.last { " last" } else { "" },
                if d.success { " success" } else { "" }
            ),
            Pdu::R2T(r) => write!(
                f,
                "R2T cccid={} ttag={} r2to={} r2tl={}",
                r.cccid, r.ttag, r.r2to, r.r2tl
            ),
        }
    }
}

struct TermText(FatalErrorStatus, u32, usize);

impl fmt::Display for TermText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fes={:?} fei={} header={}B", self.0, self.1, self.2)
    }
}

fn fmt_capsule(
    f: &mut fmt::Formatter<'_>,
    c: &CapsuleCmd,
    queue: Option<QueueKind>,
) -> fmt::Result {
    write!(f, "CapsuleCmd cid={} ", c.sqe.cid)?;
    let s = &c.sqe;
    let queue = match queue {
        Some(q) => q,
        None if s.opc == OPC_FABRICS || s.opc > 0x02 => QueueKind::Admin,
        None => {
            return write!(
                f,
                "opc={:#04x} nsid={} cdw10={:#x} cdw11={:#x} cdw12={:#x} data={}B",
                s.opc,
                s.nsid,
                s.cdw10,
                s.cdw11,
                s.cdw12,
                c.data.len()
            );
        }
    };
    fmt::Display::fmt(&Command::parse(s, queue), f)?;
    if s.opc == OPC_FABRICS && s.fctype() == FCTYPE_CONNECT {
        if let Ok(cd) = ConnectData::parse(&c.data) {
            write!(
                f,
                " cntlid={:#06x} subnqn={} hostnqn={}",
                cd.cntlid, cd.subnqn, cd.hostnqn
            )?;
        }
    } else if !c.data.is_empty() {
        write!(f, " data={}B", c.data.len())?;
    }
    Ok(())
}

fn prop_name(ofst: u32) -> String {
    match ofst {
        prop::CAP => "CAP".into(),
        prop::VS => "VS".into(),
        prop::CC => "CC".into(),
        prop::CSTS => "CSTS".into(),
        o => format!("{o:#x}"),
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Connect(c) => write!(
                f,
                "CONNECT qid={} sqsize={} cattr={:#x} kato={}ms",
                c.qid, c.sqsize, c.cattr, c.kato_ms
            ),
            Command::PropertyGet { attrib, ofst } => {
                write!(
                    f,
                    "PROPERTY_GET {} size={}",
                    prop_name(*ofst),
                    prop_size(*attrib)
                )
            }
            Command::PropertySet {
                attrib,
                ofst,
                value,
            } => write!(
                f,
                "PROPERTY_SET {}={value:#x} size={}",
                prop_name(*ofst),
                prop_size(*attrib)
            ),
            Command::Identify { cns, cntid, nsid } => {
                write!(f, "IDENTIFY cns={cns} cntid={cntid} nsid={nsid}")
            }
            Command::GetFeatures { fid, sel, cdw11 } => {
                write!(f, "GET_FEATURES fid={fid:#04x} sel={sel} cdw11={cdw11:#x}")
            }
            Command::SetFeatures { fid, save, cdw11 } => {
                let sv = if *save { " save" } else { "" };
                write!(f, "SET_FEATURES fid={fid:#04x} cdw11={cdw11:#x}{sv}")
            }
            Command::AsyncEventRequest => f.write_str("ASYNC_EVENT_REQUEST"),
            Command::KeepAlive => f.write_str("KEEP_ALIVE"),
            Command::GetLogPage {
                lid,
                numd,
                offset,
                nsid,
            } => write!(
                f,
                "GET_LOG_PAGE lid={lid:#04x} numd={numd} offset={offset} nsid={nsid:#x}"
            ),
            Command::Read { nsid, slba, nlb } => {
                write!(f, "READ nsid={nsid} slba={slba} nlb={nlb}")
            }
            Command::Write { nsid, slba, nlb } => {
                write!(f, "WRITE nsid={nsid} slba={slba} nlb={nlb}")
            }
            Command::Flush { nsid } => write!(f, "FLUSH nsid={nsid}"),
            Command::Other {
                opc,
                fctype: Some(t),
            } => write!(f, "OTHER opc={opc:#04x} fctype={t:#04x}"),
            Command::Other { opc, fctype: None } => write!(f, "OTHER opc={opc:#04x}"),
        }
    }
}

fn prop_size(attrib: u8) -> u8 {
    if attrib & 0x7 == 1 {
        8
    } else {
        4
    }
}
