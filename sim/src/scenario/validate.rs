//! `Scenario::validate`: every name a scenario uses must exist.

use super::{HostStep, OperatorRpc, Scenario, ScenarioError};
use crate::catalogue;
use fabcheck_core::nvmf::Trid;

impl Scenario {
    /// Checks listeners, subsystems, hosts, operator references, shape bounds, marks and bugs.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.check_basics()
            .and_then(|()| self.check_subsystems())
            .and_then(|()| self.check_hosts())
            .and_then(|()| self.check_operator())
            .and_then(|()| {
                self.shape
                    .as_ref()
                    .map_or(Ok(()), |b| b.check(self.hosts.len(), self.listeners.len()))
            })
            .map_err(|reason| ScenarioError::Invalid {
                scenario: self.name.clone(),
                reason,
            })?;
        for b in &self.bugs {
            if catalogue::by_name(b).is_none() {
                return Err(ScenarioError::UnknownBug(b.clone()));
            }
        }
        Ok(())
    }

    fn check_basics(&self) -> Result<(), String> {
        if !crate::seed::SeedString::new(&self.name, 0)
            .to_string()
            .parse::<crate::seed::SeedString>()
            .is_ok_and(|s| s.scenario == self.name)
            || self.name.contains('+')
        {
            return Err(format!(
                "name '{}' cannot appear in a seed string",
                self.name
            ));
        }
        if self.poll_groups == 0 {
            return Err("poll_groups must be at least 1".into());
        }
        if self.steps == 0 || self.liveness_steps == 0 {
            return Err("steps and liveness_steps must be at least 1".into());
        }
        for l in &self.listeners {
            l.parse::<Trid>().map_err(|e| e.to_string())?;
        }
        for m in &self.required_marks {
            if !super::known_mark(m) {
                return Err(format!("unknown coverage mark '{m}'"));
            }
        }
        Ok(())
    }

    fn check_listener(&self, l: &str) -> Result<(), String> {
        l.parse::<Trid>().map_err(|e| e.to_string())?;
        Ok(())
    }

    fn check_nqn(&self, nqn: &str) -> Result<(), String> {
        if self.subsystems.iter().any(|s| s.nqn == nqn) {
            Ok(())
        } else {
            Err(format!("unknown subsystem '{nqn}'"))
        }
    }

    fn check_subsystems(&self) -> Result<(), String> {
        for s in &self.subsystems {
            for l in &s.listeners {
                self.check_listener(l)?;
            }
            if s.min_cntlid == 0 || s.min_cntlid > s.max_cntlid {
                return Err(format!("{}: bad cntlid range", s.nqn));
            }
        }
        Ok(())
    }

    fn check_hosts(&self) -> Result<(), String> {
        for (i, h) in self.hosts.iter().enumerate() {
            self.check_listener(&h.listener)?;
            if h.script.is_empty() {
                return Err(format!("host {i} has an empty script"));
            }
            for step in &h.script {
                if let HostStep::Read { nlb: 0, .. } | HostStep::Write { blocks: 0, .. } = step {
                    return Err(format!(
                        "host {i}: reads and writes need at least one block"
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_operator(&self) -> Result<(), String> {
        for (i, a) in self.operator.iter().enumerate() {
            if a.after.is_some_and(|j| j >= i) {
                return Err(format!(
                    "operator action {i}: 'after' must name an earlier action"
                ));
            }
            if a.to_ms.is_some_and(|t| t < a.from_ms) {
                return Err(format!("operator action {i}: to_ms before from_ms"));
            }
            self.check_rpc(&a.rpc)
                .map_err(|e| format!("operator action {i}: {e}"))?;
        }
        Ok(())
    }

    fn check_rpc(&self, rpc: &OperatorRpc) -> Result<(), String> {
        match rpc {
            OperatorRpc::StopListen { listener, nqn } => {
                self.check_listener(listener)?;
                nqn.as_deref().map_or(Ok(()), |n| self.check_nqn(n))
            }
            OperatorRpc::AddListener { nqn, listener }
            | OperatorRpc::RemoveListener { nqn, listener } => {
                self.check_listener(listener)?;
                self.check_nqn(nqn)
            }
            OperatorRpc::DisconnectQpair { host, .. } if *host >= self.hosts.len() => {
                Err(format!("unknown host {host}"))
            }
            OperatorRpc::DisconnectQpair { .. }
            | OperatorRpc::Shutdown
            | OperatorRpc::Random { .. } => Ok(()),
            OperatorRpc::Listen { listener } => self.check_listener(listener),
            OperatorRpc::Pause { nqn, .. }
            | OperatorRpc::Resume { nqn }
            | OperatorRpc::AddNamespace { nqn, .. }
            | OperatorRpc::RemoveNamespace { nqn, .. }
            | OperatorRpc::StartSubsystem { nqn }
            | OperatorRpc::StopSubsystem { nqn }
            | OperatorRpc::DeleteSubsystem { nqn }
            | OperatorRpc::CreateSubsystem { nqn }
            | OperatorRpc::GetQpairs { nqn }
            | OperatorRpc::GetControllers { nqn }
            | OperatorRpc::RemoveHost { nqn, .. }
            | OperatorRpc::AddHost { nqn, .. }
            | OperatorRpc::ResizeNamespace { nqn, .. } => self.check_nqn(nqn),
        }
    }
}
