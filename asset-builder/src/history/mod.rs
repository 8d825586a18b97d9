//! The deploy history: what a build keeps of earlier deploys, and where it gets it.
//!
//! - [`format`]: the history file, `asset-history.json`, and its checks.
//! - [`dates`]: deploy dates and default ids.
//! - [`keep`]: which previous deploys a build keeps (`--keep-deploys`, `--keep-days`).
//! - [`source`]: reading a history from a previous output directory or from the live site's
//!   well-known path, every file verified against its recorded SHA-256.

pub mod dates;
pub mod format;
pub mod keep;
pub mod source;

pub use format::{Deploy, FormatError, History, StoredFile};
pub use keep::{Dropped, KeepPolicy};
pub use source::{Fetcher, Source};

/// Why a history could not be used. Each names where it looked and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// There is no history file there (the first build with history?).
    #[error(
        "no deploy history at {at} (the first build with --history? pass --history-optional \
         to start one)"
    )]
    Missing {
        /// The path or URL of the history file.
        at: String,
    },
    /// The history file could not be read or fetched.
    #[error("cannot read the deploy history at {at}: {why}")]
    Unreachable {
        /// The path or URL.
        at: String,
        /// The cause.
        why: String,
    },
    /// The history file is not one this builder accepts.
    #[error("deploy history {at} is refused: {why}")]
    Corrupt {
        /// The path or URL.
        at: String,
        /// What is wrong.
        #[source]
        why: FormatError,
    },
    /// The history was built for another public path: its files would not be served.
    #[error(
        "deploy history {at} is for public path `{found}`, this build publishes under `{expected}`"
    )]
    PublicPath {
        /// The path or URL.
        at: String,
        /// The history's public path.
        found: String,
        /// `--public-path`.
        expected: String,
    },
    /// A file the history records is missing, unreadable or not the recorded bytes.
    #[error("deploy history file {at}: {why}")]
    File {
        /// The path or URL of the stored file.
        at: String,
        /// What is wrong (missing, truncated, another SHA-256…).
        why: String,
    },
}
