//! `GET /api/openapi.json` and `/docs`, a self-contained page that renders it (no CDN, works
//! offline).

use std::sync::OnceLock;

use crate::state::AppState;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| {
        serde_json::to_string_pretty(&crate::openapi::document())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    });
    ([(CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

const DOCS_PAGE: &str = include_str!("docs.html");

/// The page, with a Content-Security-Policy that lets it run its own script and style (by
/// their hashes) and fetch the document, and nothing else, and that no other site may frame
/// (found by a review: the page had neither).
async fn docs_page() -> Response {
    static POLICY: OnceLock<String> = OnceLock::new();
    let policy = POLICY.get_or_init(|| docs_policy(DOCS_PAGE));
    (
        [
            (CONTENT_SECURITY_POLICY, policy.as_str()),
            (X_FRAME_OPTIONS, "DENY"),
        ],
        Html(DOCS_PAGE),
    )
        .into_response()
}

/// The policy for a page with one inline `<script>` and one `<style>`.
fn docs_policy(page: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = |tag: &str| {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let body = page
            .split_once(open.as_str())
            .and_then(|(_, rest)| rest.split_once(close.as_str()))
            .map_or("", |(body, _)| body);
        let digest = sha2::Sha256::digest(body.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    };
    format!(
        "default-src 'none'; connect-src 'self'; script-src {}; style-src {}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash("script"),
        hash("style")
    )
}

#[cfg(test)]
mod tests {
    /// The hashes are those of the elements' text, as a browser computes them (the
    /// policy of a page `<style>a{}</style><script>x()</script>`, checked with `openssl dgst
    /// -sha256 -binary | base64`).
    #[test]
    fn the_policy_names_the_inline_elements_by_hash() {
        let policy = super::docs_policy("<style>a{}</style><script>x()</script>");
        assert!(
            policy.contains("script-src 'sha256-D6IGS8VMvCoyaR/l0h9tERrBTATY01CoPS7l6xDv0kI='"),
            "{policy}"
        );
        assert!(
            policy.contains("style-src 'sha256-X1RutGBrXCt9KkSaXMK7tHftWiRscFHOhxsS8tv8hBk='"),
            "{policy}"
        );
    }
}
