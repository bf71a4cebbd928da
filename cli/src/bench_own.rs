//! `fabcheck bench` rows for the I17 thread-ownership check (core/src/nvmf/ownership.rs): the
//! same scenario with the check off ("before") and on ("after"), measured in the same run on
//! one thread with the fixed core, with the ratio of the rates.

use crate::bench_peers::{rate, row};
use crate::Usage;
use fabcheck_sim::Scenario;

/// Prints the ownership-check rows.
pub fn ownership(runs: u64) -> Result<(), Usage> {
    println!(
        "\n| cost of | before (I17 check off) | after (I17 check on) | runs/s before/after | steps/s before/after |"
    );
    println!("|---|---|---|---|---|");
    for name in ["seed-3302", "churn", "random-peers"] {
        let on = Scenario::resolve(name)?;
        let mut off = on.clone();
        off.ownership_check_off = true;
        let (before, after) = (rate(&off, runs), rate(&on, runs));
        row(&format!("I17 ownership check ({name})"), before, after);
    }
    Ok(())
}
