//! Lever writes that never duplicate: each add is made only when a fresh read
//! shows it missing, and a write whose outcome is unknown (5xx, timeout, cut
//! connection after sending) is checked by reading the opportunity before it
//! is sent again (docs/contract/lever-calls.md). After a cut write the
//! checking read waits `late_landing` first: a write can land at Lever after
//! the client gave up on it.

use super::context::AccountCtx;
use super::outcome::StepError;
use crate::lever::wire::Opportunity;
use crate::lever::{LeverClient, LeverError};

/// What a fresh read of the opportunity shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Has {
    Link,
    Tag,
}

fn shows(opp: &Opportunity, what: Has, value: &str) -> bool {
    match what {
        Has::Link => opp.links.iter().any(|l| l == value),
        Has::Tag => opp.tags.iter().any(|t| t == value),
    }
}

async fn send(
    client: &LeverClient,
    opp: &str,
    what: Has,
    add: bool,
    values: &[String],
) -> Result<(), LeverError> {
    match (what, add) {
        (Has::Link, true) => client.add_links(opp, values).await,
        (Has::Link, false) => client.remove_links(opp, values).await,
        (Has::Tag, true) => client.add_tags(opp, values).await,
        (Has::Tag, false) => client.remove_tags(opp, values).await,
    }
}

/// Makes `value` present (`add`) or absent on the opportunity, given the
/// state `seen` from a read taken in this attempt. Returns true if a write
/// was sent. No write starts unless the account's lease is safely ours.
pub async fn ensure(
    ctx: &AccountCtx,
    client: &LeverClient,
    seen: &Opportunity,
    what: Has,
    add: bool,
    value: &str,
) -> Result<bool, StepError> {
    ensure_all(ctx, client, seen, what, add, &[value.to_owned()]).await
}

/// [`ensure`] for several values at once: those still to do go in one
/// call (Lever's add and remove calls take a list).
pub async fn ensure_all(
    ctx: &AccountCtx,
    client: &LeverClient,
    seen: &Opportunity,
    what: Has,
    add: bool,
    values: &[String],
) -> Result<bool, StepError> {
    let todo = |o: &Opportunity| -> Vec<String> {
        values
            .iter()
            .filter(|v| shows(o, what, v) != add)
            .cloned()
            .collect()
    };
    let first = todo(seen);
    if first.is_empty() {
        return Ok(false);
    }
    ctx.may_write()?;
    match send(client, &seen.id, what, add, &first).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_outcome_unknown() => {
            if e.is_cut_write() {
                actix_rt::time::sleep(ctx.late_landing).await;
            }
            let now = client.get_opportunity(&seen.id).await?;
            let rest = todo(&now);
            if rest.is_empty() {
                return Ok(true);
            }
            ctx.may_write()?;
            send(client, &seen.id, what, add, &rest).await?;
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}
