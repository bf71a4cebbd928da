//! `cargo bench -p fabcheck-sim`: runs/s and steps/s on seed-3302 and churn (fixed core,
//! tracing off, one thread), over a fixed batch of portfolio seeds.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fabcheck_sim::scenario::builtin;
use fabcheck_sim::sweep::seed_for;
use fabcheck_sim::{run, SeedString};

const BATCH: u64 = 32;

fn bench_scenario(c: &mut Criterion, name: &str) {
    let sc = builtin(name).unwrap();
    let seeds: Vec<SeedString> = (0..BATCH)
        .map(|i| SeedString::new(&sc.key(), seed_for(0, i, None)))
        .collect();
    let steps: u64 = seeds
        .iter()
        .map(|s| u64::from(run(&sc, s, false).steps))
        .sum();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("runs", |b| {
        b.iter(|| seeds.iter().map(|s| run(&sc, s, false).steps).sum::<u32>())
    });
    g.throughput(Throughput::Elements(steps));
    g.bench_function("steps", |b| {
        b.iter(|| seeds.iter().map(|s| run(&sc, s, false).steps).sum::<u32>())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_scenario(c, "seed-3302");
    bench_scenario(c, "churn");
}

criterion_group! {
    name = sim;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(sim);
