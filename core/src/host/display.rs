//! One-line human renderings of host actions, events and outputs, for simulator traces.

use super::{HostAction, HostEvent, HostInput, HostOutput};
use crate::wire::Status;
use std::fmt;

/// `sct/sc` in hex, e.g. `0/0x02`, with `dnr` when set.
struct StatusText(Status);

impl fmt::Display for StatusText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.is_success() {
            return f.write_str("success");
        }
        write!(f, "sct {} sc {:#04x}", s.sct, s.sc)?;
        if s.dnr {
            f.write_str(" dnr")?;
        }
        Ok(())
    }
}

impl fmt::Display for HostAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostAction::OpenAdmin => f.write_str("open admin queue"),
            HostAction::ConnectAdmin => f.write_str("CONNECT admin"),
            HostAction::Initialize => f.write_str("initialize controller"),
            HostAction::Connect => f.write_str("connect (admin + init)"),
            HostAction::ConnectIo { qid } => write!(f, "connect I/O qid={qid}"),
            HostAction::Read {
                tag,
                qid,
                nsid,
                slba,
                nlb,
            } => write!(f, "read #{tag} qid={qid} nsid={nsid} slba={slba} nlb={nlb}"),
            HostAction::Write {
                tag,
                qid,
                nsid,
                slba,
                data,
            } => write!(
                f,
                "write #{tag} qid={qid} nsid={nsid} slba={slba} len={}",
                data.len()
            ),
            HostAction::KeepAlive => f.write_str("keep alive"),
            HostAction::SetKeepAlive(on) => {
                write!(f, "keep-alive timer {}", if *on { "on" } else { "off" })
            }
            HostAction::Reset => f.write_str("reset (CC.EN=0)"),
            HostAction::Shutdown => f.write_str("shutdown (CC.SHN=normal)"),
            HostAction::Disconnect { qid } => write!(f, "disconnect qid={qid}"),
            HostAction::DisconnectAll => f.write_str("disconnect all"),
            HostAction::AdminBeforeConnect { opc } => {
                write!(f, "admin command opc={opc:#04x} before CONNECT")
            }
            HostAction::ConnectIoStale { qid } => write!(f, "connect I/O qid={qid} (stale cntlid)"),
            HostAction::WriteCc { en, shn } => {
                write!(f, "raw CC write EN={} SHN={shn}", u8::from(*en))
            }
            HostAction::ConnectAgain { qid } => write!(f, "second CONNECT on qid={qid}"),
            HostAction::ConnectDupQid { qid } => {
                write!(
                    f,
                    "connect I/O qid={qid} on a new connection (duplicate qid)"
                )
            }
            HostAction::StaleH2cData { qid } => write!(f, "H2CData for an ended command qid={qid}"),
            HostAction::Vanish => f.write_str("vanish without FIN (half-open)"),
            HostAction::Aers { count } => write!(f, "{count} AERs now"),
        }
    }
}

impl fmt::Display for HostEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostEvent::IcDone { qid } => write!(f, "ICResp accepted qid={qid}"),
            HostEvent::Connected { qid, cntlid } => {
                write!(f, "connected qid={qid} cntlid={cntlid:#x}")
            }
            HostEvent::ConnectFailed { qid, status } => {
                write!(f, "CONNECT failed qid={qid}: {}", StatusText(*status))
            }
            HostEvent::Ready { cntlid } => write!(f, "controller ready cntlid={cntlid:#x}"),
            HostEvent::CommandFailed { qid, opc, status } => write!(
                f,
                "command opc={opc:#04x} failed qid={qid}: {}",
                StatusText(*status)
            ),
            HostEvent::IoDone { tag, status, data } => {
                write!(f, "I/O #{tag} done: {}", StatusText(*status))?;
                if !data.is_empty() {
                    write!(f, " ({} bytes)", data.len())?;
                }
                Ok(())
            }
            HostEvent::Aen(e) => write!(
                f,
                "AEN type={} info={:#x} log page={:#x}",
                e.event_type, e.info, e.log_page
            ),
            HostEvent::ShutdownComplete => f.write_str("shutdown complete"),
            HostEvent::ResetComplete => f.write_str("reset complete"),
            HostEvent::ProtocolError { qid, reason } => {
                write!(f, "protocol error qid={qid}: {reason}")
            }
            HostEvent::TermReceived { qid, fes } => write!(f, "C2HTermReq qid={qid} {fes:?}"),
            HostEvent::QueueClosed { qid } => write!(f, "queue closed qid={qid}"),
            HostEvent::ControllerFailed { reason } => write!(f, "controller failed: {reason}"),
            HostEvent::Rejected { reason } => write!(f, "action rejected: {reason}"),
        }
    }
}

impl fmt::Display for HostInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostInput::Opened { qid } => write!(f, "opened qid={qid}"),
            HostInput::Bytes { qid, data } => write!(f, "{} bytes in qid={qid}", data.len()),
            HostInput::Closed { qid } => write!(f, "peer closed qid={qid}"),
            HostInput::Do(action) => write!(f, "do: {action}"),
        }
    }
}

impl fmt::Display for HostOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostOutput::Open { qid } => write!(f, "open qid={qid}"),
            HostOutput::Send { qid, data } => write!(f, "send {} bytes qid={qid}", data.len()),
            HostOutput::Close { qid } => write!(f, "close qid={qid}"),
            HostOutput::Event(e) => e.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::host::{local_status, HostAction, HostEvent};
    use crate::wire::status;

    #[test]
    fn one_line_renderings() {
        let w = HostAction::Write {
            tag: 3,
            qid: 1,
            nsid: 1,
            slba: 8,
            data: vec![0; 4096],
        };
        assert_eq!(w.to_string(), "write #3 qid=1 nsid=1 slba=8 len=4096");
        let e = HostEvent::IoDone {
            tag: 3,
            status: local_status::HOST_ABORTED,
            data: vec![],
        };
        assert_eq!(e.to_string(), "I/O #3 done: sct 3 sc 0x71 dnr");
        let e = HostEvent::ConnectFailed {
            qid: 0,
            status: status::CONTROLLER_BUSY,
        };
        assert_eq!(e.to_string(), "CONNECT failed qid=0: sct 1 sc 0x81");
        assert_eq!(
            HostEvent::Connected { qid: 0, cntlid: 1 }.to_string(),
            "connected qid=0 cntlid=0x1"
        );
    }
}
