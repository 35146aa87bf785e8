//! The needs-attention tag (docs/contract/results.md): at the first failure
//! of a candidate's event that counts towards `dead` and that Lever lets
//! the service write about (a posting that resolves to no role while the
//! org has none), the candidate gets the connection's `needs_attention`
//! tag, so recruiters see it in Lever. It comes off, as posted, when a link
//! is posted or the candidate's interview is closed or erased.

use super::context::{AccountCtx, Work};
use super::outcome::StepError;
use super::writes::{Has, ensure};
use crate::db::models::attention;
use crate::db::models::results_settings::ResultsSettings;
use crate::domain::ids::EventId;
use crate::lever::wire::Opportunity;

/// Puts the tag on (once: a later attempt finds it in its read, or
/// recorded), unless the connection turned it off.
pub async fn flag(
    ctx: &AccountCtx,
    work: &Work,
    event: EventId,
    opp: &Opportunity,
) -> Result<(), StepError> {
    let (conn_id, opp_id) = (work.conn.id, opp.id.clone());
    let (posted, tags) = ctx
        .db
        .run(move |c| {
            Ok((
                attention::posted(c, conn_id, &opp_id)?,
                ResultsSettings::load(c, conn_id)?,
            ))
        })
        .await?;
    let Some(tag) = posted.or(tags.tag_needs_attention) else {
        return Ok(());
    };
    ensure(ctx, &work.client, opp, Has::Tag, true, &tag).await?;
    let opp_id = opp.id.clone();
    ctx.write(move |c| attention::record(c, conn_id, &opp_id, &tag, event.0))
        .await?;
    Ok(())
}

/// Takes the tag off, as it was posted, if the service put it on.
pub async fn unflag(ctx: &AccountCtx, work: &Work, opp: &Opportunity) -> Result<(), StepError> {
    let (conn_id, opp_id) = (work.conn.id, opp.id.clone());
    let posted = ctx
        .db
        .run(move |c| Ok(attention::posted(c, conn_id, &opp_id)?))
        .await?;
    let Some(tag) = posted else {
        return Ok(());
    };
    ensure(ctx, &work.client, opp, Has::Tag, false, &tag).await?;
    let opp_id = opp.id.clone();
    ctx.write(move |c| attention::clear(c, conn_id, &opp_id))
        .await?;
    Ok(())
}
