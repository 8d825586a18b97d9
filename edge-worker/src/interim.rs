//! Origins that send interim responses (103 Early Hints, 102 Processing): workerd's `fetch`
//! hands the first interim head to the worker as if it were the response and drops the final
//! one. The final response is fetched again over a raw socket with HTTP/1.1 (which skips
//! interim heads). Not implemented yet: counted as an invalid answer.

use edge_core::balancer::retry::Outcome;
use web_sys::Response;

use crate::origin::OriginRequest;
use crate::state::State;

/// The final response to `r`, whose fetch gave the interim response `interim`.
pub(crate) async fn final_response(
    _state: &State,
    _r: &OriginRequest<'_>,
    _interim: Response,
) -> Result<Response, Outcome> {
    Err(Outcome::Invalid)
}
