//! The one binary-running helper of the `fabcheck` command's integration tests (each test
//! file is its own binary and includes this module with `mod common;`).
// Each including binary uses a different subset.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `fabcheck` binary cargo built for these tests.
pub fn fabcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fabcheck"))
        .args(args)
        .output()
        .expect("fabcheck runs")
}

/// The exit code (the process must have exited, not died on a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (exit code, stdout, stderr).
pub fn text(o: &Output) -> (i32, String, String) {
    (code(o), stdout(o), stderr(o))
}

/// A fresh, empty scratch directory for this test process and `name`.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fabcheck-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
