//! RPC templates of `target_inputs`: a template byte and two argument bytes name one operator
//! action over the harness's subsystems, listeners and connection slots (including one
//! subsystem and one listener that do not exist). `encode` is the inverse used to turn a
//! recorded RPC into an op.

use super::target_inputs::Harness;
use fabcheck_core::nvmf::{NamespaceConfig, RpcRequest, SubsystemConfig};

const TEMPLATES: u8 = 20;

fn pick<T: Clone>(list: &[T], i: u8) -> T {
    list[usize::from(i) % list.len()].clone()
}

fn namespace(nsid: u32) -> NamespaceConfig {
    NamespaceConfig {
        nsid,
        block_size: 512,
        blocks: 64,
    }
}

/// The RPC template `kind` builds from arguments `a`, `b` (`None`: no connection in the slot).
pub fn template(h: &Harness, kind: u8, a: u8, b: u8) -> Option<RpcRequest> {
    let nqn = pick(&h.nqns, a);
    let trid = pick(&h.trids, b);
    let nsid = u32::from(b % 4);
    Some(match kind % TEMPLATES {
        0 => RpcRequest::PauseSubsystem { nqn, nsid },
        1 => RpcRequest::ResumeSubsystem { nqn },
        2 => RpcRequest::StopSubsystem { nqn },
        3 => RpcRequest::StartSubsystem { nqn },
        4 => RpcRequest::SubsystemRemoveListener { nqn, trid },
        5 => RpcRequest::SubsystemAddListener { nqn, trid },
        6 => RpcRequest::StopListenAsync {
            trid: pick(&h.trids, a),
            nqn: (b & 1 == 1).then(|| pick(&h.nqns, b >> 1)),
        },
        7 => RpcRequest::DisconnectQpair { conn: h.conn(a)? },
        8 => RpcRequest::AddNamespace {
            nqn,
            ns: namespace(nsid + 1),
        },
        9 => RpcRequest::RemoveNamespace {
            nqn,
            nsid: nsid + 1,
        },
        10 => RpcRequest::AddHost {
            nqn,
            hostnqn: host(b),
        },
        11 => RpcRequest::RemoveHost {
            nqn,
            hostnqn: host(b),
            timeout_ms: 0,
        },
        12 => RpcRequest::AllowAnyHost {
            nqn,
            allow: b & 1 == 1,
        },
        13 => RpcRequest::DeleteSubsystem { nqn },
        14 => RpcRequest::CreateSubsystem(SubsystemConfig {
            listeners: vec![trid],
            namespaces: vec![namespace(1)],
            ..SubsystemConfig::new(&nqn)
        }),
        15 => RpcRequest::TransportListen { trid },
        16 => RpcRequest::GetSubsystems,
        17 => RpcRequest::GetControllers { nqn },
        18 => RpcRequest::GetQpairs { nqn },
        _ => RpcRequest::Shutdown,
    })
}

/// Host NQNs the templates use: the hosts of the built-in scenarios, by argument byte.
fn host(b: u8) -> String {
    format!(
        "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-00000000000{}",
        1 + b % 4
    )
}

/// A template (kind, a, b) that builds exactly `req` in harness `h`, if there is one.
pub fn encode(h: &Harness, req: &RpcRequest) -> Option<(u8, u8, u8)> {
    (0..TEMPLATES).find_map(|kind| {
        (0..=u8::MAX).find_map(|a| {
            let args = (0..8u8).chain([u8::MAX]);
            args.into_iter()
                .find(|b| template(h, kind, a, *b).as_ref() == Some(req))
                .map(|b| (kind, a, b))
        })
    })
}
