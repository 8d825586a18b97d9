//! Requests in flight to each origin from this isolate (for least-outstanding steering).
//!
//! Each request holds a ticket that ends it; a ticket also expires at its attempt's deadline, so
//! a request whose task is abandoned (a client that disconnects cancels the worker's request,
//! and an abandoned future may never run its drop guard) stops counting by itself.

/// One request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    origin: usize,
    id: u64,
}

/// In-flight requests per origin.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    /// Per origin: (ticket id, expiry in ms since the epoch).
    entries: Vec<Vec<(u64, u64)>>,
    next: u64,
}

impl InFlight {
    /// Tracking for `n` origins.
    pub fn new(n: usize) -> Self {
        InFlight {
            entries: vec![Vec::new(); n],
            next: 0,
        }
    }

    /// A request to `origin` starts at `now_ms` and cannot last past `expires_ms`.
    pub fn begin(&mut self, origin: usize, now_ms: u64, expires_ms: u64) -> Ticket {
        self.next += 1;
        let id = self.next;
        if let Some(list) = self.entries.get_mut(origin) {
            list.retain(|&(_, exp)| exp > now_ms);
            list.push((id, expires_ms));
        }
        Ticket { origin, id }
    }

    /// The request is over (answered, failed or cancelled). Ending a ticket twice is harmless.
    pub fn end(&mut self, ticket: Ticket) {
        if let Some(list) = self.entries.get_mut(ticket.origin) {
            list.retain(|&(id, _)| id != ticket.id);
        }
    }

    /// Requests in flight to `origin` at `now_ms`.
    pub fn count(&self, origin: usize, now_ms: u64) -> u32 {
        self.entries.get(origin).map_or(0, |list| {
            list.iter().filter(|&&(_, exp)| exp > now_ms).count() as u32
        })
    }

    /// Every origin's count at `now_ms`.
    pub fn counts(&self, now_ms: u64) -> Vec<u32> {
        (0..self.entries.len())
            .map(|i| self.count(i, now_ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_count_until_ended_or_expired() {
        let mut f = InFlight::new(2);
        let a = f.begin(0, 0, 1000);
        let b = f.begin(0, 0, 500);
        f.begin(1, 0, 1000);
        assert_eq!(f.counts(0), [2, 1]);
        f.end(a);
        f.end(a);
        assert_eq!(f.count(0, 0), 1, "ending twice is harmless");
        assert_eq!(
            f.count(0, 500),
            0,
            "an abandoned request stops counting at its deadline"
        );
        f.end(b);
        assert_eq!(f.count(7, 0), 0, "unknown origins count nothing");
        let t = f.begin(7, 0, 10);
        f.end(t);
    }
}
