//! Hosts that disable SQ flow control (`disable_sq_flow_control` in a scenario's host entry,
//! CONNECT `cattr.dissqfc`): master's controllers then report no SQ head and end reads with
//! C2HData SUCCESS (core test `master_honours_dissqfc_and_releases_ignore_it`). The checks stay
//! silent on the fixed core over the same built-in scenario with every host asking for it, in
//! both profiles, and every required mark is still reached.

use crate::{hunt, scenario};
use fabcheck_core::nvmf::Spdk;

#[test]
fn reset_under_io_with_sq_flow_control_disabled_is_silent() {
    for p in Spdk::ALL {
        let mut sc = scenario("reset-under-io", &[]).with_spdk(p.name()).unwrap();
        for h in &mut sc.hosts {
            h.disable_sq_flow_control = true;
        }
        let r = hunt(sc, 300);
        assert_eq!(r.failure.map(|f| f.seed.to_string()), None, "{p}");
        assert!(r.missing.is_empty(), "{p}: {:?}", r.missing);
        assert!(r.nondeterminism.is_empty(), "{p}: {:?}", r.nondeterminism);
    }
}
