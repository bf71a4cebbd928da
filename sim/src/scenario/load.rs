//! Loading a scenario (TOML, JSON, a built-in name or a seed string's key), turning catalogue
//! switches on, and translating it into the core's `TargetConfig`; the one-line text of host
//! steps and operator RPCs used by traces.

use super::*;

impl Scenario {
    pub fn from_toml_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_string(),
            reason: e.message().replace('\n', " "),
        })?;
        s.validate()?;
        Ok(s)
    }

    pub fn from_json_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = serde_json::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// Loads a `.toml` or `.json` file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            Scenario::from_json_str(&text, &shown)
        } else {
            Scenario::from_toml_str(&text, &shown)
        }
    }

    /// A built-in name, or else a path to a `.toml`/`.json` file.
    pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some(s) = builtin(name_or_path) {
            return Ok(s);
        }
        let path = Path::new(name_or_path);
        let looks_like_file = name_or_path.ends_with(".toml") || name_or_path.ends_with(".json");
        if looks_like_file || path.exists() {
            return Scenario::load(path);
        }
        Err(ScenarioError::Unknown(name_or_path.to_string()))
    }

    /// Turns on catalogue switches by name (added to the scenario's own).
    pub fn with_bugs(mut self, names: &[String]) -> Result<Scenario, ScenarioError> {
        for n in names {
            if catalogue::by_name(n).is_none() {
                return Err(ScenarioError::UnknownBug(n.clone()));
            }
            if !self.bugs.contains(n) {
                self.bugs.push(n.clone());
            }
        }
        Ok(self)
    }

    /// The seed-string key: the name, `@<profile>`, then `+<bug>` per switch, sorted
    /// (`seed-3302@v24.01+spdk-3302`).
    pub fn key(&self) -> String {
        let mut bugs = self.bugs.clone();
        bugs.sort();
        bugs.dedup();
        std::iter::once(format!("{}@{}", self.name, self.spdk))
            .chain(bugs)
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The scenario a seed-string key names. `file` is a scenario loaded from a file, used
    /// when its name matches (file scenarios are not built in). A key without `@<profile>`
    /// (seed strings from before profiles) runs the scenario's own profile.
    pub fn from_key(key: &str, file: Option<&Scenario>) -> Result<Scenario, ScenarioError> {
        let mut parts = key.split('+');
        let head = parts.next().unwrap_or_default();
        let bugs: Vec<String> = parts.map(str::to_string).collect();
        let (name, profile) = match head.split_once('@') {
            Some((n, p)) => (n, Some(p)),
            None => (head, None),
        };
        let base = match file {
            Some(f) if f.name == name => f.clone(),
            _ => builtin(name).ok_or_else(|| ScenarioError::Unknown(name.to_string()))?,
        };
        let base = match profile {
            Some(p) => base.with_spdk(p)?,
            None => base,
        };
        base.fixed().with_bugs(&bugs)
    }

    /// The same scenario in another profile, by name ("v24.01", "master"). A scenario whose
    /// shape lets the seed pick the profile is pinned to this one (`hunt --spdk P` and a seed
    /// string's `@P` mean P, not "P unless the seed picks another").
    pub fn with_spdk(mut self, name: &str) -> Result<Scenario, ScenarioError> {
        self.spdk = Spdk::from_name(name).ok_or_else(|| ScenarioError::UnknownSpdk(name.into()))?;
        if let Some(bounds) = self.shape.as_mut().and_then(|b| b.spdk.as_mut()) {
            *bounds = vec![self.spdk];
        }
        Ok(self)
    }

    /// The same scenario with every catalogue switch off (the fixed core).
    pub fn fixed(mut self) -> Scenario {
        self.bugs.clear();
        self.planted = fabcheck_core::nvmf::Planted::default();
        self
    }

    /// The switches as a core `BugSet` (names were validated).
    pub fn bug_set(&self) -> BugSet {
        BugSet(
            self.bugs
                .iter()
                .filter_map(|n| catalogue::by_name(n))
                .map(|b| b.id)
                .collect(),
        )
    }

    /// The target configuration this scenario starts from.
    pub fn target_config(&self) -> TargetConfig {
        TargetConfig {
            poll_groups: self.poll_groups,
            spdk: self.spdk,
            bugs: self.bug_set(),
            listeners: self
                .listeners
                .iter()
                .filter_map(|l| l.parse::<Trid>().ok())
                .collect(),
            subsystems: self
                .subsystems
                .iter()
                .map(SubsystemSpec::to_config)
                .collect(),
            listener_ref: self.listener_ref,
            pg_buffers: self.pg_buffers,
            max_queue_depth: self
                .max_queue_depth
                .unwrap_or(TargetConfig::default().max_queue_depth),
            zcopy: self.zcopy,
            planted: self.planted.clone(),
            ownership_check_off: self.ownership_check_off,
            debug_asserts: self.debug_asserts,
            ..TargetConfig::default()
        }
    }

    /// Number of droppable items: operator actions, hosts, then every host step.
    pub fn droppable_items(&self) -> usize {
        self.operator.len()
            + self.hosts.len()
            + self.hosts.iter().map(|h| h.script.len()).sum::<usize>()
    }
}

impl SubsystemSpec {
    pub fn to_config(&self) -> SubsystemConfig {
        SubsystemConfig {
            allow_any_host: self.allow_any_host,
            hosts: self.hosts.clone(),
            listeners: self
                .listeners
                .iter()
                .filter_map(|l| l.parse::<Trid>().ok())
                .collect(),
            namespaces: self.namespaces.iter().map(|n| n.to_config()).collect(),
            min_cntlid: self.min_cntlid,
            max_cntlid: self.max_cntlid,
            ..SubsystemConfig::new(&self.nqn)
        }
    }
}

impl fmt::Display for HostStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostStep::Connect => write!(f, "connect"),
            HostStep::OpenAdmin => write!(f, "open admin queue (ICReq only)"),
            HostStep::ConnectAdmin => write!(f, "admin CONNECT"),
            HostStep::Initialize => write!(f, "initialize controller"),
            HostStep::ConnectIo { qid } => write!(f, "connect I/O queue {qid}"),
            HostStep::Read {
                qid,
                nsid,
                slba,
                nlb,
            } => {
                write!(f, "read q{qid} ns{nsid} lba {slba}+{nlb}")
            }
            HostStep::Write {
                qid,
                nsid,
                slba,
                blocks,
            } => {
                write!(f, "write q{qid} ns{nsid} lba {slba}+{blocks}")
            }
            HostStep::KeepAlive => write!(f, "keep alive"),
            HostStep::StopKeepAlive => write!(f, "stop keep-alives"),
            HostStep::Reset => write!(f, "reset controller (CC.EN=0)"),
            HostStep::Shutdown => write!(f, "shut down controller (CC.SHN)"),
            HostStep::Disconnect { qid } => write!(f, "disconnect q{qid}"),
            HostStep::DisconnectAll => write!(f, "disconnect all queues"),
            HostStep::AdminBeforeConnect { opc: Some(opc) } => {
                write!(f, "admin command {opc:#04x} before CONNECT")
            }
            HostStep::AdminBeforeConnect { opc: None } => {
                write!(f, "an admin command before CONNECT")
            }
            HostStep::ConnectIoStale { qid } => write!(f, "connect I/O queue {qid} (stale cntlid)"),
            HostStep::CloseAdmin => write!(f, "close the admin connection only"),
            HostStep::Wait { ms, jitter_ms } => write!(f, "wait {ms} ms (+0..{jitter_ms})"),
            HostStep::WriteCc { en, shn } => {
                let en = en.map_or("?".to_string(), |e| u8::from(e).to_string());
                let shn = shn.map_or("?".to_string(), |s| s.to_string());
                write!(f, "raw CC write EN={en} SHN={shn}")
            }
            HostStep::ConnectAgain { qid } => write!(f, "second CONNECT on q{qid}"),
            HostStep::ConnectDupQid { qid } => {
                write!(f, "connect I/O queue {qid} again on a new connection")
            }
            HostStep::ReconnectStorm { times } => write!(f, "reconnect storm x{times}"),
            HostStep::HalfOpen => write!(f, "vanish without FIN (half-open)"),
            HostStep::StaleH2cData { qid } => write!(f, "H2CData for an ended command on q{qid}"),
            HostStep::Random { steps } => write!(f, "{steps} random actions"),
            HostStep::Aers { count } => write!(f, "send {count} AERs"),
            HostStep::AerBehindConnect => write!(f, "send an AER behind the admin CONNECT"),
        }
    }
}

impl fmt::Display for OperatorRpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperatorRpc::Pause { nqn, nsid } => write!(f, "pause {nqn} nsid={nsid}"),
            OperatorRpc::Resume { nqn } => write!(f, "resume {nqn}"),
            OperatorRpc::StopListen { listener, nqn } => match nqn {
                Some(n) => write!(f, "stop_listen_async {listener} subsystem={n}"),
                None => write!(f, "stop_listen_async {listener} subsystem=none"),
            },
            OperatorRpc::AddListener { nqn, listener } => {
                write!(f, "add listener {listener} to {nqn}")
            }
            OperatorRpc::RemoveListener { nqn, listener } => {
                write!(f, "remove listener {listener} from {nqn}")
            }
            OperatorRpc::AddNamespace { nqn, ns } => {
                write!(f, "add namespace {} to {nqn}", ns.nsid)
            }
            OperatorRpc::RemoveNamespace { nqn, nsid } => {
                write!(f, "remove namespace {nsid} from {nqn}")
            }
            OperatorRpc::StartSubsystem { nqn } => write!(f, "start {nqn}"),
            OperatorRpc::StopSubsystem { nqn } => write!(f, "stop {nqn}"),
            OperatorRpc::DeleteSubsystem { nqn } => write!(f, "delete {nqn}"),
            OperatorRpc::DisconnectQpair { host, qid } => {
                write!(f, "disconnect qpair of host {host} q{qid}")
            }
            OperatorRpc::Shutdown => write!(f, "shut the target down"),
            OperatorRpc::CreateSubsystem { nqn } => write!(f, "create {nqn}"),
            OperatorRpc::GetQpairs { nqn } => write!(f, "get_qpairs {nqn}"),
            OperatorRpc::GetControllers { nqn } => write!(f, "get_controllers {nqn}"),
            OperatorRpc::RemoveHost { nqn, hostnqn } => {
                write!(f, "remove host {hostnqn} from {nqn}")
            }
            OperatorRpc::AddHost { nqn, hostnqn } => write!(f, "add host {hostnqn} to {nqn}"),
            OperatorRpc::Listen { listener } => write!(f, "transport listen {listener}"),
            OperatorRpc::ResizeNamespace { nqn, nsid, blocks } => {
                write!(f, "resize namespace {nsid} of {nqn} to {blocks} blocks")
            }
            OperatorRpc::Random { actions } => write!(f, "{actions} random RPCs"),
        }
    }
}

impl HostSpec {
    /// Whether this host's listener is the given one.
    pub fn trid(&self) -> Trid {
        self.listener
            .parse()
            .unwrap_or_else(|_| Trid::tcp("0.0.0.0", 0))
    }
}
