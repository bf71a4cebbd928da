//! Multi-step target scenarios with a quinn-style harness (owned by the target work).
