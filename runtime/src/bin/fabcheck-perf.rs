//! `fabcheck-perf`: NVMe/TCP load generator on the sans-IO fabcheck host.

#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    app::main()
}

#[cfg(not(loom))]
mod app {
    use clap::Parser;
    use fabcheck_runtime::perf::{run, PerfConfig, Progress, Workload};
    use std::process::ExitCode;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    /// Drive an NVMe/TCP target with reads and writes and report IOPS and latency.
    #[derive(Debug, Parser)]
    #[command(name = "fabcheck-perf", version)]
    struct Args {
        /// Target address IPV4:PORT.
        #[arg(long, default_value = "127.0.0.1:4420")]
        target: std::net::SocketAddr,
        /// Subsystem NQN.
        #[arg(long, default_value = "nqn.2016-06.io.spdk:cnode1")]
        subnqn: String,
        /// Queue depth per connection.
        #[arg(short = 'q', default_value_t = 32)]
        depth: usize,
        /// I/O size in bytes.
        #[arg(short = 'o', default_value_t = 4096)]
        io_size: u32,
        /// randread | randwrite | read | write | rw.
        #[arg(short = 'w', default_value = "randread")]
        workload: Workload,
        /// Read percentage for -w rw.
        #[arg(short = 'M', default_value_t = 50)]
        read_pct: u8,
        /// Run time in seconds.
        #[arg(short = 't', default_value_t = 10)]
        seconds: u64,
        /// Connections (controllers, one I/O queue each).
        #[arg(short = 'c', default_value_t = 1)]
        connections: usize,
        /// Write patterns and check what is read back.
        #[arg(long)]
        verify: bool,
        /// Namespace id.
        #[arg(long, default_value_t = 1)]
        nsid: u32,
        /// Bytes of the namespace to use, in MiB (the default namespace is 64 MiB).
        #[arg(long, default_value_t = 64)]
        range_mib: u64,
        /// Ask the target to disable SQ flow control (CONNECT `dissqfc`), as
        /// `spdk_nvme_perf --disable-sq-flow-control`: SPDK master then ends reads with a
        /// C2HData carrying SUCCESS.
        #[arg(long)]
        disable_sq_flow_control: bool,
    }

    pub fn main() -> ExitCode {
        fabcheck_runtime::alloc::tune_allocator();
        let a = Args::parse();
        let cfg = PerfConfig {
            target: a.target,
            subnqn: a.subnqn,
            depth: a.depth,
            io_size: a.io_size,
            workload: a.workload,
            read_pct: a.read_pct,
            duration: Duration::from_secs(a.seconds),
            connections: a.connections,
            verify: a.verify,
            range_bytes: a.range_mib << 20,
            nsid: a.nsid,
            kato_ms: 10_000,
            disable_sq_flow_control: a.disable_sq_flow_control,
        };
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("fabcheck-perf: starting the tokio runtime: {e}");
                return ExitCode::from(2);
            }
        };
        let progress = Arc::new(Progress::default());
        let result = rt.block_on(async {
            let ticker = tokio::spawn(report(progress.clone()));
            let r = run(cfg, progress).await;
            ticker.abort();
            r
        });
        match result {
            Ok(r) => {
                print!("{}", r.summary(a.verify));
                if r.mismatches > 0 || r.errors > 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => {
                eprintln!("fabcheck-perf: {e}");
                ExitCode::from(2)
            }
        }
    }

    async fn report(p: Arc<Progress>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let (mut ios, mut bytes, mut secs) = (0u64, 0u64, 0u64);
        loop {
            tick.tick().await;
            secs += 1;
            let (i, b) = (
                p.ios.load(Ordering::Relaxed),
                p.bytes.load(Ordering::Relaxed),
            );
            println!(
                "[{secs:>4}s] IOPS: {:>9} MiB/s: {:>9.2}",
                i - ios,
                (b - bytes) as f64 / f64::from(1 << 20)
            );
            (ios, bytes) = (i, b);
        }
    }
}
