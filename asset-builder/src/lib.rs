//! asset-builder: fingerprints, rewrites, precompresses and indexes a Symfony app's public assets.
//!
//! [`build`] turns a source tree into an output directory holding every file under a
//! content-hashed name, precompressed `.br`/`.gz` siblings, Symfony's `manifest.json` and the
//! CDN manifest the edge worker serves from (see the `cdn-manifest` crate). The library never
//! prints: progress goes through [`Progress`], problems come back as [`BuildError`] or as
//! [`Warning`]s in the [`Report`].

pub mod cache;
pub mod compress;
pub mod content_type;
pub mod delta;
pub mod error;
pub mod fingerprint;
pub mod graph;
pub mod history;
pub mod manifest;
pub mod options;
pub mod output;
pub mod pipeline;
pub mod reference;
pub mod report;
pub mod rewrite;
pub mod scan;

pub use error::{BuildError, Warning};
pub use options::Options;
pub use pipeline::build;
pub use report::{Phase, Progress, Report};
