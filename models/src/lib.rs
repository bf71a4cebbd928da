//! fabcheck-models: exhaustive model checking over the core (see DESIGN.md section 9).
