//! Points where a test can step into the pipeline: a call at the start of
//! every unit of work, with the opportunity id (a test makes one unit panic
//! to prove it is caught, retried and counted as a restart), and a question
//! at every lease cycle whether the registry should end as a crash would (a
//! test proves its supervisors stop before the next registry starts).
//!
//! Hooks are handed to the pipeline when it is built (`RegistryParts`), never
//! read from settings; production builds it with [`Hooks::none`], whose
//! calls do nothing.

use std::sync::Arc;

/// What a hook runs, given the opportunity id.
type UnitHook = Arc<dyn Fn(&str) + Send + Sync>;
/// Asked at each lease cycle: true makes the registry end as a crash would.
type CycleHook = Arc<dyn Fn() -> bool + Send + Sync>;

/// The pipeline's test hooks.
#[derive(Clone, Default)]
pub struct Hooks {
    before_unit: Option<UnitHook>,
    registry_dies: Option<CycleHook>,
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

    /// Asks `f` at each lease cycle; once it says so, the registry ends as
    /// if it crashed (its watchdog stops its supervisors and starts another).
    pub fn registry_dies_when(mut self, f: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.registry_dies = Some(Arc::new(f));
        self
    }

    /// Whether the registry should end now (the `registry_dies_when` hook).
    pub fn registry_should_die(&self) -> bool {
        self.registry_dies.as_ref().is_some_and(|f| f())
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
            .field("registry_dies", &self.registry_dies.is_some())
            .finish()
    }
}
