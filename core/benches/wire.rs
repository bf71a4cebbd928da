//! Placeholder replaced by the wire codec benchmark.
fn main() {}
