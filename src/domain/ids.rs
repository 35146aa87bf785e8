//! Newtype ids, so an org id can never be passed where a connection id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

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
