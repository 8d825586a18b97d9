//! The model of an origin pool: its origins, their weights and the steering policy. Built by
//! the configuration, read by steering, health and the proxy plan.

use super::health::HealthCheck;

/// A set of interchangeable origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// How an origin is picked.
    pub steering: Steering,
    /// The origins, in configuration order.
    pub origins: Vec<Origin>,
    /// Pin each client to the origin that served it first (signed cookie).
    pub sticky: bool,
    /// Active health checks, if configured.
    pub health: Option<HealthCheck>,
}

/// One origin server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `scheme://host[:port]`, normalised, no trailing slash.
    pub url: String,
    /// Relative share of traffic, 1–1000.
    pub weight: u32,
    /// A disabled (drained) origin gets no new traffic.
    pub enabled: bool,
}

/// Steering policy of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steering {
    /// Smooth weighted round-robin (per isolate).
    WeightedRoundRobin,
    /// Weighted random.
    WeightedRandom,
    /// Fewest requests in flight from this isolate, relative to weight.
    LeastOutstanding,
    /// Consistent hashing (Ketama) on a request attribute.
    Hash(HashOn),
}

impl Steering {
    /// The configuration name of the policy (`weighted_round_robin`, …, `hash`).
    pub fn name(&self) -> &'static str {
        match self {
            Steering::WeightedRoundRobin => "weighted_round_robin",
            Steering::WeightedRandom => "weighted_random",
            Steering::LeastOutstanding => "least_outstanding",
            Steering::Hash(_) => "hash",
        }
    }
}

/// What consistent hashing keys on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashOn {
    /// A cookie's value (e.g. the Symfony session cookie).
    Cookie(String),
    /// A request header's value (name lower-cased).
    Header(String),
    /// The client's IP address.
    ClientIp,
}
