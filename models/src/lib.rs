//! fabcheck-models: exhaustive model checking over the core (see docs/architecture.md).
