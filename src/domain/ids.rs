//! Newtype ids, so an org id can never be passed where a connection id belongs.
//! Each maps to its `UUID` column (Diesel `ToSql`/`FromSql`), to JSON as the
//! bare UUID, and to a path segment.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        pub struct $name(pub Uuid);

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(
                    &self.0, out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(
                    value,
                )
                .map(Self)
            }
        }

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// An Arkiter organisation (the tenant).
    OrgId
);
id_type!(
    /// An org API key (`ak_<key_id>_<secret>`).
    KeyId
);
id_type!(
    /// An org's link to one Lever account.
    ConnectionId
);
id_type!(
    /// An Arkiter role mapped to Lever jobs.
    RoleId
);
id_type!(
    /// A live interview.
    InterviewId
);
id_type!(
    /// A received Lever event.
    EventId
);
id_type!(
    /// A follow-up job on an interview (complete, cancel).
    JobId
);
