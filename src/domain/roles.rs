//! Role resolution (docs/contract/roles.md): the one function that maps a Lever posting to
//! an Arkiter role, used by the resolve endpoint and the pipeline alike.
//!
//! Only roles that allow the delivery's trigger stage take part (empty
//! `stages`: every one). Order: the role whose `ats_jobs` holds the posting
//! id (exact) → `posting_id`; else the role whose `ats_tags` holds one of the
//! posting's Lever tags (exact, as Lever's tags are case-sensitive) →
//! `posting_tag`; else the role holding the posting's title (trimmed,
//! case-insensitive) → `title`; else the org's fallback role → `fallback`;
//! else the org's oldest role → `any`; else `none`. Two roles matching at
//! one rule: the oldest wins and the others are reported as an overlap.
//! `fallback` and `any` count as unmapped.

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
    pub ats_tags: Vec<String>,
    /// The trigger stages the role is used for; empty: every one.
    pub stages: Vec<String>,
}

impl RoleEntry {
    /// Whether the role takes part for a delivery into `stage` (no stage
    /// given: every role does).
    pub fn allows(&self, stage: Option<&str>) -> bool {
        match stage {
            Some(s) => self.stages.is_empty() || self.stages.iter().any(|x| x == s),
            None => true,
        }
    }

    /// Whether the two roles can both be chosen for one trigger stage.
    pub fn shares_stage_with(&self, other: &RoleEntry) -> bool {
        self.stages.is_empty()
            || other.stages.is_empty()
            || self.stages.iter().any(|s| other.stages.contains(s))
    }
}

/// What is known of the posting being resolved.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostingFacts<'a> {
    pub posting_id: Option<&'a str>,
    pub title: Option<&'a str>,
    /// The posting's Lever tags.
    pub tags: &'a [String],
    /// The trigger stage the candidate entered.
    pub stage_id: Option<&'a str>,
}

/// The chosen role (if any), the rule that chose it, and the other roles
/// that matched at that rule (the admin should map the posting once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub role: Option<(Uuid, String)>,
    pub rule: Rule,
    pub overlap: Vec<String>,
}

/// The key an `ats_jobs` entry or a title is compared by.
pub fn entry_key(entry: &str) -> String {
    entry.trim().to_lowercase()
}

/// `roles` must be oldest first (as the store lists them).
pub fn resolve(roles: &[RoleEntry], p: &PostingFacts<'_>) -> Resolution {
    let roles: Vec<&RoleEntry> = roles.iter().filter(|r| r.allows(p.stage_id)).collect();
    let first_match = |rule: Rule, matches: &dyn Fn(&RoleEntry) -> bool| {
        let mut found = roles.iter().filter(|r| matches(r));
        found.next().map(|r| Resolution {
            role: Some((r.id, r.name.clone())),
            rule,
            overlap: found.map(|o| o.name.clone()).collect(),
        })
    };
    let pid = p.posting_id.map(str::trim).filter(|x| !x.is_empty());
    let title = p.title.map(entry_key).filter(|t| !t.is_empty());
    pid.and_then(|pid| {
        first_match(Rule::PostingId, &|r| {
            r.ats_jobs.iter().any(|j| j.trim() == pid)
        })
    })
    .or_else(|| {
        first_match(Rule::PostingTag, &|r| {
            r.ats_tags.iter().any(|t| p.tags.contains(t))
        })
    })
    .or_else(|| {
        title.as_ref().and_then(|key| {
            first_match(Rule::Title, &|r| {
                r.ats_jobs.iter().any(|j| entry_key(j) == *key)
            })
        })
    })
    .or_else(|| first_match(Rule::Fallback, &|r| r.fallback))
    .or_else(|| {
        roles
            .iter()
            .min_by_key(|r| (r.created_at, r.id))
            .map(|r| Resolution {
                role: Some((r.id, r.name.clone())),
                rule: Rule::Any,
                overlap: Vec::new(),
            })
    })
    .unwrap_or(Resolution {
        role: None,
        rule: Rule::None,
        overlap: Vec::new(),
    })
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
            ats_tags: Vec::new(),
            stages: Vec::new(),
        }
    }

    fn facts<'a>(pid: Option<&'a str>, title: Option<&'a str>) -> PostingFacts<'a> {
        PostingFacts {
            posting_id: pid,
            title,
            ..PostingFacts::default()
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
        let r = resolve(&roles, &facts(Some("post-123"), Some("Backend Engineer")));
        assert_eq!((name(&r), r.rule), ("by-id", Rule::PostingId));
        let r = resolve(
            &roles,
            &facts(Some("post-999"), Some("  backend ENGINEER ")),
        );
        assert_eq!((name(&r), r.rule), ("oldest", Rule::Title));
        let r = resolve(&roles, &facts(Some("post-999"), Some("Designer")));
        assert_eq!((name(&r), r.rule), ("fb", Rule::Fallback));
        let no_fb = &roles[..2];
        let r = resolve(no_fb, &facts(None, Some("Designer")));
        assert_eq!((name(&r), r.rule), ("oldest", Rule::Any));
        let r = resolve(&[], &facts(Some("x"), Some("y")));
        assert_eq!((r.role, r.rule), (None, Rule::None));
    }

    #[test]
    fn posting_id_is_exact_and_titles_are_not_ids() {
        let roles = vec![role("a", 1, false, &["ABC-1"]), role("b", 2, true, &[])];
        // Case differs: not an exact posting id match, but a title match.
        let r = resolve(&roles, &facts(Some("abc-1"), None));
        assert_eq!(r.rule, Rule::Fallback);
        let r = resolve(&roles, &facts(None, Some("abc-1")));
        assert_eq!((name(&r), r.rule), ("a", Rule::Title));
        assert!(Rule::Fallback.is_unmapped() && Rule::Any.is_unmapped());
        assert!(!Rule::Title.is_unmapped());
    }

    #[test]
    fn posting_tags_come_between_ids_and_titles_and_overlaps_go_to_the_oldest() {
        let mut by_title = role("by-title", 1, false, &["Backend Engineer"]);
        by_title.ats_tags = vec!["other".into()];
        let mut older = role("older-tag", 2, false, &[]);
        older.ats_tags = vec!["arkiter-backend".into()];
        let mut newer = role("newer-tag", 3, false, &["post-1"]);
        newer.ats_tags = vec!["arkiter-backend".into()];
        let roles = vec![by_title, older, newer];
        let tags = vec!["arkiter-backend".to_string()];
        let p = PostingFacts {
            posting_id: Some("post-9"),
            title: Some("Backend Engineer"),
            tags: &tags,
            stage_id: None,
        };
        let r = resolve(&roles, &p);
        assert_eq!((name(&r), r.rule), ("older-tag", Rule::PostingTag));
        assert_eq!(r.overlap, vec!["newer-tag".to_string()]);
        // A posting id still wins over a tag.
        let r = resolve(
            &roles,
            &PostingFacts {
                posting_id: Some("post-1"),
                ..p
            },
        );
        assert_eq!((name(&r), r.rule), ("newer-tag", Rule::PostingId));
        assert!(r.overlap.is_empty());
        // Tags are compared exactly: Lever's tags are case-sensitive.
        let upper = vec!["Arkiter-Backend".to_string()];
        let r = resolve(&roles, &PostingFacts { tags: &upper, ..p });
        assert_eq!((name(&r), r.rule), ("by-title", Rule::Title));
    }

    #[test]
    fn only_roles_of_the_stage_take_part() {
        let mut screen = role("screen", 1, false, &["Backend Engineer"]);
        screen.stages = vec!["stage-screen".into()];
        let mut onsite = role("onsite", 2, false, &["Backend Engineer"]);
        onsite.stages = vec!["stage-onsite".into()];
        let roles = vec![screen, onsite];
        let at = |stage| PostingFacts {
            title: Some("Backend Engineer"),
            stage_id: Some(stage),
            ..PostingFacts::default()
        };
        assert_eq!(name(&resolve(&roles, &at("stage-screen"))), "screen");
        assert_eq!(name(&resolve(&roles, &at("stage-onsite"))), "onsite");
        assert_eq!(resolve(&roles, &at("stage-other")).rule, Rule::None);
        assert!(roles[0].shares_stage_with(&roles[0]));
        assert!(!roles[0].shares_stage_with(&roles[1]));
    }
}
