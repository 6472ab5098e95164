//! apptrack's benchmark drivers live in `src/bin/`; this library holds the pure helpers they
//! share, tested with the rest of the workspace.

pub mod exact;
