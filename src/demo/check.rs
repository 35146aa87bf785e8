//! Did a candidate end right? Every moved candidate shows exactly one link
//! and one tag in Lever: the interview link and the link-created tag, or,
//! once completed, the results link, the completed tag and one note.

use serde_json::Value;

use super::api::text;
use super::report::Row;
use super::setup::LIVE_STAGE;
use crate::domain::status::InterviewStatus;

/// The connection's tag names, as our API reports them.
#[derive(Debug, Clone)]
pub struct Tags {
    pub link_created: String,
    pub completed: String,
}

impl Tags {
    /// From `GET /api/v1/orgs/{org}/lever`.
    pub fn from_connection(connection: &Value) -> anyhow::Result<Self> {
        Ok(Self {
            link_created: text(&connection["tags"], "link_created")?,
            completed: text(&connection["tags"], "completed")?,
        })
    }
}

/// What is wrong with the row, one line each (`"Ada Moreno: ..."`).
pub fn row(r: &Row, tags: &Tags) -> Vec<String> {
    let Some(iv) = &r.interview else {
        return vec![format!("{}: no interview was opened", r.candidate)];
    };
    let (want_link, want_tag, want_notes) = if r.completed {
        (iv.results_url.as_deref(), tags.completed.as_str(), 1)
    } else {
        (Some(iv.live_url.as_str()), tags.link_created.as_str(), 0)
    };
    let want_status = if r.completed {
        InterviewStatus::ResultsPosted
    } else {
        InterviewStatus::LinkPosted
    };
    let mut wrong = Vec::new();
    if r.stage != LIVE_STAGE {
        wrong.push(format!("is in stage {}, not {LIVE_STAGE}", r.stage));
    }
    if iv.status != want_status {
        wrong.push(format!("interview is {}, not {want_status}", iv.status));
    }
    match r.links.as_slice() {
        [one] if Some(one.as_str()) == want_link => {}
        [_] => wrong.push("its link is not the expected one".to_owned()),
        links => wrong.push(format!("has {} links, not 1", links.len())),
    }
    match r.tags.as_slice() {
        [one] if one == want_tag => {}
        [other] => wrong.push(format!("is tagged {other:?}, not {want_tag:?}")),
        all => wrong.push(format!("has {} tags, not 1", all.len())),
    }
    if r.notes != want_notes {
        wrong.push(format!("has {} notes, not {want_notes}", r.notes));
    }
    wrong
        .into_iter()
        .map(|w| format!("{}: {w}", r.candidate))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::watch::Interview;

    fn tags() -> Tags {
        Tags {
            link_created: "L".into(),
            completed: "C".into(),
        }
    }

    fn row(completed: bool) -> Row {
        Row {
            candidate: "Ada".into(),
            opportunity_id: "o".into(),
            posting: "p".into(),
            stage: LIVE_STAGE.into(),
            tags: vec![if completed { "C" } else { "L" }.into()],
            links: vec![if completed { "r" } else { "l" }.into()],
            notes: usize::from(completed),
            completed,
            interview: Some(Interview {
                status: if completed {
                    InterviewStatus::ResultsPosted
                } else {
                    InterviewStatus::LinkPosted
                },
                live_url: "l".into(),
                results_url: completed.then(|| "r".into()),
                ..Interview::default()
            }),
        }
    }

    #[test]
    fn right_rows_pass() {
        assert!(super::row(&row(false), &tags()).is_empty());
        assert!(super::row(&row(true), &tags()).is_empty());
    }

    #[test]
    fn duplicates_and_leftovers_are_named() {
        let mut r = row(true);
        r.links.push("l".into());
        r.tags.push("L".into());
        r.notes = 2;
        let wrong = super::row(&r, &tags());
        assert_eq!(wrong.len(), 3, "{wrong:?}");
        assert!(wrong.iter().all(|w| w.starts_with("Ada: ")));
        r.interview = None;
        assert_eq!(super::row(&r, &tags()), ["Ada: no interview was opened"]);
    }
}
