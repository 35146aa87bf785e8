//! Points where a test can step into the pipeline: for now, a call at the
//! start of every unit of work, with the opportunity id, which lets a test
//! make one unit panic to prove that a panicking unit is caught, retried and
//! counted as a restart while the account keeps working.
//!
//! Hooks are handed to the pipeline when it is built (`RegistryParts`), never
//! read from settings; production builds it with [`Hooks::none`], whose
//! calls do nothing.

use std::sync::Arc;

/// What a hook runs, given the opportunity id.
type UnitHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The pipeline's test hooks.
#[derive(Clone, Default)]
pub struct Hooks {
    before_unit: Option<UnitHook>,
}

impl Hooks {
    /// No hooks: what production runs with.
    pub fn none() -> Self {
        Self::default()
    }

    /// Runs `f` with the opportunity id at the start of every unit of work.
    pub fn before_unit(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.before_unit = Some(Arc::new(f));
        self
    }

    /// Calls the `before_unit` hook, if any, for a unit on `opportunity`.
    pub fn run_before_unit(&self, opportunity: &str) {
        if let Some(f) = &self.before_unit {
            f(opportunity);
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("before_unit", &self.before_unit.is_some())
            .finish()
    }
}
