//! `fabcheck-target`: serves NVMe/TCP from the fabcheck core on real sockets, with SPDK-style
//! JSON-RPC on a Unix socket. See docs/architecture.md and the README.

#[cfg(loom)]
fn main() {}

/// RAM namespaces' 2 MiB chunks on transparent huge pages (runtime/src/alloc.rs).
#[cfg(not(loom))]
#[global_allocator]
static ALLOCATOR: fabcheck_runtime::alloc::HugeChunks = fabcheck_runtime::alloc::HugeChunks;

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    app::main()
}

#[cfg(not(loom))]
mod app {
    use clap::Parser;
    use fabcheck_core::nvmf::{Spdk, Trid};
    use fabcheck_runtime::config::RuntimeConfig;
    use fabcheck_runtime::driver::{DriverOptions, Server};
    use fabcheck_runtime::rpc::{serve_unix, RpcState, Service};
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;

    /// NVMe/TCP target driven by the fabcheck sans-IO core.
    #[derive(Debug, Parser)]
    #[command(name = "fabcheck-target", version)]
    struct Args {
        /// TOML config file (subsystems, hosts, listeners, namespaces, limits).
        #[arg(long)]
        config: Option<PathBuf>,
        /// NVMe/TCP listen address IPV4:PORT (repeatable; default 127.0.0.1:4420).
        #[arg(long = "listen")]
        listen: Vec<String>,
        /// JSON-RPC Unix socket (default /var/tmp/fabcheck.sock).
        #[arg(long)]
        rpc_socket: Option<PathBuf>,
        /// Write every input fed to the core as JSON lines (replay with `fabcheck replay`).
        #[arg(long)]
        record: Option<PathBuf>,
        /// Maximum simultaneous connections.
        #[arg(long)]
        max_connections: Option<usize>,
        /// Close connections that have not completed CONNECT after this many ms (0 = never).
        #[arg(long)]
        idle_timeout_ms: Option<u64>,
        /// The SPDK version modelled: `master` or `v24.01` (overrides the config's `spdk`;
        /// docs/spdk-profiles.md).
        #[arg(long)]
        spdk: Option<String>,
        /// After doing work, keep polling the sockets this many microseconds before sleeping.
        #[arg(long)]
        busy_poll_us: Option<u64>,
        /// Check the core's invariants after every input (slow; for debugging).
        #[arg(long)]
        check_invariants: bool,
        /// More logging (-v info, -vv debug, -vvv trace).
        #[arg(short, action = clap::ArgAction::Count)]
        verbose: u8,
    }

    pub fn main() -> ExitCode {
        fabcheck_runtime::alloc::tune_allocator();
        let args = Args::parse();
        init_tracing(args.verbose);
        let cfg = match load(&args) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("fabcheck-target: {e}");
                return ExitCode::from(2);
            }
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rt = match runtime_for(cpus) {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("fabcheck-target: starting the tokio runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match rt.block_on(serve(cfg, args.record, args.check_invariants)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("fabcheck-target: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// The tokio runtime for a process allowed `cpus` CPUs (its affinity mask): with one CPU
    /// a current-thread runtime, since the multi-thread scheduler's single worker would only
    /// add its per-poll statistics and clock reads (6% of the target's time at QD1) and its
    /// hand-offs; with more, a multi-thread one, so the socket tasks' system calls run beside
    /// the driver. Measured pinned to one core (docs/runtime.md, "The seventh pass").
    fn runtime_for(cpus: usize) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = if cpus <= 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            tokio::runtime::Builder::new_multi_thread()
        };
        builder.enable_all().build()
    }

    fn init_tracing(verbose: u8) {
        let level = match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }

    fn load(args: &Args) -> Result<RuntimeConfig, String> {
        let listen = args
            .listen
            .iter()
            .map(|s| s.parse::<Trid>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut cfg = match &args.config {
            Some(path) => {
                let mut c = RuntimeConfig::from_file(path).map_err(|e| e.to_string())?;
                c.override_listeners(&listen, false);
                c
            }
            None => RuntimeConfig::default_with(&listen).map_err(|e| e.to_string())?,
        };
        if let Some(p) = &args.rpc_socket {
            cfg.rpc_socket = p.clone();
        }
        if let Some(m) = args.max_connections {
            cfg.limits.max_connections = m;
        }
        if let Some(t) = args.idle_timeout_ms {
            cfg.limits.idle_timeout_ms = t;
        }
        if let Some(t) = args.busy_poll_us {
            cfg.limits.busy_poll_us = t;
        }
        if let Some(s) = &args.spdk {
            cfg.target.spdk = Spdk::from_name(s)
                .ok_or_else(|| format!("--spdk {s:?}: not a profile ({})", Spdk::names()))?;
        }
        Ok(cfg)
    }

    async fn serve(
        cfg: RuntimeConfig,
        record: Option<PathBuf>,
        check_invariants: bool,
    ) -> std::io::Result<ExitCode> {
        let sink: Option<Box<dyn std::io::Write + Send>> = match &record {
            Some(p) => Some(Box::new(std::io::BufWriter::new(std::fs::File::create(p)?))),
            None => None,
        };
        let opts = DriverOptions {
            limits: cfg.limits.clone(),
            record: sink,
            check_invariants,
            ..DriverOptions::default()
        };
        let server = Server::start(cfg.target.clone().for_serving(check_invariants), opts)?;
        let state = RpcState {
            target: server.config.clone(),
            bdevs: cfg.bdevs.clone(),
            claims: cfg.claims.clone(),
            transport_created: false,
        };
        let service = Arc::new(Service::new(server.handle.clone(), state));
        let rpc = serve_unix(&cfg.rpc_socket, service)?;
        for t in &server.config.listeners {
            eprintln!("fabcheck-target: listening on {t}");
        }
        eprintln!("fabcheck-target: rpc on {}", cfg.rpc_socket.display());
        tokio::spawn(watch_signals(server.handle.clone()));
        let summary = server.task.await.map_err(std::io::Error::other)?;
        rpc.abort();
        let _ = std::fs::remove_file(&cfg.rpc_socket);
        if let Some(v) = summary
            .violation
            .as_ref()
            .or(summary.stats.invariant_failure.as_ref())
        {
            eprintln!("fabcheck-target: VIOLATION {v}");
            return Ok(ExitCode::from(3));
        }
        eprintln!(
            "fabcheck-target: shut down ({} inputs, {} connections)",
            summary.stats.inputs, summary.stats.accepted
        );
        Ok(if summary.clean {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }

    async fn watch_signals(handle: fabcheck_runtime::driver::DriverHandle) {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        let mut count = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count > 1 {
                eprintln!("fabcheck-target: second signal, exiting now");
                std::process::exit(130);
            }
            eprintln!("fabcheck-target: signal received, shutting down");
            handle.shutdown();
        }
    }

    #[cfg(test)]
    mod tests {
        use super::runtime_for;
        use tokio::runtime::RuntimeFlavor;

        #[test]
        fn one_cpu_gets_a_current_thread_runtime_and_more_get_workers() {
            let flavor = |cpus| runtime_for(cpus).unwrap().handle().runtime_flavor();
            assert_eq!(flavor(1), RuntimeFlavor::CurrentThread);
            assert_eq!(flavor(2), RuntimeFlavor::MultiThread);
        }
    }
}
