//! Content-Security-Policy for rendered pages.
//!
//! The access token sits in `localStorage`, where any injected script could read it; a strict
//! CSP is what makes injection hard in the first place. Scripts must come from our origin or
//! carry the per-response nonce Leptos puts on its hydration script; WASM may be compiled
//! (`'wasm-unsafe-eval'`), nothing else may be evaluated; no plugins, no framing, no foreign
//! form targets, and `fetch` only to our own origin.

use http::{header::CONTENT_SECURITY_POLICY, HeaderValue};
use leptos::{config::LeptosOptions, nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;

/// The policy for a page whose inline scripts carry `nonce`. `reload_port` allows the
/// websocket of `cargo leptos watch`'s live reload.
pub fn policy(nonce: &str, reload_port: Option<u32>) -> String {
    let live_reload = reload_port
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{live_reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Adds the header to the response being rendered (call while rendering the shell).
pub fn apply(options: &LeptosOptions) {
    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    let watching = std::env::var("LEPTOS_WATCH").is_ok();
    let reload_port = watching.then_some(options.reload_port);
    if let Ok(value) = HeaderValue::from_str(&policy(&nonce.to_string(), reload_port)) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_only_our_scripts_and_the_nonce() {
        let csp = policy("abc123", None);
        assert!(
            csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self';"));
    }

    #[test]
    fn live_reload_adds_only_its_websocket() {
        let csp = policy("n", Some(3001));
        assert!(
            csp.contains("connect-src 'self' ws://127.0.0.1:3001 ws://localhost:3001;"),
            "{csp}"
        );
    }
}
