//! The recording format shared by the runtime (which writes it) and the simulator (which
//! replays it): JSON lines, the first a `Config`, then one `Input` per line with its virtual
//! timestamp.

use crate::nvmf::{Input, TargetConfig};
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// One line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordLine {
    /// First line: the configuration the target was created with.
    Config(TargetConfig),
    /// An input fed to the target at virtual time `at`.
    Input { at: Instant, input: Input },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvmf::{ConnId, Trid};

    #[test]
    fn record_lines_round_trip_as_json() {
        let line = RecordLine::Input {
            at: Instant(5),
            input: Input::Accept {
                trid: Trid::tcp("127.0.0.1", 4420),
                conn: ConnId(1),
            },
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(serde_json::from_str::<RecordLine>(&text).unwrap(), line);
        let cfg = RecordLine::Config(TargetConfig::default());
        let text = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<RecordLine>(&text).unwrap(), cfg);
    }
}
