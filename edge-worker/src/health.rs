//! Active health, isolate side: the coordinator probes the origins on its own alarm; the cron
//! trigger only keeps that alarm armed; each isolate copies the verdicts (and the purge log) from
//! the coordinator at most once per poll interval, in the background.

use std::collections::BTreeMap;
use std::rc::Rc;

use edge_core::balancer::health::PoolVerdicts;
use edge_core::coordinator::{refresh_due as refresh_due_at, Ask};
use worker::{console_error, event, Context, Env, ScheduleContext, ScheduledEvent};

use crate::state::{load, now_ms, State};

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let state = match load(&env).await {
        Ok(s) => s,
        Err(why) => return console_error!("edge-worker: the coordinator's alarm not armed: {why}"),
    };
    if let Some(ns) = &state.coordinator {
        if let Err(e) = crate::coordinator::ask(ns, &Ask::Arm).await {
            console_error!("edge-worker: the coordinator's alarm not armed: {e}");
        }
    }
}

/// The verdicts of the pools in `chain`, from this isolate's copy (no I/O).
pub(crate) fn verdicts_for(state: &State, chain: &[String]) -> BTreeMap<String, PoolVerdicts> {
    state.coord.borrow().0.verdicts_of(chain)
}

/// Refreshes this isolate's copy of the coordinator's snapshot in the background when it is
/// older than `coordinator_poll_ms`: a purge or a verdict reaches every isolate within that
/// bound plus one round trip.
pub(crate) fn maybe_refresh(state: &Rc<State>, ctx: &Context) {
    if refresh_due(state) {
        let task = crate::cache::Task::RefreshCoordinator;
        ctx.wait_until(crate::cache::run(state.clone(), task));
    }
}

/// Whether this isolate's copy of the coordinator's snapshot is due for a refresh (counted as
/// started when it is: the caller starts it).
pub(crate) fn refresh_due(state: &State) -> bool {
    let interval = state.config.coordinator_poll_ms;
    let due = |last: &mut u64| refresh_due_at(last, now_ms(), interval);
    state.coordinator.is_some() && due(&mut state.coord.borrow_mut().1)
}
