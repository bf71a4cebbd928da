//! `script = "random"` and `operator = "random"`: the scenario file may name a random actor
//! instead of listing its steps. Either form reads into the ordinary step list (one
//! `HostStep::Random` / one `OperatorRpc::Random`), so a random actor serializes back as a
//! list and round-trips.
//!
//! Invariants kept: the only accepted string is `"random"`; anything else is a parse error
//! naming the accepted forms.

use super::{HostStep, OperatorAction, OperatorRpc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// How many actions a random actor takes when the scenario does not say.
pub(super) fn default_steps() -> u32 {
    40
}

/// A list of `T`, or the string `"random"` standing for `random()`.
struct ListOrRandom<T> {
    random: fn() -> Vec<T>,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOrRandom<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of steps or the string \"random\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
        if v == "random" {
            Ok((self.random)())
        } else {
            Err(E::custom(format!(
                "unknown script '{v}': give a list of steps or \"random\""
            )))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(out)
    }
}

/// `script = [...]` or `script = "random"`.
pub(super) fn script<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<HostStep>, D::Error> {
    d.deserialize_any(ListOrRandom {
        random: || {
            vec![HostStep::Random {
                steps: default_steps(),
            }]
        },
        _t: PhantomData,
    })
}

/// `[[operator]] ...` or `operator = "random"`.
pub(super) fn operator<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OperatorAction>, D::Error> {
    d.deserialize_any(ListOrRandom {
        random: || {
            vec![OperatorAction {
                from_ms: 0,
                to_ms: None,
                after: None,
                rpc: OperatorRpc::Random {
                    actions: default_steps(),
                },
            }]
        },
        _t: PhantomData,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::{HostStep, OperatorRpc, Scenario};

    const BASE: &str = r#"
name = "r"
listeners = ["127.0.0.1:4420"]
operator = "random"
[[subsystems]]
nqn = "nqn.2016-06.io.spdk:cnode1"
listeners = ["127.0.0.1:4420"]
[[hosts]]
hostnqn = "nqn.h"
subnqn = "nqn.2016-06.io.spdk:cnode1"
listener = "127.0.0.1:4420"
script = "random"
"#;

    #[test]
    fn random_actors_read_and_round_trip() {
        let s = Scenario::from_toml_str(BASE, "r.toml").unwrap();
        assert_eq!(s.hosts[0].script, vec![HostStep::Random { steps: 40 }]);
        assert!(matches!(
            s.operator[0].rpc,
            OperatorRpc::Random { actions: 40 }
        ));
        let toml = toml::to_string(&s).unwrap();
        assert_eq!(Scenario::from_toml_str(&toml, "x.toml").unwrap(), s);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(Scenario::from_json_str(&json, "x.json").unwrap(), s);
    }

    #[test]
    fn other_strings_are_refused() {
        let bad = BASE.replace("script = \"random\"", "script = \"chaos\"");
        let e = Scenario::from_toml_str(&bad, "r.toml").unwrap_err();
        assert!(e.to_string().contains("\"random\""), "{e}");
    }
}
