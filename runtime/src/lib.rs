//! fabcheck-runtime: tokio NVMe/TCP target and initiator (see DESIGN.md section 10).
