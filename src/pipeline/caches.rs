//! What the link generator remembers between units of its account:
//!
//! - **Postings' titles and Lever tags**, by posting id: postings rarely
//!   change and every interview needs one. Kept per Lever account (a
//!   reconnect to another account starts afresh). Units that miss one at
//!   once read it once.
//! - **The org's roles**, for role resolution, for [`ROLES_FRESH_FOR`]: a
//!   burst of deliveries resolves against one read of them. An empty list
//!   is never kept, so a role just added is found by the next unit; an edit
//!   to a role applies to units starting up to [`ROLES_FRESH_FOR`] later.
//! - **Archive reasons**, by id: whether each is of Lever's hired type. Kept
//!   per Lever account like the titles; a reason not seen yet makes the
//!   next close read the list again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::ids::OrgId;
use crate::domain::roles::RoleEntry;

/// How long a read of the org's roles serves later units.
pub const ROLES_FRESH_FOR: Duration = Duration::from_secs(2);

/// What resolution uses of a posting.
#[derive(Debug, Clone, Default)]
pub struct PostingSummary {
    pub title: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Default)]
pub struct LinkCaches {
    postings: RefCell<Postings>,
    /// Held while a missing posting is read from Lever.
    posting_read: tokio::sync::Mutex<()>,
    roles: RefCell<Option<(OrgId, Instant, Vec<RoleEntry>)>>,
    hired_reasons: RefCell<HiredReasons>,
}

#[derive(Default)]
struct HiredReasons {
    account: Option<String>,
    /// Archive reason id → whether its type is `hired`.
    by_id: HashMap<String, bool>,
}

#[derive(Default)]
struct Postings {
    /// The Lever account the postings came from.
    account: Option<String>,
    by_id: HashMap<String, PostingSummary>,
}

impl LinkCaches {
    /// The cached summary of `posting` in Lever account `account`.
    pub fn posting(&self, account: Option<&str>, posting: &str) -> Option<PostingSummary> {
        let mut postings = self.postings.borrow_mut();
        if postings.account.as_deref() != account {
            postings.account = account.map(str::to_owned);
            postings.by_id.clear();
        }
        postings.by_id.get(posting).cloned()
    }

    pub fn keep_posting(&self, posting: &str, summary: &PostingSummary) {
        self.postings
            .borrow_mut()
            .by_id
            .insert(posting.to_owned(), summary.clone());
    }

    /// Taken before reading a posting the cache misses; the holder reads,
    /// the others then find it cached. Misses are rare (once per posting),
    /// so one lock for all postings is enough.
    pub async fn posting_read(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.posting_read.lock().await
    }

    /// The org's roles if read less than [`ROLES_FRESH_FOR`] ago.
    pub fn roles(&self, org: OrgId) -> Option<Vec<RoleEntry>> {
        let roles = self.roles.borrow();
        roles
            .as_ref()
            .filter(|(o, at, _)| *o == org && at.elapsed() < ROLES_FRESH_FOR)
            .map(|(_, _, r)| r.clone())
    }

    /// Whether archive reason `reason` of Lever account `account` is of the
    /// hired type, if known.
    pub fn hired_reason(&self, account: Option<&str>, reason: &str) -> Option<bool> {
        let mut known = self.hired_reasons.borrow_mut();
        if known.account.as_deref() != account {
            known.account = account.map(str::to_owned);
            known.by_id.clear();
        }
        known.by_id.get(reason).copied()
    }

    /// Keeps a fresh read of the account's archive reasons.
    pub fn keep_hired_reasons(&self, reasons: impl IntoIterator<Item = (String, bool)>) {
        self.hired_reasons.borrow_mut().by_id.extend(reasons);
    }

    pub fn keep_roles(&self, org: OrgId, roles: &[RoleEntry]) {
        *self.roles.borrow_mut() =
            (!roles.is_empty()).then(|| (org, Instant::now(), roles.to_vec()));
    }
}
