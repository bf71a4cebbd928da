//! The NVMe-oF worlds explored breadth-first, with time to complete and states/s (release):
//! `cargo bench -p fabcheck-models --bench nvmf` (FABCHECK_EXPLORE_THREADS, default 2).

fn main() {
    let threads = std::env::var("FABCHECK_EXPLORE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    println!("{}", fabcheck_models::bench::Row::header());
    for t in [threads, 1] {
        for row in fabcheck_models::bench::nvmf_rows(t) {
            println!("{}", row.markdown());
        }
    }
}
