//! PDUs for traces: a `StreamView` decodes one direction of one connection (split anywhere,
//! like the real receiver) and renders each whole PDU with the codec's one renderer
//! (`Pdu::display`, in `fabcheck_core::wire`), knowing the queue kind so opcodes are named,
//! e.g. `CapsuleCmd cid=0 CONNECT qid=0 ... subnqn=nqn.2016-06.io.spdk:cnode1`.

use fabcheck_core::wire::{DecoderConfig, Digests, Pdu, PduDecoder, QueueKind, Role};

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
                    let text = pdu.display(Some(self.queue)).to_string();
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
