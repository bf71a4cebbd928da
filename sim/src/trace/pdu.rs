//! PDUs by their meaning for traces: a `StreamView` decodes one direction of one connection
//! (split anywhere, like the real receiver) and names each whole PDU, e.g.
//! `CONNECT qid=0 cntlid=0xffff subnqn=nqn.2016-06.io.spdk:cnode1`.

use fabcheck_core::wire::{
    prop, Command, ConnectData, DecoderConfig, Digests, Pdu, PduDecoder, QueueKind, Role, Status,
};

/// Decodes one direction of one connection for the trace.
#[derive(Debug, Clone)]
pub struct StreamView {
    decoder: PduDecoder,
    queue: QueueKind,
    dead: bool,
}

impl StreamView {
    /// `to_target` = host-to-controller direction; `qid` 0 is the admin queue.
    pub fn new(to_target: bool, qid: u16) -> Self {
        let role = if to_target { Role::Target } else { Role::Host };
        StreamView {
            decoder: PduDecoder::new(DecoderConfig {
                role,
                max_pdu_len: 1 << 24,
                max_data_len: 1 << 24,
                digests: Digests::default(),
            }),
            queue: if qid == 0 {
                QueueKind::Admin
            } else {
                QueueKind::Io
            },
            dead: false,
        }
    }

    /// Sets the digests once IC negotiation is seen.
    pub fn set_digests(&mut self, d: Digests) {
        self.decoder.set_digests(d);
    }

    /// Feeds delivered bytes; returns every whole PDU (decoded) and a description of each, plus
    /// a note when a fragment stays buffered.
    pub fn feed(&mut self, data: &[u8]) -> Vec<(Option<Pdu>, String)> {
        let mut out = Vec::new();
        if self.dead {
            out.push((None, format!("{} bytes after a decode error", data.len())));
            return out;
        }
        let mut input = data;
        loop {
            match self.decoder.decode(&mut input) {
                Ok(Some(pdu)) => {
                    let text = describe(&pdu, self.queue);
                    out.push((Some(pdu), text));
                }
                Ok(None) => break,
                Err(e) => {
                    self.dead = true;
                    out.push((None, format!("undecodable bytes: {e}")));
                    return out;
                }
            }
        }
        if self.decoder.buffered() > 0 {
            out.push((
                None,
                format!("(fragment: {} bytes buffered)", self.decoder.buffered()),
            ));
        }
        out
    }
}

fn status_text(s: Status) -> String {
    if s.is_success() {
        "ok".to_string()
    } else {
        format!(
            "sct={} sc=0x{:02x}{}",
            s.sct,
            s.sc,
            if s.dnr { " dnr" } else { "" }
        )
    }
}

fn prop_name(ofst: u32) -> String {
    match ofst {
        prop::CAP => "CAP".into(),
        prop::VS => "VS".into(),
        prop::CC => "CC".into(),
        prop::CSTS => "CSTS".into(),
        o => format!("0x{o:x}"),
    }
}

/// A PDU by its meaning.
pub fn describe(pdu: &Pdu, queue: QueueKind) -> String {
    match pdu {
        Pdu::IcReq(r) => format!("ICReq pfv={} hpda={} maxr2t={}", r.pfv, r.hpda, r.maxr2t),
        Pdu::IcResp(r) => format!("ICResp cpda={} maxh2cdata={}", r.cpda, r.maxh2cdata),
        Pdu::H2CTermReq(t) => format!("H2CTermReq fes={:?} fei={}", t.fes, t.fei),
        Pdu::C2HTermReq(t) => format!("C2HTermReq fes={:?} fei={}", t.fes, t.fei),
        Pdu::CapsuleCmd(c) => describe_command(&c.sqe, &c.data, queue),
        Pdu::CapsuleResp(r) => format!(
            "response cid={} {} cdw0=0x{:x}",
            r.cqe.cid,
            status_text(r.cqe.status),
            r.cqe.cdw0
        ),
        Pdu::H2CData(d) => format!(
            "H2CData cid={} offset={} len={}",
            d.cccid,
            d.datao,
            d.data.len()
        ),
        Pdu::C2HData(d) => format!(
            "C2HData cid={} offset={} len={}{}",
            d.cccid,
            d.datao,
            d.data.len(),
            if d.success { " success" } else { "" }
        ),
        Pdu::R2T(r) => format!("R2T cid={} offset={} len={}", r.cccid, r.r2to, r.r2tl),
    }
}

fn describe_command(sqe: &fabcheck_core::wire::Sqe, data: &[u8], queue: QueueKind) -> String {
    let cid = sqe.cid;
    match Command::parse(sqe, queue) {
        Command::Connect(c) => match ConnectData::parse(data) {
            Ok(d) => format!(
                "CONNECT qid={} cntlid=0x{:04x} subnqn={} hostnqn={} kato={}ms",
                c.qid, d.cntlid, d.subnqn, d.hostnqn, c.kato_ms
            ),
            Err(e) => format!("CONNECT qid={} (bad data: {})", c.qid, e.reason),
        },
        Command::PropertyGet { ofst, .. } => format!("PropertyGet {} cid={cid}", prop_name(ofst)),
        Command::PropertySet { ofst, value, .. } => {
            format!("PropertySet {}=0x{value:x} cid={cid}", prop_name(ofst))
        }
        Command::Identify { cns, nsid, .. } => format!("Identify cns={cns} nsid={nsid} cid={cid}"),
        Command::GetFeatures { fid, .. } => format!("GetFeatures fid=0x{fid:02x} cid={cid}"),
        Command::SetFeatures { fid, cdw11, .. } => {
            format!("SetFeatures fid=0x{fid:02x} cdw11=0x{cdw11:x} cid={cid}")
        }
        Command::AsyncEventRequest => format!("AER cid={cid}"),
        Command::KeepAlive => format!("KeepAlive cid={cid}"),
        Command::GetLogPage { lid, .. } => format!("GetLogPage lid=0x{lid:02x} cid={cid}"),
        Command::Read { nsid, slba, nlb } => {
            format!("Read ns={nsid} lba={slba}+{} cid={cid}", u32::from(nlb) + 1)
        }
        Command::Write { nsid, slba, nlb } => {
            format!(
                "Write ns={nsid} lba={slba}+{} cid={cid}",
                u32::from(nlb) + 1
            )
        }
        Command::Flush { nsid } => format!("Flush ns={nsid} cid={cid}"),
        Command::Other { opc, fctype } => format!("opcode 0x{opc:02x} fctype={fctype:?} cid={cid}"),
    }
}
