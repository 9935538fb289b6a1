//! The OpenAPI document, the offline docs page and the metrics.

mod api_common;

use api_common::Api;

#[test]
fn openapi_docs_and_metrics_are_served() {
    let api = Api::start();
    let doc = api.http.get(&api.shim.url("/api/openapi.json"));
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/buildings/{b}/objects/{path}",
        "/api/query",
        "/api/ratings",
        "/api/contributions",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    // what any route may answer: 503 with Retry-After (but the event stream, which answers
    // 200 with `retry:`), and 409 on writes (a lost deadlock or serialization failure); and
    // where a key is taken as X-API-Key, it is taken as Authorization: Bearer too
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            assert_eq!(
                schemes.contains(&"api_key"),
                schemes.contains(&"bearer"),
                "{method} {path}: {schemes:?}"
            );
            let responses = &operation["responses"];
            if path != "/api/events" {
                assert!(
                    responses["503"]["headers"].get("Retry-After").is_some(),
                    "{method} {path}: no 503 with Retry-After"
                );
            }
            if matches!(method.as_str(), "put" | "post" | "patch" | "delete") {
                assert!(responses.get("409").is_some(), "{method} {path}: no 409");
                if operation.get("requestBody").is_some() {
                    assert!(responses.get("408").is_some(), "{method} {path}: no 408");
                }
            }
        }
    }
    // the creating POSTs whose resources have a URL say so; conditional writes take their
    // preconditions (create-only where a write may create)
    for path in [
        "/api/buildings",
        "/api/objects",
        "/api/contributors",
        "/api/webhooks",
    ] {
        let created = &doc["paths"][path]["post"]["responses"]["201"];
        assert!(
            created["headers"].get("Location").is_some(),
            "POST {path}: 201 without Location"
        );
    }
    let header_params = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_path = "/api/buildings/{b}/objects/{path}";
    assert_eq!(header_params(by_path, "put"), ["If-Match", "If-None-Match"]);
    assert_eq!(
        header_params("/api/objects", "post"),
        ["If-Match", "If-None-Match"]
    );
    assert_eq!(header_params(by_path, "patch"), ["If-Match"]);
    assert_eq!(header_params(by_path, "delete"), ["If-Match"]);

    // the words the document lists are the database's
    let mut types: Vec<String> = api
        .cluster
        .client()
        .query("SELECT type FROM arxos.contribution_types()", &[])
        .expect("contribution types")
        .iter()
        .map(|row| row.get(0))
        .collect();
    types.sort();
    let mut listed: Vec<String> = doc["components"]["schemas"]["ContributionType"]["enum"]
        .as_array()
        .expect("ContributionType lists its words")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, types);
    assert_eq!(
        doc["components"]["schemas"]["HistoryOp"]["enum"],
        serde_json::json!(["insert", "update", "delete", "move"])
    );
    // a rating's reasons are those the history's CHECK allows
    let check: String = api
        .cluster
        .client()
        .query_one(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint
              WHERE conrelid = 'arxos.rating_history'::regclass AND conname LIKE '%reason%'",
            &[],
        )
        .expect("the reason's CHECK")
        .get(0);
    let reasons = doc["components"]["schemas"]["RatingReason"]["enum"]
        .as_array()
        .expect("RatingReason lists its words");
    assert_eq!(reasons.len(), check.matches("::text").count(), "{check}");
    for reason in reasons {
        let word = reason.as_str().unwrap();
        assert!(check.contains(&format!("'{word}'")), "{word}: {check}");
    }

    let page = api.http.get(&api.shim.url("/docs"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/api/openapi.json"));
    assert!(
        !page.body.contains("https://") && !page.body.contains("http://"),
        "loads nothing from elsewhere"
    );
    // the page runs its own script and style only, fetches from its origin only, and is
    // framed by no other site; no answer is sniffed into another type (found by a review)
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.starts_with("default-src 'none'; connect-src 'self'; script-src 'sha256-")
            && policy.contains("; style-src 'sha256-")
            && policy.ends_with("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    for answer in [
        &page,
        &api.get("/api/buildings/b42"),
        &api.get("/api/buildings/nope"),
    ] {
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }

    assert_eq!(api.get("/api/buildings/b42").status, 200);
    // a request the protocol check refuses (a bad percent-encoding) is counted too (found by
    // a review: logged, never counted)
    assert_eq!(api.get("/api/buildings/b42/ls/%ZZ").status, 400);
    let metrics = api.http.get(&api.shim.url("/metrics"));
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/api/buildings/{b}\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_requests_total") && l.contains("status=\"400\"")),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("arxos_db_pool_connections"), "{text}");
}
