//! edge-core: everything the edge worker decides, as plain functions and small state machines
//! from request facts and state to a decision, unit-tested natively. The `edge-worker` crate
//! (Wasm) only does the I/O these decisions name.
//!
//! A request's path through the core:
//! - [`router`]: URL → HTTPS redirect | asset | bad path | operations endpoint | deny | proxy.
//! - [`assets`]: request parts + manifest entry → a response plan (status, headers, which file).
//! - [`proxy::plan`]: route + request facts + pool state + now → the next attempt (pool, origin,
//!   timeout); each attempt's outcome → respond (with cookies), try again, or give up.
//! - [`forward`]: what the origin sees (X-Forwarded-*, signature) and what the client sees.
//!
//! Beside it, for the coordinator: [`jobs`] (cron schedules and the record of job runs) and
//! [`status_page`] (the HTML status page).

pub mod answer;
pub mod assets;
pub mod balancer;
pub mod cache;
pub mod config;
pub mod cookies;
pub mod coordinator;
pub mod decimal;
pub mod field_lines;
pub mod forward;
pub mod handles;
pub mod header_edits;
pub mod http_date;
pub mod isolate;
pub mod jobs;
pub mod loading;
pub mod memory_cache;
pub mod ops;
pub mod origin_auth;
pub mod origin_call;
pub mod origin_url;
pub mod path;
pub mod proxy;
pub mod qvalue;
pub mod router;
pub mod routes;
pub mod status_page;
pub mod token;
