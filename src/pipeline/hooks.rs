//! Points where a test can step into the service: a call at the start of
//! every unit of work, with the opportunity id (a test makes one unit panic
//! to prove it is caught, retried and counted as a restart); a question at
//! every lease cycle whether the registry should end as a crash would (a
//! test proves its supervisors stop before the next registry starts); and
//! calls inside the transaction of a complete or cancel (a test holds the
//! first of two racing requests there until the second has begun, to prove
//! that exactly one of them wins).
//!
//! Hooks are handed over when the application is built (`RegistryParts` and
//! `AppState`), never read from settings; production builds it with
//! [`Hooks::none`], whose calls do nothing.

use std::sync::Arc;

/// What a hook runs, given the opportunity id.
type UnitHook = Arc<dyn Fn(&str) + Send + Sync>;
/// Asked at each lease cycle: true makes the registry end as a crash would.
type CycleHook = Arc<dyn Fn() -> bool + Send + Sync>;

/// Where an action's transaction is when its hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionPoint {
    /// The transaction has begun; the interview is not read yet.
    Began,
    /// The interview row is read (and locked), nothing is written yet.
    Read,
}

/// What an action hook runs, given the point and the interview id.
type ActionHook = Arc<dyn Fn(ActionPoint, &str) + Send + Sync>;

/// The service's test hooks.
#[derive(Clone, Default)]
pub struct Hooks {
    before_unit: Option<UnitHook>,
    registry_dies: Option<CycleHook>,
    in_action: Option<ActionHook>,
    resolver: Option<crate::alerts::address::Resolver>,
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

    /// Runs `f` inside the transaction of every complete and cancel, at
    /// each [`ActionPoint`], with the interview id. It runs on a blocking
    /// thread, so it may wait.
    pub fn in_action(mut self, f: impl Fn(ActionPoint, &str) + Send + Sync + 'static) -> Self {
        self.in_action = Some(Arc::new(f));
        self
    }

    /// Calls the `in_action` hook, if any.
    /// Alert destinations' host names are looked up with `resolver`
    /// instead of the system's (a test's fake DNS).
    pub fn resolve_hosts_with(mut self, resolver: crate::alerts::address::Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    pub fn resolver(&self) -> Option<crate::alerts::address::Resolver> {
        self.resolver.clone()
    }

    pub fn run_in_action(&self, at: ActionPoint, interview: &str) {
        if let Some(f) = &self.in_action {
            f(at, interview);
        }
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
            .field("in_action", &self.in_action.is_some())
            .finish()
    }
}
