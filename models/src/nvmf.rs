//! The NVMe-oF world of fabcheck-sim as a model (not built yet).
