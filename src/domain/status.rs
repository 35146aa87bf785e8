//! Every status and kind the service stores, as Rust enums mapped to their
//! `TEXT` columns.
//!
//! Each enum's variants are exactly its column's `CHECK` list in
//! `migrations/`, and this file is the only place their spellings appear in
//! Rust: the Diesel mapping (`ToSql`/`FromSql` on `Text`), serde and the
//! admin API's query parameters all go through [`text_enum!`]. A value the
//! database holds but this code does not know is a deserialization error,
//! never a silent default, and every `match` on these types is exhaustive.
//!
//! Raw SQL that must spell a status (a partial index's predicate, which the
//! planner only matches against literals) builds its text from
//! [`in_list`], so the spelling still comes from here.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// Defines a `TEXT`-backed enum: `as_str`, `parse`, `ALL`, `Display`,
/// serde as its spelling, and Diesel `Text` mapping.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in the column's `CHECK` order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The value as the column stores it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The value a column or query parameter spells, if known.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // By hand, not derived: utoipa's derive does not see a `serde(rename)`
        // that a macro wrote, and would document the Rust variant names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, Pg>>::from_sql(value)?;
                Self::parse(&s).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?} in the database"), s)
                        .into()
                })
            }
        }
    };
}

text_enum!(
    /// A Lever connection's state (`connections.status`).
    ConnectionStatus {
        /// Connect started, OAuth not finished.
        Pending => "pending",
        /// Connected and set up: the pipeline runs.
        Active => "active",
        /// Connected, but the stage or webhook is not set up yet.
        NeedsSetup => "needs_setup",
        /// Lever refused the token: the admin must connect again.
        NeedsReauth => "needs_reauth",
        /// The admin disconnected it.
        Disconnected => "disconnected",
    }
);

text_enum!(
    /// Where the stored access token stands (`connections.token_state`).
    TokenState {
        Valid => "valid",
        Refreshing => "refreshing",
        Invalid => "invalid",
    }
);

text_enum!(
    /// The lifecycle of a received event (`lever_events.status`).
    EventStatus {
        Pending => "pending",
        Retrying => "retrying",
        Done => "done",
        Ignored => "ignored",
        Dead => "dead",
    }
);

text_enum!(
    /// How an event reached the inbox (`lever_events.source`).
    EventSource {
        /// A signed Lever delivery.
        Webhook => "webhook",
        /// Found by a sweep of the stage (docs/contract/sweep.md).
        Sweep => "sweep",
        /// An admin re-invited a candidate whose interview closed.
        Reinvite => "reinvite",
        /// An admin asked for a candidate's data to be erased.
        Erase => "erase",
    }
);

text_enum!(
    /// The lifecycle of an interview (`interviews.status`).
    InterviewStatus {
        Creating => "creating",
        LinkPosted => "link_posted",
        Completed => "completed",
        ResultsPosted => "results_posted",
        Cancelled => "cancelled",
        Failed => "failed",
        /// The candidate was deleted (or an admin erased it): nothing of
        /// its content is left.
        Erased => "erased",
    }
);

text_enum!(
    /// Why an interview closed (`interviews.close_reason`;
    /// docs/contract/lifecycle.md).
    CloseReason {
        /// An admin cancelled it.
        Admin => "admin",
        /// Lever archived the candidate (a reason not of the hired type).
        Archived => "archived",
        /// Lever archived the candidate with a reason of the hired type.
        Hired => "hired",
        /// The candidate left every trigger stage.
        LeftStage => "left_stage",
        /// The link went unopened past its time to live.
        Expired => "expired",
        /// The candidate was deleted, or an admin erased its data.
        Erased => "erased",
    }
);

text_enum!(
    /// What a connection does with an open interview when its candidate
    /// moves on (`connections.on_archive`, `on_hired`, `on_stage_exit`).
    LifecyclePolicy {
        Close => "close",
        Keep => "keep",
    }
);

text_enum!(
    /// What a job does to an interview on Lever (`jobs.kind`).
    JobKind {
        /// Swap the link and tag for the results.
        Complete => "complete",
        /// Take the link and tag off Lever.
        Cancel => "cancel",
        /// Close an interview whose link went unopened past its time.
        Expire => "expire",
    }
);

text_enum!(
    /// The lifecycle of a job (`jobs.status`).
    JobStatus {
        Pending => "pending",
        Retrying => "retrying",
        Done => "done",
        Dead => "dead",
    }
);

text_enum!(
    /// Which rule of role resolution chose the role (`interviews.rule`; see
    /// [`crate::domain::roles`]).
    Rule {
        PostingId => "posting_id",
        PostingTag => "posting_tag",
        Title => "title",
        Fallback => "fallback",
        Any => "any",
        None => "none",
    }
);

text_enum!(
    /// What a completion decided against the role's pass score
    /// (`interview_outcomes.outcome`).
    Outcome {
        Passed => "passed",
        NotPassed => "not_passed",
    }
);

text_enum!(
    /// What became of a passing candidate's move to the role's next stage
    /// (`interview_outcomes.stage_move`).
    StageMove {
        Moved => "moved",
        /// Not moved: the recruiter had moved the candidate first, or the
        /// role's next stage is gone.
        Skipped => "skipped",
    }
);

text_enum!(
    /// What a per-minute counter counts (`connection_counters.kind`).
    CounterKind {
        /// A delivery refused for its signature or timestamp.
        Rejected => "rejected",
        /// A failed Lever call of the account's work.
        LeverError => "lever_error",
    }
);

impl ConnectionStatus {
    /// The states whose accounts the registry runs (`needs_setup` included,
    /// so a connection set up elsewhere starts without a restart).
    pub const RUNNING: &'static [ConnectionStatus] = &[Self::Active, Self::NeedsSetup];
}

impl EventStatus {
    /// Still to be worked by the pipeline.
    pub const OPEN: &'static [EventStatus] = &[Self::Pending, Self::Retrying];

    /// Worked to an end (not `ignored`): replay may send it round again.
    pub const FINISHED: &'static [EventStatus] = &[Self::Done, Self::Dead];
}

impl CloseReason {
    /// A completion is still accepted after this close (recruiters often
    /// archive right after the interview); only an admin's cancel and an
    /// erase refuse one.
    pub fn accepts_completion(self) -> bool {
        !matches!(self, Self::Admin | Self::Erased)
    }
}

impl JobStatus {
    /// Still to be worked by the pipeline.
    pub const OPEN: &'static [JobStatus] = &[Self::Pending, Self::Retrying];
}

impl InterviewStatus {
    /// The interview's link step has not given up and no result closed it.
    pub const OPEN: &'static [InterviewStatus] = &[Self::Creating, Self::LinkPosted];

    /// Still open: no result, not cancelled, not failed.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// A result exists (and with it the results link).
    pub fn has_result(self) -> bool {
        matches!(self, Self::Completed | Self::ResultsPosted)
    }

    /// The candidate's live link no longer leads to an interview (410).
    pub fn live_link_closed(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::ResultsPosted | Self::Cancelled
        )
    }
}

/// Reasons recorded on `ignored` events (the events list's `reason`).
pub mod reasons {
    /// A signed `candidateHired` with empty `data`: Lever's "Test" ping.
    pub const TEST_PING: &str = "test_ping";
    pub const OTHER_EVENT: &str = "other_event";
    pub const OTHER_STAGE: &str = "other_stage";
    /// A stage change without `data.opportunityId`: nothing to work on.
    pub const NO_OPPORTUNITY: &str = "no_opportunity";
    /// The candidate was no longer in the stage when the event was worked.
    pub const LEFT_STAGE: &str = "left_stage";
    /// A lifecycle event for a candidate with no open interview.
    pub const NO_INTERVIEW: &str = "no_interview";
    /// A lifecycle event the connection's policy keeps open.
    pub const POLICY_KEEP: &str = "policy_keep";
    /// An archive event, but Lever shows the candidate active (unarchived).
    pub const NOT_ARCHIVED: &str = "not_archived";
    /// A move out of the stage, but Lever shows the candidate back in it.
    pub const IN_STAGE: &str = "in_stage";
    /// The candidate's data was erased: a later delivery or finding about
    /// it, stored without its payload.
    pub const ERASED: &str = "erased";
    /// A deletion Lever does not confirm: the candidate is still there.
    pub const NOT_DELETED: &str = "not_deleted";
    /// (On `dead` events.) A confidential candidate the grant may not read.
    pub const CONFIDENTIAL: &str = "confidential";
}

/// `'a', 'b'` for raw SQL: the values spelled as literals, for predicates
/// that must match a partial index's literal predicate.
pub fn in_list<T: Copy>(values: &[T], as_str: fn(T) -> &'static str) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", as_str(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_spelling() {
        for v in InterviewStatus::ALL {
            assert_eq!(InterviewStatus::parse(v.as_str()), Some(*v));
        }
        for v in EventStatus::ALL {
            assert_eq!(EventStatus::parse(v.as_str()), Some(*v));
        }
        for v in JobStatus::ALL {
            assert_eq!(JobStatus::parse(v.as_str()), Some(*v));
        }
        for v in ConnectionStatus::ALL {
            assert_eq!(ConnectionStatus::parse(v.as_str()), Some(*v));
        }
        assert_eq!(JobKind::parse("complete"), Some(JobKind::Complete));
        assert_eq!(JobKind::parse("uncomplete"), None);
    }

    #[test]
    fn serde_uses_the_column_spelling_and_refuses_unknown_values() {
        assert_eq!(
            serde_json::to_string(&InterviewStatus::LinkPosted).unwrap(),
            "\"link_posted\""
        );
        let parsed: EventStatus = serde_json::from_str("\"retrying\"").unwrap();
        assert_eq!(parsed, EventStatus::Retrying);
        assert!(serde_json::from_str::<EventStatus>("\"later\"").is_err());
    }

    #[test]
    fn the_openapi_schema_lists_the_column_spellings() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(InterviewStatus::schema()).unwrap();
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let spelled: Vec<&str> = InterviewStatus::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(values, spelled);
        assert_eq!(schema["type"], "string");
    }

    #[test]
    fn in_list_spells_literals_for_raw_sql() {
        assert_eq!(
            in_list(EventStatus::OPEN, EventStatus::as_str),
            "'pending', 'retrying'"
        );
    }
}
