//! What the link generator remembers between units of its account:
//!
//! - **Posting titles**, by posting id: postings rarely change and every
//!   interview needs one. Kept per Lever account (a reconnect to another
//!   account starts afresh). Units that miss one at once read it once.
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

#[derive(Default)]
pub struct LinkCaches {
    titles: RefCell<Titles>,
    /// Held while a missing title is read from Lever.
    title_read: tokio::sync::Mutex<()>,
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
struct Titles {
    /// The Lever account the titles came from.
    account: Option<String>,
    by_posting: HashMap<String, String>,
}

impl LinkCaches {
    /// The cached title of `posting` in Lever account `account`.
    pub fn title(&self, account: Option<&str>, posting: &str) -> Option<String> {
        let mut titles = self.titles.borrow_mut();
        if titles.account.as_deref() != account {
            titles.account = account.map(str::to_owned);
            titles.by_posting.clear();
        }
        titles.by_posting.get(posting).cloned()
    }

    pub fn keep_title(&self, posting: &str, title: &str) {
        self.titles
            .borrow_mut()
            .by_posting
            .insert(posting.to_owned(), title.to_owned());
    }

    /// Taken before reading a posting the cache misses; the holder reads,
    /// the others then find the title cached. Misses are rare (once per
    /// posting), so one lock for all postings is enough.
    pub async fn title_read(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.title_read.lock().await
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
