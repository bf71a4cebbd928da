//! The host-access RPCs (`nvmf_subsystem_add_host` / `remove_host` / `allow_any_host`): the
//! subsystem's host list changes on the app thread, the discovery service is told, and
//! `remove_host` disconnects that host's qpairs on every poll group before it answers.
//!
//! Invariant kept: each RPC is answered once (the fan-out answers `remove_host`).

use super::arena::SubsysH;
use super::ownership::{foreign, Foreign};
use super::rpc::{err, RpcResult, EINVAL, ENOENT};
use super::{RpcId, RpcResponse, Target};

impl Target {
    pub(super) fn rpc_host(&mut self, nqn: &str, hostnqn: &str, add: bool) -> RpcResult {
        let Some((s, sub)) = self
            .find_subsystem(nqn)
            .and_then(|s| self.subsystems.get_mut(s).map(|sub| (s, sub)))
        else {
            return err(ENOENT, "subsystem not found");
        };
        // `spdk_nvmf_subsystem_add_host(_ext)` refuses a host NQN `nvmf_nqn_is_valid` rejects
        // (-EINVAL) before it looks at the host list (subsystem.c:807 v24.01, :1157 v26.05,
        // :1215 master); removal takes any string and finds no such host.
        if add && !super::nqn::nqn_is_valid(hostnqn) {
            return err(EINVAL, "invalid host NQN");
        }
        let changed = sub.set_host(hostnqn, add);
        match (changed, add) {
            (true, _) => {
                self.discovery_hosts_changed(s, Some(hostnqn));
                Ok(RpcResponse::Done)
            }
            (false, true) if self.config.spdk.refuses_duplicate_host() => {
                err(EINVAL, "host already allowed")
            }
            (false, true) => Ok(RpcResponse::Done),
            (false, false) => err(ENOENT, "host not found"),
        }
    }

    /// `nvmf_subsystem_remove_host`: forget the host, then disconnect its qpairs on every
    /// poll group; answered when the walk completes.
    pub(super) fn rpc_remove_host(
        &mut self,
        id: RpcId,
        nqn: &str,
        hostnqn: &str,
        timeout_ms: u64,
    ) -> Option<RpcResult> {
        if let Err(e) = self.rpc_host(nqn, hostnqn, false) {
            return Some(Err(e));
        }
        let Some(subsys) = self.find_subsystem(nqn) else {
            return Some(err(ENOENT, "subsystem not found"));
        };
        self.for_each_channel(super::thread::FanKind::DisconnectHost {
            subsys,
            hostnqn: hostnqn.to_string(),
            rpc: id,
            timeout_ms,
        });
        None
    }

    /// Per poll group: disconnect qpairs whose controller is in `s` and belongs to `hostnqn`.
    pub(super) fn disconnect_host_on_pg(&mut self, pg: u16, s: SubsysH, hostnqn: &str) {
        self.disconnect_qpairs_on_pg(pg, |t, q| {
            let _fixed = foreign(Foreign::FixedFields);
            q.ctrlr()
                .and_then(|c| t.ctrlrs.get(c))
                .is_some_and(|c| c.subsys() == s && c.hostnqn() == hostnqn)
        });
    }

    pub(super) fn rpc_allow_any(&mut self, nqn: &str, allow: bool) -> RpcResult {
        let Some((s, sub)) = self
            .find_subsystem(nqn)
            .and_then(|s| self.subsystems.get_mut(s).map(|sub| (s, sub)))
        else {
            return err(ENOENT, "subsystem not found");
        };
        let changed = sub.allow_any_host() != allow;
        sub.set_allow_any_host(allow);
        if changed {
            self.discovery_hosts_changed(s, None);
        }
        Ok(RpcResponse::Done)
    }
}
