//! edge-worker: a Cloudflare Worker that serves asset-builder's output at the edge and passes
//! everything else to the Symfony origin.
//!
//! The logic is a sans-IO core ([`assets`], [`path`], [`config`], [`router`]): plain functions
//! from request parts and state to a plan, unit-tested natively. Only `glue` (compiled for
//! wasm32) talks to workers-rs and does I/O.

pub mod assets;
pub mod balancer;
pub mod config;
pub mod forward;
pub mod memory_cache;
pub mod origin_auth;
pub mod origin_url;
pub mod path;
pub mod router;

#[cfg(target_arch = "wasm32")]
mod glue;
