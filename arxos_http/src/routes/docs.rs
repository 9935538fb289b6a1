//! `GET /api/openapi.json` and `/docs`, a self-contained page that renders it (no CDN, works
//! offline).

use std::sync::OnceLock;

use crate::state::AppState;
use axum::http::header::CONTENT_TYPE;
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

async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
