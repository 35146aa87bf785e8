//! Injected faults, per account: what can go wrong with a call, and when.
//!
//! A rule matches on method and path substring, for the next `remaining`
//! calls, a `probability` of calls, and/or `until_ms`. The first matching
//! rule applies to the call. Actions:
//! - `status`: answer that status (with a `{code,message}` body) before the
//!   call is applied;
//! - `latency`: wait, then handle the call normally;
//! - `drop`: do not apply, cut the connection;
//! - `apply_then_status` / `apply_then_drop`: apply the call, then answer
//!   the status / cut the connection.
//!
//! "Cut the connection": over plain HTTP the simulator shuts the request's
//! TCP socket down (recorded at accept time), so the client sees the
//! connection close with no response at all. Over TLS it answers a 200 head
//! with a body whose first chunk fails, which makes actix abort the
//! connection: the client sees a truncated body. Both are a cut connection.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    Status { status: u16 },
    Latency { ms: u64 },
    Drop,
    ApplyThenStatus { status: u16 },
    ApplyThenDrop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Substring of the request path to match (any when absent), e.g.
    /// `/addLinks`, `/opportunities/`, `/feedback`, `/files`, `/oauth/token`.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Applies to this many more matching calls.
    #[serde(default)]
    pub remaining: Option<u32>,
    /// Applies to this fraction of matching calls.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Applies until this epoch-ms time.
    #[serde(default)]
    pub until_ms: Option<i64>,
    /// Convenience for the control API: `until_ms = now + for_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<i64>,
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule with only an action: matches every call until removed.
    pub fn always(action: FaultAction) -> Self {
        Self {
            method: None,
            path_contains: None,
            remaining: None,
            probability: None,
            until_ms: None,
            for_ms: None,
            action,
        }
    }

    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    pub fn on(mut self, method: &str, path_contains: &str) -> Self {
        self.method = Some(method.to_owned());
        self.path_contains = Some(path_contains.to_owned());
        self
    }

    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    pub fn until(mut self, until_ms: i64) -> Self {
        self.until_ms = Some(until_ms);
        self
    }

    /// Turns `for_ms` into `until_ms`.
    pub fn normalise(mut self, now_ms: i64) -> Self {
        if let Some(span) = self.for_ms.take() {
            self.until_ms = Some(now_ms.saturating_add(span));
        }
        self
    }

    fn expired(&self, now_ms: i64) -> bool {
        self.remaining == Some(0) || self.until_ms.is_some_and(|u| now_ms >= u)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// Picks the fault for this call (if any), consuming one use of its rule
/// and dropping rules that are used up or past their time.
pub fn take_fault(
    rules: &mut Vec<FaultRule>,
    method: &str,
    path: &str,
    now_ms: i64,
) -> Option<FaultAction> {
    rules.retain(|r| !r.expired(now_ms));
    let mut rng = rand::thread_rng();
    let rule = rules.iter_mut().find(|r| {
        r.matches(method, path)
            && r.probability
                .is_none_or(|p| rng.gen_bool(p.clamp(0.0, 1.0)))
    })?;
    if let Some(n) = rule.remaining.as_mut() {
        *n -= 1;
    }
    Some(rule.action.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_and_expires() {
        let mut rules = vec![
            FaultRule::always(FaultAction::Status { status: 503 })
                .times(2)
                .on("GET", "/stages"),
        ];
        assert!(take_fault(&mut rules, "POST", "/v1/stages", 0).is_none());
        assert!(take_fault(&mut rules, "GET", "/v1/stages", 0).is_some());
        assert!(take_fault(&mut rules, "get", "/v1/stages", 0).is_some());
        assert!(take_fault(&mut rules, "GET", "/v1/stages", 0).is_none());
        assert!(rules.is_empty());
    }

    #[test]
    fn time_span_ends() {
        let mut rules = vec![FaultRule::always(FaultAction::Drop).until(100)];
        assert_eq!(
            take_fault(&mut rules, "GET", "/x", 99),
            Some(FaultAction::Drop)
        );
        assert_eq!(take_fault(&mut rules, "GET", "/x", 100), None);
    }
}
