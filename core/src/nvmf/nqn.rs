//! NQN validation as SPDK's `nvmf_nqn_is_valid` (lib/nvmf/subsystem.c) does it: 11..=223
//! bytes; the discovery NQN; `nqn.2014-08.org.nvmexpress:uuid:` plus a 36-character UUID; or
//! `nqn.yyyy-mm.` + a reverse domain (labels start with a letter, hold letters, digits and
//! inner hyphens, at most 63 characters) + `:` + a non-empty user string. SPDK checks host NQNs
//! with it in `spdk_nvmf_subsystem_add_host(_ext)` and subsystem NQNs at creation; the model's
//! `add_host` and fabcheck-target's RPC layer share this one copy. Owns no state.

pub use super::discovery::DISCOVERY_NQN;

/// SPDK_NVMF_NQN_MIN_LEN / SPDK_NVMF_NQN_MAX_LEN.
const MIN_LEN: usize = 11;
const MAX_LEN: usize = 223;
const UUID_PRE: &str = "nqn.2014-08.org.nvmexpress:uuid:";
const LABEL_MAX: usize = 63;

/// True when SPDK would accept `nqn` as a subsystem or host NQN.
pub fn nqn_is_valid(nqn: &str) -> bool {
    let len = nqn.len();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return false;
    }
    if nqn == DISCOVERY_NQN {
        return true;
    }
    if let Some(uuid) = nqn.strip_prefix(UUID_PRE) {
        return uuid_is_valid(uuid);
    }
    let b = nqn.as_bytes();
    if !nqn.starts_with("nqn.") {
        return false;
    }
    let digit = |i: usize| b[i].is_ascii_digit();
    if !(digit(4) && digit(5) && digit(6) && digit(7) && b[8] == b'-')
        || !(digit(9) && digit(10) && b[11] == b'.')
    {
        return false;
    }
    match nqn.find(':') {
        Some(end) if end < len - 1 => domain_is_valid(&b[12..end.max(12)]),
        _ => false,
    }
    // The user string after ':' is any valid UTF-8, which a Rust &str always is.
}

/// `spdk_uuid_parse` succeeds: 36 characters, hyphens at 8, 13, 18 and 23, hex digits elsewhere.
fn uuid_is_valid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// SPDK's three-state label machine over the reverse domain.
fn domain_is_valid(domain: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum St {
        Letter,
        Ldh,
        Any,
    }
    let mut st = St::Letter;
    let mut label = 0usize;
    let last = domain.len().wrapping_sub(1);
    for (i, &c) in domain.iter().enumerate() {
        if label > LABEL_MAX {
            return false;
        }
        match st {
            St::Letter if c.is_ascii_alphabetic() => {
                st = St::Any;
                label += 1;
            }
            St::Letter => return false,
            _ if c.is_ascii_alphanumeric() => {
                st = St::Any;
                label += 1;
            }
            _ if c == b'-' && i != last => {
                st = St::Ldh;
                label += 1;
            }
            St::Any if c == b'.' => {
                st = St::Letter;
                label = 0;
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_spdk_accepts() {
        for ok in [
            "nqn.2016-06.io.spdk:cnode1",
            DISCOVERY_NQN,
            "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555",
            "nqn.2016-06.io.spdk:a",
            "nqn.2016-06.io.sp-dk:x:y",
            "nqn.2016-06.a1.b-2:üser",
        ] {
            assert!(nqn_is_valid(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_what_spdk_rejects() {
        let long = format!("nqn.2016-06.io.spdk:{}", "x".repeat(300));
        let label = format!("nqn.2016-06.{}.io:x", "a".repeat(70));
        for bad in [
            "bad nqn",
            "iqn.2016-06.io.spdk:cnode1",
            long.as_str(),
            label.as_str(),
            "nqn.16-06.io.spdk:cnode1",
            "nqn.2016-06.io.spdk:",
            "nqn.2016-06.io.spdk",
            "nqn.2016-06.1o.spdk:x",
            "nqn.2016-06.io-.spdk:x",
            "nqn.2016-06.io..spdk:x",
            "nqn.2016-06.io_x.spdk:x",
            "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-55555555555",
            "nqn.2014-08.org.nvmexpress:uuid:1111111g-2222-3333-4444-555555555555",
        ] {
            assert!(!nqn_is_valid(bad), "{bad}");
        }
    }
}
