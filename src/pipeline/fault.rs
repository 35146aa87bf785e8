//! A test-only fault hook: lets a test make one unit of work panic, to prove
//! that a panicking unit is caught, retried and counted as a restart while
//! the account keeps working. Production settings leave it empty; nothing
//! outside tests sets it.

use std::sync::Arc;

/// What the hook runs, given the opportunity id.
type Hook = Arc<dyn Fn(&str) + Send + Sync>;

/// Called with the opportunity id at the start of every unit of work.
#[derive(Clone, Default)]
pub struct FaultHook(Option<Hook>);

impl FaultHook {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }

    /// Runs the hook, if any, for a unit on `opportunity`.
    pub fn before_unit(&self, opportunity: &str) {
        if let Some(f) = &self.0 {
            f(opportunity);
        }
    }
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FaultHook(set)"
        } else {
            "FaultHook(none)"
        })
    }
}
