//! Request coalescing: concurrent misses for the same key in one isolate make one origin
//! request. The first becomes the leader; the others follow, each waiting on its own timer
//! (a future shared across requests is cancelled by workerd as hung), and are served from the
//! stored result — or go to the origin themselves when it turned out not storable. A leader
//! whose request was cancelled is presumed gone after its deadline, and a follower takes over.

use std::collections::HashMap;

/// What a request is for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Fetch it (then call [`Coalescer::finish`]).
    Leader,
    /// Wait for the leader ([`Coalescer::poll`]).
    Follower,
    /// Fetch it without coalescing: its last fetch was not storable (Varnish's hit-for-pass), so
    /// waiting for one another would only queue concurrent requests for a personal or dynamic
    /// page.
    Pass,
}

/// The state of a key another request is fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flight {
    /// Still fetching.
    Pending,
    /// Done: the response was stored (look it up), or not (fetch it yourself).
    Done {
        /// Whether it was stored.
        stored: bool,
    },
    /// No record (finished long ago, or its leader vanished): fetch it yourself.
    Gone,
}

/// Keys being fetched in this isolate.
#[derive(Debug, Default)]
pub struct Coalescer {
    flights: HashMap<String, (u64, Flight)>,
}

/// How long a finished flight is remembered for its followers.
pub const DONE_KEPT_MS: u64 = 5_000;
/// How long a key whose response was not storable is fetched without coalescing.
pub const PASS_MS: u64 = 10_000;

impl Coalescer {
    /// Joins the fetch of `key` at `now_ms`; a pending leader older than `deadline_ms` counts as
    /// gone.
    pub fn join(&mut self, key: &str, now_ms: u64, deadline_ms: u64) -> Role {
        self.flights.retain(|_, (at, f)| match f {
            Flight::Pending => now_ms.saturating_sub(*at) < deadline_ms,
            _ => now_ms.saturating_sub(*at) < DONE_KEPT_MS,
        });
        match self.flights.get(key) {
            Some((_, Flight::Pending)) => Role::Follower,
            _ => {
                self.flights
                    .insert(key.to_string(), (now_ms, Flight::Pending));
                Role::Leader
            }
        }
    }

    /// The leader of `key` is done at `now_ms`.
    pub fn finish(&mut self, key: &str, stored: bool, now_ms: u64) {
        self.flights
            .insert(key.to_string(), (now_ms, Flight::Done { stored }));
    }

    /// A follower's view of `key` at `now_ms`.
    pub fn poll(&self, key: &str, now_ms: u64, deadline_ms: u64) -> Flight {
        match self.flights.get(key) {
            Some((at, Flight::Pending)) if now_ms.saturating_sub(*at) >= deadline_ms => {
                Flight::Gone
            }
            Some((_, f)) => *f,
            None => Flight::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_leader_many_followers() {
        let mut c = Coalescer::default();
        assert_eq!(c.join("k", 0, 1000), Role::Leader);
        for _ in 0..49 {
            assert_eq!(c.join("k", 1, 1000), Role::Follower);
        }
        assert_eq!(
            c.join("other", 1, 1000),
            Role::Leader,
            "keys are independent"
        );
        assert_eq!(c.poll("k", 2, 1000), Flight::Pending);
        c.finish("k", true, 3);
        assert_eq!(c.poll("k", 4, 1000), Flight::Done { stored: true });
        assert_eq!(
            c.join("k", 5, 1000),
            Role::Leader,
            "a finished flight starts anew"
        );
    }

    #[test]
    fn a_vanished_leader_is_replaced() {
        let mut c = Coalescer::default();
        assert_eq!(c.join("k", 0, 1000), Role::Leader);
        assert_eq!(c.poll("k", 999, 1000), Flight::Pending);
        assert_eq!(c.poll("k", 1000, 1000), Flight::Gone);
        assert_eq!(c.join("k", 1000, 1000), Role::Leader);
        c.finish("k", false, 1001);
        assert_eq!(c.poll("k", 1002, 1000), Flight::Done { stored: false });
        assert_eq!(
            c.poll("k", 1001 + DONE_KEPT_MS + 1, 1000),
            Flight::Done { stored: false },
            "poll does not forget"
        );
        assert_eq!(c.join("x", 1001 + DONE_KEPT_MS, 1000), Role::Leader);
        assert_eq!(
            c.poll("k", 1001 + DONE_KEPT_MS, 1000),
            Flight::Gone,
            "join forgets old flights"
        );
    }
}
