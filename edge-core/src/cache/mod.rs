//! The edge's shared HTTP cache for the origins' pages (RFC 9111, RFC 5861 grace, RFC 9213
//! `CDN-Cache-Control`, RFC 9211 `Cache-Status`): every decision here, the Cache API I/O in
//! the glue.

pub mod admission;
pub mod coalesce;
pub mod conditional;
pub mod counters;
pub mod directives;
pub mod entry;
pub mod flow;
pub mod forward;
pub mod freshness;
pub mod headers;
pub mod invalidate;
pub mod key;
pub mod lookup;
pub mod marker;
pub mod placement;
pub mod purge;
pub mod refresh;
pub mod reply;
pub mod request;
pub mod settings;
pub mod status;
pub mod storable;
pub mod stored;
pub mod walk;
