//! The core's own cost per I/O, without sockets or a runtime: the work `fabcheck-target`'s
//! driver asks of `Target` for one command at queue depth 1. One iteration feeds a
//! CapsuleCmd's bytes, runs every internal event that becomes ready (`push_due_inputs`, as
//! the driver does: the device completion, the TCP write completion when the profile defers
//! it), and drains the outputs (the response PDUs). The namespace is 64 MiB of 512 B blocks,
//! as in `ci/bench-vs-spdk.sh`; the SPDK profile is v26.05 (a read ends with a C2HData that
//! carries SUCCESS); the configuration is the one fabcheck-target serves with
//! (`TargetConfig::for_serving`: no ownership check, no per-I/O event details). Reported as I/Os per second; the README's speed section and
//! docs/runtime.md use it to tell the core's share of a round trip from the runtime's.
//! Run with `cargo bench -p fabcheck-core --bench target`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use fabcheck_core::nvmf::{ConnId, Input, Output, Spdk, Target};
use fabcheck_core::testkit::fixtures::{config_with_blocks, HOSTNQN};
use fabcheck_core::testkit::pdu;
use fabcheck_core::testkit::world::World;
use fabcheck_core::time::Instant;
use fabcheck_core::wire::Digests;
use std::time::Duration;

/// 64 MiB of 512 B blocks.
const BLOCKS: u64 = 131_072;

/// A target with an enabled controller and one I/O qpair; returns it with the I/O conn and
/// the virtual time the connects reached.
fn connected() -> (Target, ConnId, Instant) {
    let mut cfg = config_with_blocks(BLOCKS).for_serving(false);
    cfg.spdk = Spdk::V26_05;
    let mut world = World::new(cfg);
    let (_admin, io) = world.enabled_with_io(HOSTNQN);
    (world.target, io, world.now)
}

/// The CapsuleCmd bytes of I/O number `i` (cid and LBA vary, 8 blocks = 4 KiB each; a write
/// carries its data in the capsule, as `spdk_nvme_perf`'s 4 KiB writes do).
fn capsule(i: u16, write: bool) -> Vec<u8> {
    let slba = u64::from(i) * 8 % BLOCKS;
    let pdu = if write {
        pdu::write(i, 1, slba, vec![i as u8; 4096], true)
    } else {
        pdu::read(i, 1, slba, 8)
    };
    pdu.to_bytes(Digests::NONE)
}

/// One I/O: its capsule in, every ready internal event run, the outputs drained. Returns the
/// bytes the target sent.
#[inline(never)]
fn one_io(
    t: &mut Target,
    conn: ConnId,
    now: Instant,
    data: Vec<u8>,
    due: &mut Vec<Input>,
) -> usize {
    t.handle(now, Input::Bytes { conn, data });
    loop {
        due.clear();
        t.push_due_inputs(now, due);
        if due.is_empty() {
            break;
        }
        for input in due.drain(..) {
            t.handle(now, input);
        }
    }
    let mut sent = 0;
    while let Some(out) = t.poll_output() {
        match out {
            Output::Send { data, .. } => sent += data.len(),
            Output::Event(e) => drop(black_box(e)),
            other => panic!("unexpected output: {other:?}"),
        }
    }
    sent
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("target_qd1");
    g.throughput(Throughput::Elements(1));
    for (name, write) in [("read_4k", false), ("write_4k_in_capsule", true)] {
        let (mut t, conn, mut now) = connected();
        let capsules: Vec<Vec<u8>> = (0..1024).map(|i| capsule(i, write)).collect();
        let mut due = Vec::new();
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    i = (i + 1) % capsules.len();
                    capsules[i].clone()
                },
                |data| {
                    now = Instant(now.0 + 1);
                    black_box(one_io(&mut t, conn, now, data, &mut due))
                },
                criterion::BatchSize::SmallInput,
            );
        });
        assert!(t.violation().is_none(), "{:?}", t.violation());
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
