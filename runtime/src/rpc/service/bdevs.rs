//! The service's namespace and bdev methods: `nvmf_subsystem_add_ns` / `_remove_ns`,
//! `nvmf_delete_subsystem`, `bdev_malloc_create` / `_delete`, `bdev_get_bdevs`. Invariant: a
//! bdev backs at most one namespace (SPDK's exclusive-write claim), and an nsid never exceeds
//! its subsystem's `max_namespaces`.

use super::{enodev, internal, state_lock, Backend, Service};
use crate::config::Bdev;
use crate::rpc::methods::{invalid, NsIds};
use crate::rpc::{shape, JsonRpcError, INTERNAL_ERROR};
use fabcheck_core::nvmf::{NamespaceConfig, NamespaceIds, RpcRequest, DISCOVERY_NQN};
use serde_json::{json, Value};

impl<B: Backend> Service<B> {
    /// `rpc_nvmf_subsystem_add_ns`: the subsystem first (-32602 "Invalid parameters"), then
    /// `spdk_nvmf_subsystem_add_ns_ext`'s checks (unknown or claimed bdev, nsid in use or above
    /// max_namespaces, no free nsid: "Invalid parameters").
    pub(super) async fn add_ns(
        &self,
        nqn: String,
        bdev_name: String,
        nsid: Option<u32>,
        ids: NsIds,
    ) -> Result<Value, JsonRpcError> {
        let sub = self.subsystem(&nqn).await?;
        if nqn == DISCOVERY_NQN {
            // The discovery subsystem has max_namespaces 0: every nsid is above it.
            return Err(invalid());
        }
        let max_ns = sub.max_namespaces;
        let bdev = {
            let st = state_lock(&self.state);
            let bdev = st.bdevs.get(&bdev_name).cloned().ok_or_else(invalid)?;
            if st.claims.values().any(|b| *b == bdev_name) {
                return Err(invalid());
            }
            bdev
        };
        let used = |n: u32| sub.namespaces.iter().any(|ns| ns.nsid == n);
        let nsid = match nsid {
            Some(n) => n,
            None => (1..=max_ns).find(|n| !used(*n)).ok_or_else(invalid)?,
        };
        if nsid == u32::MAX || nsid > max_ns || used(nsid) {
            return Err(invalid());
        }
        let ns = NamespaceConfig {
            nsid,
            block_size: bdev.block_size,
            blocks: bdev.num_blocks,
        };
        let given = NamespaceIds {
            nguid: ids.nguid.unwrap_or_default(),
            eui64: ids.eui64.unwrap_or_default(),
            uuid: ids.uuid.unwrap_or_default(),
        };
        let req = RpcRequest::AddNamespaceWithIds {
            nqn: nqn.clone(),
            ns,
            ids: given.with_bdev_defaults(bdev.uuid),
        };
        self.core(req).await.map_err(|e| {
            JsonRpcError::new(INTERNAL_ERROR, format!("Unable to add ns: {}", e.message))
        })?;
        state_lock(&self.state)
            .claims
            .insert((nqn, nsid), bdev_name);
        Ok(json!(nsid))
    }

    pub(super) async fn remove_ns(&self, nqn: String, nsid: u32) -> Result<Value, JsonRpcError> {
        let req = RpcRequest::RemoveNamespace {
            nqn: nqn.clone(),
            nsid,
        };
        self.core(req).await.map_err(internal)?;
        state_lock(&self.state).claims.remove(&(nqn, nsid));
        Ok(json!(true))
    }

    pub(super) async fn delete_subsystem(&self, nqn: String) -> Result<Value, JsonRpcError> {
        self.subsystem(&nqn).await?;
        self.core(RpcRequest::DeleteSubsystem { nqn: nqn.clone() })
            .await
            .map_err(internal)?;
        let mut st = state_lock(&self.state);
        st.claims.retain(|(n, _), _| *n != nqn);
        Ok(json!(true))
    }

    pub(super) fn malloc_create(
        &self,
        name: Option<String>,
        bdev: Bdev,
        uuid: Option<[u8; 16]>,
    ) -> Result<Value, JsonRpcError> {
        let bdev = Bdev::new(bdev.block_size, bdev.num_blocks, uuid)
            .map_err(|e| JsonRpcError::new(INTERNAL_ERROR, e.to_string()))?;
        let mut st = state_lock(&self.state);
        let name = name.unwrap_or_else(|| {
            (0..)
                .map(|i| format!("Malloc{i}"))
                .find(|n| !st.bdevs.contains_key(n))
                .unwrap_or_default()
        });
        let uuid_taken = st.bdevs.values().any(|b| b.uuid == bdev.uuid);
        if st.bdevs.contains_key(&name) || uuid_taken {
            return Err(JsonRpcError::new(-17, "File exists"));
        }
        st.bdevs.insert(name.clone(), bdev);
        Ok(json!(name))
    }

    /// Deleting a bdev that backs namespaces hot-removes them first (as SPDK does).
    pub(super) async fn malloc_delete(&self, name: String) -> Result<Value, JsonRpcError> {
        let users: Vec<(String, u32)> = {
            let st = state_lock(&self.state);
            if !st.bdevs.contains_key(&name) {
                return Err(enodev());
            }
            st.claims
                .iter()
                .filter(|(_, b)| **b == name)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for (nqn, nsid) in users {
            self.remove_ns(nqn, nsid).await?;
        }
        state_lock(&self.state).bdevs.remove(&name);
        Ok(json!(true))
    }

    /// `bdev_get_bdevs`: all bdevs, or the one named (-19 "No such device" if unknown).
    pub(super) fn get_bdevs(&self, name: Option<String>) -> Result<Value, JsonRpcError> {
        let st = state_lock(&self.state);
        let claimed = |n: &str| st.claims.values().any(|b| b == n);
        let one = |(n, b): (&String, &Bdev)| shape::bdev(n, b, claimed(n));
        match name {
            Some(n) => {
                let b = st.bdevs.get_key_value(&n).ok_or_else(enodev)?;
                Ok(json!([one(b)]))
            }
            None => Ok(Value::Array(st.bdevs.iter().map(one).collect())),
        }
    }
}
