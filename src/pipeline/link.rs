//! Link generation for one stage-change event (archive and hired events
//! take the same road to [`super::close`], deletions to [`super::erase`],
//! and every event about an erased candidate stops at [`super::erase::guard`]): read the opportunity, check it
//! is still in the stage, resolve its posting to a role, open (or reuse) the
//! interview, then add the live link and the link-created tag. Every step is
//! recorded, and every attempt starts from a fresh read, so a retry or replay
//! never writes twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::caches::{LinkCaches, PostingSummary};
use super::context::{AccountCtx, UnitClaim, Work, settled};
use super::outcome::{Outcome, StepError};
use super::results;
use super::writes::{Has, ensure};
use crate::db::models::interview::Interview;
use crate::db::models::role::Role;
use crate::db::models::work::{self as store, EventWork, NewInterview, Step};
use crate::domain::ids::{InterviewId, RoleId};
use crate::domain::roles::{PostingFacts, RoleEntry, Rule, resolve};
use crate::domain::status::{EventSource, InterviewStatus, LifecyclePolicy};
use crate::lever::wire::{Opportunity, events};

/// 128 random bits, URL-safe: an unguessable link token.
pub fn new_token() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

pub async fn run(
    ctx: &AccountCtx,
    caches: &LinkCaches,
    ev: &EventWork,
    claim: &UnitClaim,
) -> Outcome {
    settled(attempt(ctx, caches, ev, claim).await)
}

async fn attempt(
    ctx: &AccountCtx,
    caches: &LinkCaches,
    ev: &EventWork,
    claim: &UnitClaim,
) -> Result<Outcome, StepError> {
    let work = ctx.begin(claim).await?;
    if let Some(paused) = work.paused() {
        return Ok(paused);
    }
    if let Some(erased) = super::erase::guard(ctx, &work, ev).await? {
        return Ok(erased);
    }
    if ev.event == events::CANDIDATE_DELETED {
        return super::erase::attempt(ctx, &work, ev).await;
    }
    if ev.event != events::CANDIDATE_STAGE_CHANGE {
        return super::close::attempt(ctx, caches, &work, ev).await;
    }
    // A sweep's finding of a move out of the stage (no to-stage: Lever did
    // not say where to), worked only while the policy closes.
    if ev.to_stage_id.is_none() && ev.source == EventSource::Sweep {
        return match work.conn.on_stage_exit {
            LifecyclePolicy::Close => super::close::attempt_exit(ctx, &work, ev).await,
            LifecyclePolicy::Keep => Ok(Outcome::Ignored(
                crate::domain::status::reasons::POLICY_KEEP,
            )),
        };
    }
    // A move out of the stage (kept only under `on_stage_exit: close`; one
    // kept before the policy went back to `keep` is worked as any event
    // for another stage: ignored once a read shows it).
    if let Some(to) = ev.to_stage_id.as_deref()
        && !work.conn.trigger_stage_ids().is_empty()
        && !work.conn.is_trigger_stage(Some(to))
        && work.conn.on_stage_exit == LifecyclePolicy::Close
    {
        return super::close::attempt_exit(ctx, &work, ev).await;
    }
    let opp_id = ev
        .opportunity_id
        .clone()
        .ok_or_else(|| StepError::Job("the event names no opportunity".into()))?;
    let opp = match work.client.get_opportunity(&opp_id).await {
        Ok(opp) => opp,
        // Lever's access error for confidential data, to a grant without
        // confidential access: no retry can read it.
        Err(e) if e.status() == Some(403) && !work.conn.confidential_access() => {
            return Ok(Outcome::Hidden(format!(
                "Lever refused to show this candidate ({e}); it is likely confidential: grant \
                 Arkiter {} by connecting again, then replay this event",
                crate::db::models::connection::CONFIDENTIAL_SCOPE
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (interview, opp) = match ev.interview_id {
        Some(id) => (id, opp),
        None => match open(ctx, caches, &work, ev, &opp).await? {
            Some((id, false)) => (id, opp),
            // Another stage's interview was just taken off: read again, so
            // the writes below see Lever as it is now.
            Some((id, true)) => (id, work.client.get_opportunity(&opp_id).await?),
            None => return Ok(Outcome::Ignored(crate::domain::status::reasons::LEFT_STAGE)),
        },
    };
    let iv = ctx
        .db
        .run(move |c| Ok(store::interview(c, interview)?))
        .await?;
    ensure_state(ctx, &work, &iv, &opp).await
}

/// Makes Lever show what the interview's status calls for.
async fn ensure_state(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    opp: &Opportunity,
) -> Result<Outcome, StepError> {
    match iv.status {
        InterviewStatus::Creating | InterviewStatus::LinkPosted => {
            post_link(ctx, work, iv, opp).await
        }
        InterviewStatus::Completed | InterviewStatus::ResultsPosted => {
            results::ensure_completed(ctx, work, iv, opp).await
        }
        InterviewStatus::Cancelled | InterviewStatus::Failed | InterviewStatus::Erased => {
            Ok(Outcome::Done)
        }
    }
}

/// Resolves the role and opens the interview; `None` if the opportunity
/// left every trigger stage. `true` with it: the candidate's interview of
/// another trigger stage was closed first, so `opp` is out of date.
async fn open(
    ctx: &AccountCtx,
    caches: &LinkCaches,
    work: &Work,
    ev: &EventWork,
    opp: &Opportunity,
) -> Result<Option<(InterviewId, bool)>, StepError> {
    let Some(stage) = opp
        .stage_id()
        .filter(|s| work.conn.is_trigger_stage(Some(s)))
    else {
        return Ok(None);
    };
    // One open interview per candidate: one made for another trigger
    // stage closes first.
    let switched = super::close::close_other_stage(ctx, work, opp, stage).await?;
    let posting_id = opp.posting_id().map(str::to_owned);
    let posting = match &posting_id {
        Some(p) => posting_summary(caches, work, p).await?,
        None => PostingSummary::default(),
    };
    let title = posting.title.clone();
    let org = ev.org_id;
    let entries = match caches.roles(org) {
        Some(entries) => entries,
        None => {
            let roles = ctx
                .db
                .run(move |c| Ok(Role::all_with_jobs(c, org.0)?))
                .await?;
            let entries: Vec<RoleEntry> = roles.into_iter().map(RoleEntry::from).collect();
            caches.keep_roles(org, &entries);
            entries
        }
    };
    let r = resolve(
        &entries,
        &PostingFacts {
            posting_id: posting_id.as_deref(),
            title: title.as_deref(),
            tags: &posting.tags,
            stage_id: Some(stage),
        },
    );
    if r.rule == Rule::None {
        // Recruiters see in Lever that this candidate waits for an admin.
        super::attention::flag(ctx, work, ev.id, opp).await?;
        return Err(StepError::Job(
            "the org has no Arkiter role yet: add a role (Configure Job in Arkiter) and this interview will be created".into(),
        ));
    }
    if let (false, Some(posting)) = (r.overlap.is_empty(), posting_id.clone()) {
        let (conn_id, rule) = (work.conn.id, r.rule);
        let mut roles: Vec<String> = r.role.iter().map(|(_, n)| n.clone()).collect();
        roles.extend(r.overlap.iter().cloned());
        ctx.write(move |c| {
            crate::db::models::role_overlap::record(
                c,
                conn_id,
                org.0,
                &posting,
                rule.as_str(),
                &roles,
            )
        })
        .await?;
    }
    let (role_id, role_name) = r
        .role
        .map(|(i, n)| (Some(RoleId(i)), Some(n)))
        .unwrap_or((None, None));
    let (live, results) = (new_token(), new_token());
    let (event_id, conn_id, opp_id) = (ev.id, ev.connection_id, opp.id.clone());
    let (stage, entered_at) = (stage.to_owned(), opp.current_entry_at(stage));
    let rule = r.rule;
    let reinvite = ev.source == EventSource::Reinvite;
    let id = ctx
        .write(move |c| {
            store::open_interview(
                c,
                &NewInterview {
                    org_id: org,
                    connection_id: conn_id,
                    event_id,
                    opportunity_id: &opp_id,
                    stage_id: &stage,
                    entered_at,
                    posting_id: posting_id.as_deref(),
                    posting_title: title.as_deref(),
                    role_id,
                    role_name: role_name.as_deref(),
                    rule,
                    live_token: &live,
                    results_token: &results,
                    fresh: reinvite,
                },
            )
        })
        .await?;
    Ok(Some((id, switched)))
}

/// The posting's title and tags, cached by the link generator (postings
/// rarely change).
async fn posting_summary(
    caches: &LinkCaches,
    work: &Work,
    posting: &str,
) -> Result<PostingSummary, StepError> {
    let account = work.conn.lever_account_id.as_deref();
    if let Some(p) = caches.posting(account, posting) {
        return Ok(p);
    }
    // Units of a burst all miss at once: one reads, the rest find it cached.
    let _reading = caches.posting_read().await;
    if let Some(p) = caches.posting(account, posting) {
        return Ok(p);
    }
    match work.client.get_posting(posting).await {
        Ok(p) => {
            let summary = PostingSummary {
                title: p.text,
                tags: p.tags,
            };
            caches.keep_posting(posting, &summary);
            Ok(summary)
        }
        // A posting we may not read still resolves by id or fallback.
        Err(e) if e.is_not_found() || e.status() == Some(403) => Ok(PostingSummary::default()),
        Err(e) => Err(e.into()),
    }
}

async fn post_link(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    opp: &Opportunity,
) -> Result<Outcome, StepError> {
    let link = ctx.live_url(iv);
    ensure(ctx, &work.client, opp, Has::Link, true, &link).await?;
    // The tag name actually posted is kept, even if the setting changes later.
    let tag = iv
        .link_tag
        .clone()
        .unwrap_or_else(|| work.conn.tag_link_created.clone());
    ensure(ctx, &work.client, opp, Has::Tag, true, &tag).await?;
    if iv.link_posted_at.is_none() {
        // A candidate back in the stage: what its earlier interviews left
        // (completed, closed, expired, passed and not-passed tags) comes
        // off, so Lever shows now.
        let (conn_id, opp_id, id) = (iv.connection_id, iv.opportunity_id.clone(), iv.id);
        let earlier = ctx
            .db
            .run(move |c| Ok(store::earlier_tags(c, conn_id, &opp_id, id)?))
            .await?;
        for old in earlier.iter().filter(|t| **t != tag) {
            ensure(ctx, &work.client, opp, Has::Tag, false, old).await?;
        }
    }
    // Both steps recorded in one transaction once both are on Lever. If the
    // tag fails, the link goes unrecorded until the next attempt's fresh read
    // finds it there: nothing relies on the record to avoid a second write.
    let (id, link_new, tag_new) = (
        iv.id,
        iv.link_added_at.is_none(),
        iv.link_posted_at.is_none(),
    );
    // The link's time to live starts when it is posted (the settings then:
    // the role's own, else the connection's).
    let (conn_id, ttl, role) = (iv.connection_id, work.conn.link_ttl_days, iv.role_id);
    if link_new || tag_new {
        ctx.write(move |c| {
            if link_new {
                store::record(c, id, Step::LinkAdded(&link))?;
            }
            if tag_new {
                store::record(c, id, Step::LinkTagged(&tag))?;
                let role_ttl = match role {
                    Some(r) => crate::db::models::role::Role::link_ttl_days(c, r.0)?,
                    None => None,
                };
                if let Some(days) = role_ttl.or(ttl) {
                    store::set_expiry(c, id, conn_id, days)?;
                }
            }
            Ok(())
        })
        .await?;
    }
    if tag_new {
        super::attention::unflag(ctx, work, opp).await?;
        tracing::info!(interview_id = %id, opportunity_id = %iv.opportunity_id, "interview link posted");
    }
    Ok(Outcome::Done)
}
