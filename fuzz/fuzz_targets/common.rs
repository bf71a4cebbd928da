//! Shared set-up: the first input byte picks the role, the digests and the chunk size the
//! stream is fed in; the rest is the byte stream.

use fabcheck_core::wire::{DecoderConfig, Digests, IcReq, IcResp, Pdu, Role};

#[allow(dead_code)] // each target uses a different subset
pub struct Setup {
    pub role: Role,
    pub digests: Digests,
    pub chunk: usize,
    pub config: DecoderConfig,
    pub stream: Vec<u8>,
}

pub fn setup(data: &[u8]) -> Option<Setup> {
    let (&ctl, rest) = data.split_first()?;
    let role = if ctl & 1 == 0 {
        Role::Target
    } else {
        Role::Host
    };
    let digests = Digests {
        header: ctl & 2 != 0,
        data: ctl & 4 != 0,
    };
    let chunk = 1 + usize::from(ctl >> 3) * 7;
    let config = DecoderConfig {
        role,
        max_pdu_len: 65_536,
        max_data_len: 32_768,
        digests: Digests::NONE,
    };
    // Half the inputs start with a valid IC PDU so the fuzzer reaches the later PDU types.
    let mut stream = Vec::new();
    if ctl & 0x80 != 0 {
        let ic = match role {
            Role::Target => Pdu::IcReq(IcReq {
                pfv: 0,
                hpda: 0,
                digests,
                maxr2t: 0,
            }),
            Role::Host => Pdu::IcResp(IcResp {
                pfv: 0,
                cpda: 0,
                digests,
                maxh2cdata: 4096,
            }),
        };
        ic.emit(Digests::NONE, &mut stream);
    }
    stream.extend_from_slice(rest);
    Some(Setup {
        role,
        digests,
        chunk,
        config,
        stream,
    })
}
