//! The account's two workers, actors that own their units. A link
//! generator turns stage changes into interview links; a tag updater posts
//! results and cancellations. Each answers a unit through the message's
//! response (it holds no address of the supervisor), runs at most
//! `per_account_concurrency` units at once, and keeps its own caches: the
//! link generator the posting titles and the org's roles
//! ([`caches`](super::caches)).
//!
//! A unit ends early, as `Fenced`, when the account's stop token is
//! cancelled (the lease was lost, or a drain's grace ran out): nothing more
//! is sent for it, and the candidate's claim keeps anyone else away until
//! a write it may have in flight has landed.
//!
//! A unit that panics is caught here: it ends as [`Outcome::Panicked`], so
//! it retries like a failed job, while the worker and the account's other
//! units carry on; the supervisor counts it as a restart (health's
//! `supervisor.restarts`).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use actix::{Actor, Context, Handler, ResponseFuture};
use futures_util::FutureExt as _;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::caches::LinkCaches;
use super::context::AccountCtx;
use super::hooks::Hooks;
use super::messages::{GenerateLink, UpdateTags};
use super::outcome::Outcome;
use super::{link, results};

/// What both workers share: the account, its slots, the test hooks.
struct Crew {
    ctx: AccountCtx,
    slots: Rc<Semaphore>,
    hooks: Hooks,
}

impl Crew {
    fn new(ctx: AccountCtx, concurrency: usize, hooks: Hooks) -> Self {
        Self {
            ctx,
            slots: Rc::new(Semaphore::new(concurrency.max(1))),
            hooks,
        }
    }

    /// One unit as a future: it waits for a slot, runs until it ends or the
    /// account stops, catches a panic, and answers how it ended.
    fn unit<F>(
        &self,
        opportunity: String,
        span: tracing::Span,
        make: impl FnOnce(AccountCtx) -> F,
    ) -> ResponseFuture<Outcome>
    where
        F: Future<Output = Outcome> + 'static,
    {
        let (slots, hooks, stop) = (
            self.slots.clone(),
            self.hooks.clone(),
            self.ctx.stop.clone(),
        );
        let unit = make(self.ctx.clone());
        Box::pin(
            async move {
                let Ok(_slot) = slots.acquire().await else {
                    return Outcome::Fenced;
                };
                let guarded = async move {
                    hooks.run_before_unit(&opportunity);
                    unit.await
                };
                tokio::select! {
                    outcome = AssertUnwindSafe(guarded).catch_unwind() => outcome
                        .unwrap_or_else(|panic| Outcome::Panicked(panic_message(panic.as_ref()))),
                    () = stop.cancelled() => Outcome::Fenced,
                }
            }
            .instrument(span),
        )
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("internal error: the unit panicked ({what})")
}

pub struct LinkGenerator {
    crew: Crew,
    caches: Rc<LinkCaches>,
}

impl LinkGenerator {
    pub fn new(ctx: AccountCtx, concurrency: usize, hooks: Hooks) -> Self {
        Self {
            crew: Crew::new(ctx, concurrency, hooks),
            caches: Rc::new(LinkCaches::default()),
        }
    }
}

impl Actor for LinkGenerator {
    type Context = Context<Self>;
}

impl Handler<GenerateLink> for LinkGenerator {
    type Result = ResponseFuture<Outcome>;

    fn handle(&mut self, msg: GenerateLink, _: &mut Context<Self>) -> Self::Result {
        let GenerateLink { event, claim } = msg;
        // A trace of its own, linked to the delivery's (stored with the event).
        let span = tracing::info_span!(parent: None, "link", connection_id = %event.connection_id, event_id = %event.id,
            opportunity_id = event.opportunity_id.as_deref().unwrap_or(""));
        crate::trace_context::link_to_stored(&span, event.trace_parent.as_deref());
        let opportunity = event.opportunity_id.clone().unwrap_or_default();
        let caches = self.caches.clone();
        self.crew.unit(opportunity, span, |account| async move {
            link::run(&account, &caches, &event, &claim).await
        })
    }
}

pub struct TagUpdater {
    crew: Crew,
}

impl TagUpdater {
    pub fn new(ctx: AccountCtx, concurrency: usize, hooks: Hooks) -> Self {
        Self {
            crew: Crew::new(ctx, concurrency, hooks),
        }
    }
}

impl Actor for TagUpdater {
    type Context = Context<Self>;
}

impl Handler<UpdateTags> for TagUpdater {
    type Result = ResponseFuture<Outcome>;

    fn handle(&mut self, msg: UpdateTags, _: &mut Context<Self>) -> Self::Result {
        let UpdateTags { job, claim } = msg;
        let span = tracing::info_span!(parent: None, "results", connection_id = %job.connection_id, job_id = %job.id,
            interview_id = %job.interview_id);
        let opportunity = job.opportunity_id.clone();
        self.crew.unit(opportunity, span, |account| async move {
            results::run(&account, &job, &claim).await
        })
    }
}
