//! Active health, isolate side: the coordinator probes the origins on its own alarm; the cron
//! trigger only keeps that alarm armed; each isolate copies the verdicts (and the purge log) from
//! the coordinator at most once per poll interval, in the background.

use std::collections::BTreeMap;
use std::rc::Rc;

use edge_core::balancer::health::PoolVerdicts;
use worker::{console_error, event, Context, Env, ScheduleContext, ScheduledEvent};

use crate::state::{load, now_ms, State};

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let state = match load(&env).await {
        Ok(s) => s,
        Err(why) => return console_error!("edge-worker: the coordinator's alarm not armed: {why}"),
    };
    if let Some(ns) = &state.coordinator {
        if let Err(e) = crate::coordinator::arm(ns).await {
            console_error!("edge-worker: the coordinator's alarm not armed: {e}");
        }
    }
}

/// The verdicts of the pools in `chain`, from this isolate's copy (no I/O).
pub(crate) fn verdicts_for(state: &State, chain: &[String]) -> BTreeMap<String, PoolVerdicts> {
    let coord = state.coord.borrow();
    chain
        .iter()
        .filter_map(|name| Some((name.clone(), coord.0.verdicts.get(name)?.clone())))
        .collect()
}

/// Refreshes this isolate's copy of the coordinator's snapshot in the background when it is
/// older than `coordinator_poll_ms`: a purge or a verdict reaches every isolate within that
/// bound plus one round trip.
pub(crate) fn maybe_refresh(state: &Rc<State>, ctx: &Context) {
    if state.coordinator.is_none() {
        return;
    }
    let now = now_ms();
    let interval = state.config.coordinator_poll_ms;
    {
        let mut c = state.coord.borrow_mut();
        if now.saturating_sub(c.1) < interval {
            return;
        }
        c.1 = now;
    }
    ctx.wait_until(crate::cache::run(
        state.clone(),
        crate::cache::Task::RefreshCoordinator,
    ));
}
