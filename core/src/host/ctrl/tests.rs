//! Unit tests of `ctrl` (they use its private items).

use super::*;

#[test]
fn limits_derived_from_cap_and_identify() {
    let mut c = Ctrl {
        cap: 0x1e01_007f,
        ioccsz: 260,
        ..Ctrl::default()
    };
    assert_eq!(c.ready_timeout(), Duration::from_millis(31 * 500));
    assert_eq!(c.in_capsule_limit(), 4096);
    assert_eq!(c.max_transfer(), None);
    c.mdts = 5;
    assert_eq!(c.max_transfer(), Some(128 * 1024));
    c.ioccsz = 0;
    assert_eq!(c.in_capsule_limit(), 0);
}
