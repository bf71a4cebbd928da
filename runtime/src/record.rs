//! `--record FILE`: every input the driver feeds the core, as JSON lines of
//! [`fabcheck_core::record::RecordLine`] (first the `Config`, then one `Input` per line with its
//! virtual timestamp), and the in-process replay of such a file.
//!
//! Invariants kept by [`Recorder`]: lines are written whole (never interleaved), timestamps are
//! non-decreasing, the config line comes first, nothing is written after `finish()`, and every
//! line accepted before `finish()` is flushed by it.

use crate::sync::{lock, Arc, Mutex};
use fabcheck_core::nvmf::{Input, Output, Target, TargetConfig};
use fabcheck_core::record::RecordLine;
use fabcheck_core::Instant;
use std::io::{BufRead, Write};

/// Errors of the recorder and of reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Writing or reading the file failed.
    #[error("recording i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not a `RecordLine`.
    #[error("recording line {line}: {source}")]
    Json {
        line: usize,
        source: serde_json::Error,
    },
    /// The first line is not the config, or a later line is.
    #[error("recording line {0}: expected the config first and only first")]
    Shape(usize),
    /// `record` after `finish`.
    #[error("the recorder is finished")]
    Finished,
}

struct Inner<W: Write> {
    out: Option<W>,
    last: Instant,
    lines: u64,
}

/// A shared JSON-lines recorder (clone it freely).
pub struct Recorder<W: Write> {
    inner: Arc<Mutex<Inner<W>>>,
}

impl<W: Write> Clone for Recorder<W> {
    fn clone(&self) -> Self {
        Recorder {
            inner: self.inner.clone(),
        }
    }
}

impl<W: Write> Recorder<W> {
    /// Starts a recording with its config line.
    pub fn new(mut out: W, config: &TargetConfig) -> Result<Self, RecordError> {
        write_line(&mut out, &RecordLine::Config(config.clone()))?;
        let inner = Inner {
            out: Some(out),
            last: Instant::ZERO,
            lines: 1,
        };
        Ok(Recorder {
            inner: Arc::new(Mutex::new(inner)),
        })
    }

    /// Appends one input. A timestamp earlier than the last one is raised to it (the recording
    /// stays monotonic); the timestamp actually written is returned.
    pub fn record(&self, at: Instant, input: &Input) -> Result<Instant, RecordError> {
        let mut g = lock(&self.inner);
        let at = at.max(g.last);
        let out = g.out.as_mut().ok_or(RecordError::Finished)?;
        let line = RecordLine::Input {
            at,
            input: input.clone(),
        };
        write_line(out, &line)?;
        g.last = at;
        g.lines += 1;
        Ok(at)
    }

    /// Lines written so far (the config line included).
    pub fn lines(&self) -> u64 {
        lock(&self.inner).lines
    }

    /// Flushes and closes; later `record` calls fail. Returns the writer the first time.
    pub fn finish(&self) -> Result<Option<W>, RecordError> {
        let mut g = lock(&self.inner);
        match g.out.take() {
            Some(mut out) => {
                out.flush()?;
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }

    /// Flushes without closing.
    pub fn flush(&self) -> Result<(), RecordError> {
        let mut g = lock(&self.inner);
        if let Some(out) = g.out.as_mut() {
            out.flush()?;
        }
        Ok(())
    }
}

fn write_line<W: Write>(out: &mut W, line: &RecordLine) -> Result<(), RecordError> {
    let mut text =
        serde_json::to_vec(line).map_err(|source| RecordError::Json { line: 0, source })?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}

/// A parsed recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub config: TargetConfig,
    pub inputs: Vec<(Instant, Input)>,
}

/// Reads a recording written by [`Recorder`].
pub fn read_recording<R: BufRead>(reader: R) -> Result<Recording, RecordError> {
    let mut config = None;
    let mut inputs = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: RecordLine =
            serde_json::from_str(&line).map_err(|source| RecordError::Json {
                line: n + 1,
                source,
            })?;
        match (parsed, config.is_some()) {
            (RecordLine::Config(c), false) => config = Some(c),
            (RecordLine::Input { at, input }, true) => inputs.push((at, input)),
            _ => return Err(RecordError::Shape(n + 1)),
        }
    }
    let config = config.ok_or(RecordError::Shape(1))?;
    Ok(Recording { config, inputs })
}

/// Feeds a recording into a fresh `Target` the way the driver did (drain after every input)
/// and returns every output in order, with the target.
pub fn replay(rec: &Recording) -> (Vec<Output>, Target) {
    let mut target = Target::new(rec.config.clone());
    let mut outputs = Vec::new();
    for (at, input) in &rec.inputs {
        target.handle(*at, input.clone());
        while let Some(out) = target.poll_output() {
            outputs.push(out);
        }
    }
    (outputs, target)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use fabcheck_core::nvmf::{ConnId, ThreadId, Trid};

    #[test]
    fn recorder_writes_config_then_monotonic_inputs() {
        let cfg = TargetConfig::default();
        let rec = Recorder::new(Vec::new(), &cfg).unwrap();
        let accept = Input::Accept {
            trid: Trid::tcp("127.0.0.1", 4420),
            conn: ConnId(1),
        };
        assert_eq!(rec.record(Instant(10), &accept).unwrap(), Instant(10));
        // An earlier timestamp is raised, never written backwards.
        let run = Input::Run(ThreadId::App);
        assert_eq!(rec.record(Instant(5), &run).unwrap(), Instant(10));
        let bytes = rec.finish().unwrap().unwrap();
        assert!(matches!(
            rec.record(Instant(20), &run),
            Err(RecordError::Finished)
        ));
        let parsed = read_recording(&bytes[..]).unwrap();
        assert_eq!(parsed.config, cfg);
        assert_eq!(
            parsed.inputs,
            vec![(Instant(10), accept), (Instant(10), run)]
        );
    }

    #[test]
    fn reading_rejects_missing_or_repeated_config() {
        let line = serde_json::to_string(&RecordLine::Input {
            at: Instant(1),
            input: Input::Run(ThreadId::App),
        })
        .unwrap();
        assert!(matches!(
            read_recording(line.as_bytes()),
            Err(RecordError::Shape(1))
        ));
        let cfg = serde_json::to_string(&RecordLine::Config(TargetConfig::default())).unwrap();
        let two = format!("{cfg}\n{cfg}\n");
        assert!(matches!(
            read_recording(two.as_bytes()),
            Err(RecordError::Shape(2))
        ));
        assert!(matches!(
            read_recording("{not json".as_bytes()),
            Err(RecordError::Json { line: 1, .. })
        ));
    }
}
