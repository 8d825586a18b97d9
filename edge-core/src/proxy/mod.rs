//! Proxying to origin pools: the request plan (which origin, when to retry, what to answer),
//! what a response from an origin may carry to the client, and the request log line (written
//! in batches).

pub mod attempts;
pub mod entry_protocol;
pub mod exchange;
pub mod failure;
pub mod http1;
pub mod inbound;
pub mod interim;
pub mod log;
pub mod log_batch;
pub mod plan;
pub mod response;
