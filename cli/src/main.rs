//! The `fabcheck` command.
fn main() {
    println!("fabcheck: not built yet");
}
