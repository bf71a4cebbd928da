//! Replays a runtime recording (JSON lines of `fabcheck_core::record::RecordLine`: a `Config`,
//! then timestamped `Input`s) into a fresh `Target`, checking invariants after every input.
//! Malformed recordings are typed errors naming the line.

use crate::trace::stream::StreamView;
use fabcheck_core::nvmf::{ConnId, Input, Output, Target, Violation};
use fabcheck_core::record::RecordLine;
use fabcheck_core::Instant;
use std::collections::BTreeMap;

/// What is wrong with a recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingError {
    #[error("recording is empty")]
    Empty,
    #[error("recording line {0}: the first line must be a config")]
    NoConfig(usize),
    #[error("recording line {0}: a second config")]
    SecondConfig(usize),
    #[error("recording line {line}: {reason}")]
    Json { line: usize, reason: String },
    #[error("recording line {0}: time goes backwards")]
    TimeBackwards(usize),
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingReplay {
    /// Inputs fed.
    pub inputs: usize,
    /// One line per input and per output, for people.
    pub lines: Vec<String>,
    /// The first invariant violation, if any (the replay stops there).
    pub violation: Option<Violation>,
}

fn parse(text: &str) -> Result<Vec<(usize, RecordLine)>, RecordingError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line: RecordLine = serde_json::from_str(l).map_err(|e| RecordingError::Json {
            line: i + 1,
            reason: e.to_string(),
        })?;
        out.push((i + 1, line));
    }
    Ok(out)
}

/// Replays a recording's text.
pub fn replay_recording(text: &str) -> Result<RecordingReplay, RecordingError> {
    let lines = parse(text)?;
    let mut it = lines.into_iter();
    let (n, first) = it.next().ok_or(RecordingError::Empty)?;
    let RecordLine::Config(config) = first else {
        return Err(RecordingError::NoConfig(n));
    };
    let mut target = Target::new(config.with_every_check());
    let mut views: BTreeMap<ConnId, StreamView> = BTreeMap::new();
    let mut out = RecordingReplay {
        inputs: 0,
        lines: Vec::new(),
        violation: None,
    };
    let mut now = Instant::ZERO;
    for (n, line) in it {
        let RecordLine::Input { at, input } = line else {
            return Err(RecordingError::SecondConfig(n));
        };
        if at < now {
            return Err(RecordingError::TimeBackwards(n));
        }
        now = at;
        out.inputs += 1;
        out.lines.push(format!("{at} <- {}", input_text(&input)));
        target.handle(at, input);
        while let Some(o) = target.poll_output() {
            out.lines
                .push(format!("{at} -> {}", output_text(&mut views, &o)));
        }
        if let Err(v) = target.check_invariants() {
            out.violation = Some(v);
            break;
        }
    }
    Ok(out)
}

fn input_text(input: &Input) -> String {
    match input {
        Input::Bytes { conn, data } => format!("bytes conn={} len={}", conn.0, data.len()),
        other => format!("{other:?}"),
    }
}

fn output_text(views: &mut BTreeMap<ConnId, StreamView>, o: &Output) -> String {
    match o {
        Output::Send { conn, data } => {
            let view = views
                .entry(*conn)
                .or_insert_with(|| StreamView::new(false, 0));
            let pdus: Vec<String> = view
                .feed(&data.to_vec())
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            format!("send conn={}: {}", conn.0, pdus.join("; "))
        }
        Output::Close { conn } => format!("close conn={}", conn.0),
        Output::RpcDone { id, result } => format!("rpc {} done: {result:?}", id.0),
        Output::Event(e) => format!(
            "{} {}: {}",
            e.thread,
            crate::coverage::mark_name(e.mark),
            e.detail
        ),
    }
}

/// A recording as JSON lines.
pub fn to_json_lines(lines: &[RecordLine]) -> String {
    lines
        .iter()
        .map(|l| serde_json::to_string(l).expect("record lines serialize") + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabcheck_core::nvmf::TargetConfig;

    #[test]
    fn malformed_recordings_name_the_line() {
        assert_eq!(replay_recording(""), Err(RecordingError::Empty));
        let cfg = serde_json::to_string(&RecordLine::Config(TargetConfig::default())).unwrap();
        let input = |at| {
            serde_json::to_string(&RecordLine::Input {
                at: Instant(at),
                input: Input::PeerClosed { conn: ConnId(1) },
            })
            .unwrap()
        };
        assert_eq!(
            replay_recording(&input(1)),
            Err(RecordingError::NoConfig(1))
        );
        assert_eq!(
            replay_recording(&format!("{cfg}\n{cfg}\n")),
            Err(RecordingError::SecondConfig(2))
        );
        assert!(matches!(
            replay_recording(&format!("{cfg}\nnot json\n")),
            Err(RecordingError::Json { line: 2, .. })
        ));
        let _ = input;
    }
}
