//! A list of changes to a message's headers, made by the core and applied by the glue in one
//! place: what the origins see of a request, what the client sees of a response.

/// Changes to make to a message's headers, in this order: removals, sets, appends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Names to remove.
    pub remove: Vec<String>,
    /// Headers to set (replacing), e.g. a rewritten `Location`.
    pub set: Vec<(&'static str, String)>,
    /// Headers to add beside those already there, e.g. `Set-Cookie`, `Server-Timing`.
    pub append: Vec<(&'static str, String)>,
}
