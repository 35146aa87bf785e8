//! The account's two workers. A link generator turns stage changes into
//! interview links; a tag updater posts results and cancellations. Each runs
//! its units concurrently inside its own context (the supervisor claims them
//! per candidate and caps how many) and tells the supervisor how each ended
//! with `do_send`, never awaiting it.
//!
//! A unit that panics is caught here: it ends as [`Outcome::Panicked`], so
//! its claim is freed and it retries like a failed job, while the worker and
//! the account's other units carry on; the supervisor counts it as a restart
//! (health's `supervisor.restarts`).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use actix::{Actor, AsyncContext, Context, Handler, Recipient, WrapFuture};
use futures_util::FutureExt as _;
use tracing::Instrument;

use super::context::AccountCtx;
use super::hooks::Hooks;
use super::messages::{Finished, GenerateLink, UnitId, UpdateTags};
use super::outcome::Outcome;
use super::{link, results};

/// What both workers share: the account, where to report, the test hooks.
struct Crew {
    ctx: AccountCtx,
    done: Recipient<Finished>,
    hooks: Hooks,
}

impl Crew {
    /// One unit as a future that catches a panic and reports how it ended.
    fn unit<F>(
        &self,
        finished: Finished,
        opportunity: String,
        span: tracing::Span,
        make: impl FnOnce(AccountCtx) -> F,
    ) -> impl Future<Output = ()> + 'static
    where
        F: Future<Output = Outcome> + 'static,
    {
        let done = self.done.clone();
        let hooks = self.hooks.clone();
        let unit = make(self.ctx.clone());
        async move {
            let guarded = async move {
                hooks.run_before_unit(&opportunity);
                unit.await
            };
            let outcome = AssertUnwindSafe(guarded)
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Outcome::Panicked(panic_message(panic.as_ref())));
            done.do_send(Finished {
                outcome,
                ..finished
            });
        }
        .instrument(span)
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
}

impl LinkGenerator {
    pub fn new(ctx: AccountCtx, done: Recipient<Finished>, hooks: Hooks) -> Self {
        Self {
            crew: Crew { ctx, done, hooks },
        }
    }
}

impl Actor for LinkGenerator {
    type Context = Context<Self>;
}

impl Handler<GenerateLink> for LinkGenerator {
    type Result = ();

    fn handle(&mut self, msg: GenerateLink, ctx: &mut Context<Self>) {
        let ev = msg.0;
        let span = tracing::info_span!("link", connection_id = %ev.connection_id, event_id = %ev.id,
            opportunity_id = ev.opportunity_id.as_deref().unwrap_or(""));
        let finished = Finished {
            unit: UnitId::Event(ev.id),
            attempts: ev.attempts,
            outcome: Outcome::NotYet,
        };
        let opportunity = ev.opportunity_id.clone().unwrap_or_default();
        let fut = self
            .crew
            .unit(finished, opportunity, span, |account| async move {
                link::run(&account, &ev).await
            });
        ctx.spawn(fut.into_actor(self));
    }
}

pub struct TagUpdater {
    crew: Crew,
}

impl TagUpdater {
    pub fn new(ctx: AccountCtx, done: Recipient<Finished>, hooks: Hooks) -> Self {
        Self {
            crew: Crew { ctx, done, hooks },
        }
    }
}

impl Actor for TagUpdater {
    type Context = Context<Self>;
}

impl Handler<UpdateTags> for TagUpdater {
    type Result = ();

    fn handle(&mut self, msg: UpdateTags, ctx: &mut Context<Self>) {
        let job = msg.0;
        let span = tracing::info_span!("results", connection_id = %job.connection_id, job_id = %job.id,
            interview_id = %job.interview_id);
        let finished = Finished {
            unit: UnitId::Job(job.id),
            attempts: job.attempts,
            outcome: Outcome::NotYet,
        };
        let opportunity = job.opportunity_id.clone();
        let fut = self
            .crew
            .unit(finished, opportunity, span, |account| async move {
                results::run(&account, &job).await
            });
        ctx.spawn(fut.into_actor(self));
    }
}
