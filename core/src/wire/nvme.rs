//! The NVMe command-layer types the codec's `Command` view produces and the target fills:
//! queue kind, CONNECT and its data, the typed commands, AER information, Identify structures,
//! property offsets, status codes, fabrics opcodes and feature ids. Parsing and encoding live in
//! `command` and `identify`; this file owns only the shapes and constants.

use serde::{Deserialize, Serialize};

/// Admin or I/O queue: opcodes overlap, so command parsing needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueKind {
    Admin,
    Io,
}

/// CONNECT attribute bit 2: the host asks the controller to disable SQ flow control
/// (`cattr.bits.dissqfc`).
pub const CATTR_DISSQFC: u8 = 0x04;

/// CONNECT command fields (SQE) and its 1024-byte data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Connect {
    pub recfmt: u16,
    pub qid: u16,
    /// 0's based.
    pub sqsize: u16,
    pub cattr: u8,
    pub kato_ms: u32,
}

/// CONNECT data (1024 bytes, in-capsule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnectData {
    pub hostid: [u8; 16],
    /// 0xFFFF = dynamic (admin queue); I/O queues carry the admin's cntlid.
    pub cntlid: u16,
    pub subnqn: String,
    pub hostnqn: String,
}

/// A decoded command: the typed view over an SQE (and, for CONNECT, its data).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Command {
    Connect(Connect),
    PropertyGet {
        attrib: u8,
        ofst: u32,
    },
    PropertySet {
        attrib: u8,
        ofst: u32,
        value: u64,
    },
    Identify {
        cns: u8,
        cntid: u16,
        nsid: u32,
    },
    GetFeatures {
        fid: u8,
        sel: u8,
        cdw11: u32,
    },
    SetFeatures {
        fid: u8,
        save: bool,
        cdw11: u32,
    },
    AsyncEventRequest,
    KeepAlive,
    GetLogPage {
        lid: u8,
        numd: u32,
        offset: u64,
        nsid: u32,
    },
    /// `nlb` is 0's based, as on the wire.
    Read {
        nsid: u32,
        slba: u64,
        nlb: u16,
    },
    Write {
        nsid: u32,
        slba: u64,
        nlb: u16,
    },
    Flush {
        nsid: u32,
    },
    /// Anything else: answered with SCT 0 SC 0x01 (invalid opcode) by the target.
    Other {
        opc: u8,
        fctype: Option<u8>,
    },
}

/// Asynchronous event information (AER completion dword 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsyncEvent {
    pub event_type: u8,
    pub info: u8,
    pub log_page: u8,
}

/// Identify Controller fields the target fills (4096 bytes on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct IdentifyController {
    pub vid: u16,
    pub ssvid: u16,
    pub sn: String,
    pub mn: String,
    pub fr: String,
    pub mdts: u8,
    pub cntlid: u16,
    pub ver: u32,
    pub oaes: u32,
    pub cntrltype: u8,
    pub aerl: u8,
    pub kas: u16,
    pub sqes: u8,
    pub cqes: u8,
    pub maxcmd: u16,
    pub nn: u32,
    pub sgls: u32,
    pub subnqn: String,
    pub ioccsz: u32,
    pub iorcsz: u32,
    pub icdoff: u16,
    pub msdbd: u8,
}

/// Identify Namespace fields the target fills (4096 bytes on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct IdentifyNamespace {
    pub nsze: u64,
    pub ncap: u64,
    pub nuse: u64,
    pub nlbaf: u8,
    pub flbas: u8,
    /// log2 of the LBA data size of format 0 (9 = 512 B, 12 = 4 KiB).
    pub lbads: u8,
}

/// Controller property offsets (Property Get/Set `ofst`).
pub mod prop {
    pub const CAP: u32 = 0x00;
    pub const VS: u32 = 0x08;
    pub const CC: u32 = 0x14;
    pub const CSTS: u32 = 0x1C;
}

/// Status values the target and host use (`Status` constructors): generic (SCT 0) and
/// fabrics command-specific (SCT 1) status codes.
pub mod status {
    use crate::wire::Status;

    const fn generic(sc: u8) -> Status {
        Status {
            sct: 0,
            sc,
            crd: 0,
            more: false,
            dnr: false,
        }
    }
    const fn specific(sc: u8) -> Status {
        Status {
            sct: 1,
            sc,
            crd: 0,
            more: false,
            dnr: false,
        }
    }

    pub const SUCCESS: Status = generic(0x00);
    pub const INVALID_OPCODE: Status = generic(0x01);
    pub const INVALID_FIELD: Status = generic(0x02);
    pub const DATA_TRANSFER_ERROR: Status = generic(0x04);
    pub const INTERNAL_DEVICE_ERROR: Status = generic(0x06);
    pub const ABORTED_SQ_DELETION: Status = generic(0x08);
    pub const INVALID_NAMESPACE: Status = generic(0x0B);
    pub const COMMAND_SEQUENCE_ERROR: Status = generic(0x0C);
    pub const LBA_OUT_OF_RANGE: Status = generic(0x80);
    pub const NAMESPACE_NOT_READY: Status = generic(0x82);
    /// Set Features KATO with an invalid value (command specific).
    pub const KEEP_ALIVE_INVALID: Status = specific(0x1C);
    pub const ASYNC_EVENT_LIMIT_EXCEEDED: Status = specific(0x05);
    /// I/O CONNECT for a qid the controller already has (command specific).
    pub const INVALID_QUEUE_IDENTIFIER: Status = specific(0x01);
    pub const CONNECT_INCOMPATIBLE_FORMAT: Status = specific(0x80);
    pub const CONTROLLER_BUSY: Status = specific(0x81);
    pub const CONNECT_INVALID_PARAMETERS: Status = specific(0x82);
    pub const CONNECT_INVALID_HOST: Status = specific(0x84);
}

/// Fabrics opcode and command types.
pub const OPC_FABRICS: u8 = 0x7F;
pub const FCTYPE_PROPERTY_SET: u8 = 0x00;
pub const FCTYPE_CONNECT: u8 = 0x01;
pub const FCTYPE_PROPERTY_GET: u8 = 0x04;

/// Feature identifiers used by hosts during init.
pub mod feature {
    pub const NUMBER_OF_QUEUES: u8 = 0x07;
    pub const ASYNC_EVENT_CONFIG: u8 = 0x0B;
    pub const KEEP_ALIVE_TIMER: u8 = 0x0F;
}
