//! fabcheck-sim: the deterministic simulator (see DESIGN.md section 8).
