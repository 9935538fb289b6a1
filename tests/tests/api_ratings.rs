//! Ratings over HTTP: current, breakdown, history, recompute, leaderboard and statistics.

mod api_common;

use api_common::{assert_error, Api};

#[test]
fn rating_routes_answer_the_extension_s_figures() {
    let api = Api::start();
    let rating = api.get("/api/buildings/b42/rating");
    assert_eq!(rating.status, 200, "{}", rating.body);
    let rating = rating.json();
    assert_eq!(rating["building"], "b42");
    let score = rating["score"].as_f64().unwrap();
    let expected: f64 = api
        .sql_one::<String>("SELECT (arxos.rating('b42')).score::text")
        .parse()
        .unwrap();
    assert!((score - expected).abs() < 1e-9, "{score} vs {expected}");

    let breakdown = api.get("/api/buildings/b42/rating/breakdown").json();
    assert_eq!(
        breakdown["components"].as_array().unwrap().len(),
        7,
        "{breakdown}"
    );

    let recomputed = api.send("POST", "/api/buildings/b42/rating/recompute", None);
    assert_eq!(recomputed.status, 200, "{}", recomputed.body);
    assert_eq!(recomputed.json()["grade"], rating["grade"]);

    let history = api.get("/api/buildings/b42/rating/history?limit=5").json();
    assert!(
        !history["items"].as_array().unwrap().is_empty(),
        "{history}"
    );

    let board = api.get("/api/ratings").json();
    assert_eq!(board["items"][0]["building"], "b42");
    let stats = api.get("/api/ratings/statistics").json();
    assert_eq!(stats["buildings"], 1);
    assert_eq!(stats["grades"][rating["grade"].as_str().unwrap()], 1);

    assert_error(&api.get("/api/buildings/zz/rating"), 404, "NOT_FOUND");
    let metrics = api.http.get(&api.shim.url("/metrics")).body;
    assert!(
        metrics.contains("arxos_rating_recomputes_total 1"),
        "{metrics}"
    );
}
