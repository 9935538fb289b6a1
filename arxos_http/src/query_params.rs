//! Unknown query parameters are refused (400), not ignored: a misspelt filter
//! (`?stauts=failed`) would otherwise answer every object, and an option the route does not
//! have (`?dry_run=true` on an import) would be taken as done. The parameters a route knows are
//! the ones its OpenAPI operation documents, so the document and the check cannot disagree.
//! Routes the document does not describe (health, metrics, the docs page) are not checked.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// The query parameters of each documented operation, by method and path template.
#[derive(Debug, Default)]
pub struct KnownParams(HashMap<(Method, String), BTreeSet<String>>);

impl KnownParams {
    pub fn from_openapi(doc: &OpenApi) -> KnownParams {
        let mut known = HashMap::new();
        for (path, item) in &doc.paths.paths {
            let shared = item.parameters.as_deref().unwrap_or_default();
            let operations: [(Method, &Option<Operation>); 5] = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let names = shared
                    .iter()
                    .chain(operation.parameters.as_deref().unwrap_or_default())
                    .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                    .map(|p| p.name.clone())
                    .collect();
                known.insert((method, template(path)), names);
            }
        }
        KnownParams(known)
    }

    /// Checks the query string of `method route` (the router's matched path).
    pub fn check(&self, method: &Method, route: &str, query: Option<&str>) -> Result<(), ApiError> {
        // Most requests have no query string: nothing to look up for them.
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(());
        };
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let Some(names) = self.0.get(&(method.clone(), template(route))) else {
            return Ok(());
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::validation(format!("the query string is malformed: {e}")))?;
        let Some((unknown, _)) = pairs.iter().find(|(name, _)| !names.contains(name)) else {
            return Ok(());
        };
        if unknown == "api_key" {
            return Err(ApiError::validation(format!(
                "{method} {route} does not take the key as a query parameter (only the event routes do, for EventSource): send it in the X-API-Key header or as Authorization: Bearer"
            )));
        }
        let takes = if names.is_empty() {
            "takes no query parameters".to_owned()
        } else {
            let list: Vec<&str> = names.iter().map(String::as_str).collect();
            format!("takes {}", list.join(", "))
        };
        Err(ApiError::validation(format!(
            "unknown query parameter {unknown:?}: {method} {route} {takes}"
        )))
    }
}

/// A path template with its parameter names erased, so that the router's `{b}/ls/{*path}` and
/// the document's `{b}/ls/{path}` compare equal.
fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The middleware (a route layer, so that the matched path is known).
pub async fn refuse_unknown(
    State(known): State<Arc<KnownParams>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    if let Some(route) = route {
        if let Err(e) = known.check(request.method(), &route, request.uri().query()) {
            return e.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    fn known() -> KnownParams {
        KnownParams::from_openapi(&crate::openapi::ApiDoc::openapi())
    }

    #[test]
    fn documented_parameters_pass_and_others_are_named() {
        let known = known();
        let find = "/api/objects";
        assert!(known
            .check(&Method::GET, find, Some("building=b&status=failed&limit=5"))
            .is_ok());
        let err = known
            .check(&Method::GET, find, Some("building=b&stauts=failed"))
            .unwrap_err();
        assert!(
            err.message.contains("unknown query parameter \"stauts\""),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("GET /api/objects takes"),
            "{}",
            err.message
        );
        assert!(err.message.contains("status"), "{}", err.message);
    }

    #[test]
    fn wildcard_routes_match_their_documented_template() {
        let known = known();
        let ls = "/api/buildings/{b}/ls/{*path}";
        assert!(known
            .check(&Method::GET, ls, Some("limit=2&after=x"))
            .is_ok());
        assert!(known.check(&Method::HEAD, ls, Some("limit=2")).is_ok());
        assert!(known.check(&Method::GET, ls, Some("depth=2")).is_err());
        assert!(known
            .check(&Method::GET, "/api/buildings/{b}/ls", Some("depth=2"))
            .is_err());
    }

    #[test]
    fn a_route_without_parameters_says_so() {
        let err = known()
            .check(&Method::POST, "/api/buildings", Some("dry_run=true"))
            .unwrap_err();
        assert!(
            err.message
                .ends_with("POST /api/buildings takes no query parameters"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_key_in_the_query_is_pointed_to_the_header() {
        let known = known();
        let err = known
            .check(&Method::GET, "/api/objects", Some("api_key=arx_x"))
            .unwrap_err();
        assert!(err.message.contains("X-API-Key header"), "{}", err.message);
        assert!(known
            .check(&Method::GET, "/api/events/recent", Some("api_key=arx_x"))
            .is_ok());
    }

    #[test]
    fn undocumented_routes_and_empty_queries_are_not_checked() {
        let known = known();
        assert!(known.check(&Method::GET, "/metrics", Some("x=1")).is_ok());
        assert!(known.check(&Method::GET, "/api/objects", None).is_ok());
        assert!(known.check(&Method::GET, "/api/objects", Some("")).is_ok());
    }

    #[test]
    fn the_template_erases_parameter_names() {
        assert_eq!(
            template("/api/buildings/{b}/ls/{*path}"),
            "/api/buildings/{}/ls/{}"
        );
        assert_eq!(
            template("/api/buildings/{b}/ls/{path}"),
            "/api/buildings/{}/ls/{}"
        );
        assert_eq!(template("/api/objects"), "/api/objects");
    }
}
