//! A pool's `health` table: how its origins are probed.

use super::key_path::{ConfigError, KeyPath, Validate};
use super::raw::RawHealth;
use crate::balancer::health::HealthCheck;
use crate::token::is_token;

impl Validate for RawHealth {
    type Output = HealthCheck;

    fn validate(&self, at: &KeyPath) -> Result<HealthCheck, ConfigError> {
        let path = match &self.path {
            None => {
                return Err(at
                    .key("path")
                    .error("missing: the path every origin is probed on, like /health"))
            }
            Some(p) if !p.starts_with('/') => {
                return Err(at.key("path").error(format!("`{p}` must start with `/`")))
            }
            Some(p) => p.clone(),
        };
        if !matches!(self.method.as_str(), "GET" | "HEAD") {
            return Err(at
                .key("method")
                .error(format!("`{}` must be GET or HEAD", self.method)));
        }
        for name in self.headers.keys() {
            if !is_token(name) {
                return Err(at.key("headers").key(name).error("not a valid header name"));
            }
        }
        let timeout_ms = at
            .key("timeout_ms")
            .in_range(self.timeout_ms, 100, 60_000)?;
        if self.expected_codes.is_empty()
            || self.expected_codes.iter().any(|c| !(100..=599).contains(c))
        {
            return Err(at.key("expected_codes").error(format!(
                "{:?} must be a non-empty list of HTTP statuses",
                self.expected_codes
            )));
        }
        let healthy_threshold =
            at.key("healthy_threshold")
                .in_range(self.healthy_threshold, 1, 100)? as u32;
        let unhealthy_threshold =
            at.key("unhealthy_threshold")
                .in_range(self.unhealthy_threshold, 1, 100)? as u32;
        let ttl_s = at.key("ttl_s").in_range(self.ttl_s, 1, 86_400)?;
        Ok(HealthCheck {
            method: self.method.clone(),
            path,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            timeout_ms,
            expected_codes: self.expected_codes.clone(),
            expected_body: self.expected_body.clone(),
            healthy_threshold,
            unhealthy_threshold,
            ttl_s,
        })
    }
}
