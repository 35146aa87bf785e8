//! Role resolution (docs/contract/roles.md): the one function that maps a Lever posting to
//! an Arkiter role, used by the resolve endpoint and the pipeline alike.
//!
//! Order: the role whose `ats_jobs` holds the posting id (exact) → `posting_id`;
//! else the role holding the posting's title (trimmed, case-insensitive) →
//! `title`; else the org's fallback role → `fallback`; else the org's oldest
//! role → `any`; else `none`. `fallback` and `any` count as unmapped.

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use crate::domain::status::Rule;

impl Rule {
    /// The posting is not mapped to a role of its own; the admin should map it.
    pub fn is_unmapped(self) -> bool {
        matches!(self, Self::Fallback | Self::Any)
    }
}

/// What resolution needs to know of a role.
#[derive(Debug, Clone)]
pub struct RoleEntry {
    pub id: Uuid,
    pub name: String,
    pub fallback: bool,
    pub created_at: DateTime<Utc>,
    pub ats_jobs: Vec<String>,
}

/// The chosen role (if any) and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub role: Option<(Uuid, String)>,
    pub rule: Rule,
}

/// The key an `ats_jobs` entry or a title is compared by.
pub fn entry_key(entry: &str) -> String {
    entry.trim().to_lowercase()
}

pub fn resolve(roles: &[RoleEntry], posting_id: Option<&str>, title: Option<&str>) -> Resolution {
    let pick = |r: &RoleEntry, rule| Resolution {
        role: Some((r.id, r.name.clone())),
        rule,
    };
    if let Some(pid) = posting_id.map(str::trim).filter(|p| !p.is_empty())
        && let Some(r) = roles
            .iter()
            .find(|r| r.ats_jobs.iter().any(|j| j.trim() == pid))
    {
        return pick(r, Rule::PostingId);
    }
    if let Some(key) = title.map(entry_key).filter(|t| !t.is_empty())
        && let Some(r) = roles
            .iter()
            .find(|r| r.ats_jobs.iter().any(|j| entry_key(j) == key))
    {
        return pick(r, Rule::Title);
    }
    if let Some(r) = roles.iter().find(|r| r.fallback) {
        return pick(r, Rule::Fallback);
    }
    match roles.iter().min_by_key(|r| (r.created_at, r.id)) {
        Some(r) => pick(r, Rule::Any),
        None => Resolution {
            role: None,
            rule: Rule::None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn role(name: &str, secs: i64, fallback: bool, jobs: &[&str]) -> RoleEntry {
        RoleEntry {
            id: Uuid::new_v4(),
            name: name.into(),
            fallback,
            created_at: DateTime::from_timestamp(secs, 0).unwrap(),
            ats_jobs: jobs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn name(r: &Resolution) -> &str {
        r.role.as_ref().map(|(_, n)| n.as_str()).unwrap_or("")
    }

    #[test]
    fn each_rule_in_order() {
        let roles = vec![
            role("oldest", 1, false, &["Backend Engineer"]),
            role("by-id", 2, false, &["post-123", "Frontend"]),
            role("fb", 3, true, &[]),
        ];
        let r = resolve(&roles, Some("post-123"), Some("Backend Engineer"));
        assert_eq!((name(&r), r.rule), ("by-id", Rule::PostingId));
        let r = resolve(&roles, Some("post-999"), Some("  backend ENGINEER "));
        assert_eq!((name(&r), r.rule), ("oldest", Rule::Title));
        let r = resolve(&roles, Some("post-999"), Some("Designer"));
        assert_eq!((name(&r), r.rule), ("fb", Rule::Fallback));
        let no_fb = &roles[..2];
        let r = resolve(no_fb, None, Some("Designer"));
        assert_eq!((name(&r), r.rule), ("oldest", Rule::Any));
        let r = resolve(&[], Some("x"), Some("y"));
        assert_eq!((r.role, r.rule), (None, Rule::None));
    }

    #[test]
    fn posting_id_is_exact_and_titles_are_not_ids() {
        let roles = vec![role("a", 1, false, &["ABC-1"]), role("b", 2, true, &[])];
        // Case differs: not an exact posting id match, but a title match.
        let r = resolve(&roles, Some("abc-1"), None);
        assert_eq!(r.rule, Rule::Fallback);
        let r = resolve(&roles, None, Some("abc-1"));
        assert_eq!((name(&r), r.rule), ("a", Rule::Title));
        assert!(Rule::Fallback.is_unmapped() && Rule::Any.is_unmapped());
        assert!(!Rule::Title.is_unmapped());
    }
}
