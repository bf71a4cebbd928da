//! SPDK's state enums and their transition tables: `enum spdk_nvmf_subsystem_state` (the CAS
//! table of `nvmf_subsystem_set_state`, also used by sgroups and namespace infos) and
//! `enum spdk_nvmf_qpair_state` (the transitions lib/nvmf makes with `nvmf_qpair_set_state`).
//!
//! Invariant kept (I10, `InvariantId::LegalTransitions`): the keepers (`Subsystem::set_state`,
//! `Qpair::set_state`) change state only along these tables. See docs/lifecycle.md.

use serde::{Deserialize, Serialize};

/// `enum spdk_nvmf_subsystem_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubState {
    Inactive,
    Activating,
    Active,
    Pausing,
    Paused,
    Resuming,
    Deactivating,
}

impl SubState {
    /// SPDK's name, as `nvmf_get_subsystems` prints it.
    pub fn name(self) -> &'static str {
        match self {
            SubState::Inactive => "inactive",
            SubState::Activating => "activating",
            SubState::Active => "active",
            SubState::Pausing => "pausing",
            SubState::Paused => "paused",
            SubState::Resuming => "resuming",
            SubState::Deactivating => "deactivating",
        }
    }

    /// Whether `nvmf_ctrlr_cmd_connect` proceeds (else the CONNECT is parked): not
    /// INACTIVE, PAUSING, PAUSED or DEACTIVATING.
    pub fn admits_connect(self) -> bool {
        !matches!(
            self,
            SubState::Inactive | SubState::Pausing | SubState::Paused | SubState::Deactivating
        )
    }

    /// `nvmf_subsystem_set_state`'s CAS table: may `self` become `new`?
    pub fn may_become(self, new: SubState) -> bool {
        use SubState::*;
        matches!(
            (self, new),
            (Inactive, Activating)
                | (Activating | Resuming, Active)
                | (Active | Resuming, Pausing)
                | (Pausing, Paused)
                | (Paused, Resuming)
                | (Active | Activating | Paused, Deactivating)
                | (Deactivating, Inactive)
        )
    }
}

/// `enum spdk_nvmf_qpair_state` (HEAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QpairState {
    Uninitialized,
    Connecting,
    Enabled,
    Deactivating,
    Error,
}

impl QpairState {
    /// SPDK's name, as `nvmf_get_qpairs` prints it.
    pub fn name(self) -> &'static str {
        match self {
            QpairState::Uninitialized => "uninitialized",
            QpairState::Connecting => "connecting",
            QpairState::Enabled => "enabled",
            QpairState::Deactivating => "deactivating",
            QpairState::Error => "error",
        }
    }

    /// `spdk_nvmf_qpair_is_active`.
    pub fn is_active(self) -> bool {
        matches!(self, QpairState::Connecting | QpairState::Enabled)
    }

    /// The transitions SPDK's lib/nvmf makes with `nvmf_qpair_set_state` (HEAD):
    /// UNINITIALIZED -> CONNECTING in `spdk_nvmf_poll_group_add`; CONNECTING -> ENABLED in
    /// `nvmf_ctrlr_send_connect_rsp`; an active state -> DEACTIVATING in
    /// `spdk_nvmf_qpair_disconnect` (`assert(spdk_nvmf_qpair_is_active)`); DEACTIVATING ->
    /// ERROR in `spdk_nvmf_poll_group_remove` from `_nvmf_qpair_destroy`
    /// (`assert(qpair->state == DEACTIVATING)`). v24.01 has no CONNECTING: its
    /// `spdk_nvmf_poll_group_add` makes the qpair ACTIVE (ENABLED here) at once.
    pub fn may_become(self, new: QpairState) -> bool {
        use QpairState::*;
        matches!(
            (self, new),
            (Uninitialized, Connecting | Enabled)
                | (Connecting, Enabled)
                | (Connecting | Enabled, Deactivating)
                | (Deactivating, Error)
        )
    }
}

/// A qpair transition outside SPDK's table (an I10 violation the caller records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: QpairState,
    pub to: QpairState,
}
