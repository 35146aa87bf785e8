//! The account's two workers. A link generator turns stage changes into
//! interview links; a tag updater posts results and cancellations. Each runs
//! its units concurrently inside its own context (the supervisor caps how many)
//! and tells the supervisor how each ended with `do_send`, never awaiting it.

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient, WrapFuture};
use tracing::Instrument;

use super::context::AccountCtx;
use super::messages::{Finished, GenerateLink, Unit, UpdateTags};
use super::{link, results};

pub struct LinkGenerator {
    ctx: AccountCtx,
    done: Recipient<Finished>,
}

impl LinkGenerator {
    pub fn new(ctx: AccountCtx, done: Recipient<Finished>) -> Self {
        Self { ctx, done }
    }
}

impl Actor for LinkGenerator {
    type Context = Context<Self>;
}

impl Handler<GenerateLink> for LinkGenerator {
    type Result = ();

    fn handle(&mut self, msg: GenerateLink, ctx: &mut Context<Self>) {
        let account = self.ctx.clone();
        let done = self.done.clone();
        let ev = msg.0;
        let span = tracing::info_span!("link", connection_id = %ev.connection_id, event_id = %ev.id,
            opportunity_id = ev.opportunity_id.as_deref().unwrap_or(""));
        let fut = async move {
            let outcome = link::run(&account, &ev).await;
            done.do_send(Finished {
                id: ev.id,
                unit: Unit::Event,
                attempts: ev.attempts,
                outcome,
            });
        }
        .instrument(span);
        ctx.spawn(fut.into_actor(self).map(|(), _, _| ()));
    }
}

pub struct TagUpdater {
    ctx: AccountCtx,
    done: Recipient<Finished>,
}

impl TagUpdater {
    pub fn new(ctx: AccountCtx, done: Recipient<Finished>) -> Self {
        Self { ctx, done }
    }
}

impl Actor for TagUpdater {
    type Context = Context<Self>;
}

impl Handler<UpdateTags> for TagUpdater {
    type Result = ();

    fn handle(&mut self, msg: UpdateTags, ctx: &mut Context<Self>) {
        let account = self.ctx.clone();
        let done = self.done.clone();
        let job = msg.0;
        let span = tracing::info_span!("results", connection_id = %job.connection_id, job_id = %job.id,
            interview_id = %job.interview_id);
        let fut = async move {
            let outcome = results::run(&account, &job).await;
            done.do_send(Finished {
                id: job.id,
                unit: Unit::Job,
                attempts: job.attempts,
                outcome,
            });
        }
        .instrument(span);
        ctx.spawn(fut.into_actor(self).map(|(), _, _| ()));
    }
}
