//! Fabcheck's engine and Stateright explore the same two-phase-commit model: the unique state
//! counts must be equal (small sizes here; 9 resource managers in `benches/twopc.rs`).

#[path = "../benches/peer/stateright_2pc.rs"]
mod peer;

use fabcheck_models::twopc::TwoPhaseSys;
use fabcheck_models::twopc_packed::PackedTwoPhase;
use fabcheck_models::{check, check_dfs, CheckOptions, Outcome};
use stateright::{Checker, Model as _};

fn peer_states(rms: usize, symmetry: bool, bfs: bool) -> usize {
    let b = peer::TwoPhaseSys { rms: 0..rms }.checker();
    let b = if symmetry { b.symmetry() } else { b };
    if bfs {
        let c = b.spawn_bfs().join();
        c.assert_properties();
        c.unique_state_count()
    } else {
        let c = b.spawn_dfs().join();
        c.assert_properties();
        c.unique_state_count()
    }
}

#[test]
fn unique_state_counts_match_stateright() {
    for rms in 1..=5 {
        let ours = check(&TwoPhaseSys { rms }, &CheckOptions::default());
        assert_eq!(ours.outcome, Outcome::Verified);
        assert_eq!(
            ours.states as usize,
            peer_states(rms, false, true),
            "rms={rms}"
        );
        let dfs = check_dfs(&TwoPhaseSys { rms }, &CheckOptions::default());
        assert_eq!(dfs.states, ours.states);
        let packed = check(&PackedTwoPhase { rms }, &CheckOptions::default());
        assert_eq!(packed.outcome, Outcome::Verified);
        assert_eq!(
            (packed.states, packed.transitions),
            (ours.states, ours.transitions),
            "rms={rms}"
        );
    }
    assert_eq!(peer_states(3, false, true), 288);
}
