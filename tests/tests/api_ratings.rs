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

    // Keyset pages, newest first: the next link continues below the last id. Two writes in
    // their own transactions move a small building's score: two more history rows.
    let mut db = api.cluster.client();
    for path in ["/spaces/extra_1", "/spaces/extra_2"] {
        db.execute("SELECT arxos.put('b42', $1, 'room')", &[&path])
            .expect("a write that moves the rating");
    }
    let first = api.get("/api/buildings/b42/rating/history?limit=1").json();
    let next = first["next"].as_str().expect("more than one history row");
    let second = api.get(next).json();
    assert!(
        second["items"][0]["id"].as_i64() < first["items"][0]["id"].as_i64(),
        "{first} {second}"
    );

    let board = api.get("/api/ratings").json();
    assert_eq!(board["items"][0]["building"], "b42");
    assert!(board["next"].is_null(), "{board}");
    assert_error(
        &api.get("/api/ratings?after=nowhere"),
        400,
        "VALIDATION_ERROR",
    );
    let grade = rating["grade"].as_str().unwrap();
    let same = api.get(&format!("/api/ratings?grade={grade}")).json();
    assert_eq!(same["items"][0]["building"], "b42", "{same}");
    let unknown = assert_error(&api.get("/api/ratings?grade=2Z"), 400, "VALIDATION_ERROR");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown BILT grade '2Z'"),
        "{unknown}"
    );
    let stats = api.get("/api/ratings/statistics").json();
    assert_eq!(stats["buildings"], 1);
    assert_eq!(stats["grades"][rating["grade"].as_str().unwrap()], 1);

    assert_error(&api.get("/api/buildings/zz/rating"), 404, "NOT_FOUND");
    let metrics = api.http.get(&api.shim.url("/metrics")).body;
    assert!(
        metrics.contains("arxos_rating_recomputes_total 1"),
        "{metrics}"
    );

    // The leaderboard one building a page: every building once, best first.
    api.cluster
        .client()
        .batch_execute(
            "SELECT arxos.create_building('p1', 'One', NULL), arxos.create_building('p2', 'Two', NULL)",
        )
        .expect("two more buildings");
    let mut seen = Vec::new();
    let mut next = Some("/api/ratings?limit=1".to_owned());
    while let Some(page) = next {
        let body = api.get(&page).json();
        for item in body["items"].as_array().unwrap() {
            seen.push((
                item["score"].as_f64().unwrap(),
                item["building"].as_str().unwrap().to_owned(),
            ));
        }
        next = body["next"].as_str().map(str::to_owned);
    }
    let buildings: Vec<&str> = seen.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(buildings, ["b42", "p1", "p2"], "{seen:?}");

    // The next link holds the place the page ended at (score and key): a walk whose last
    // building's score falls between pages still lists every building once.
    api.cluster
        .client()
        .batch_execute(
            "SELECT arxos.put(b, '/room', 'room', '{\"area\": 12}', location => '{\"x\": 1, \"y\": 2}')
               FROM unnest(ARRAY['p1', 'p2']) b",
        )
        .expect("p1 and p2 get a room each");
    let first = api.get("/api/ratings?limit=1").json();
    assert_eq!(first["items"][0]["building"], "b42");
    let next = first["next"].as_str().unwrap().to_owned();
    assert!(next.contains("after=") && next.contains("%3Ab42"), "{next}");
    api.cluster
        .client()
        .batch_execute("DELETE FROM arxos.objects WHERE building_id = arxos.building_id('b42')")
        .expect("b42 loses its objects and its score");
    let rest = api.get(&next.replace("limit=1", "limit=10")).json();
    let rest: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["building"].as_str().unwrap())
        .collect();
    // (b42 itself comes again, at its new place: it moved down past the page's end)
    assert!(rest.contains(&"p1") && rest.contains(&"p2"), "{rest:?}");
    // (a bare key is after the building's place now: b42 is last, so nothing follows it,
    // which is what a next link holding only the key would have given: p1 and p2 skipped)
    let bare = api.get("/api/ratings?limit=10&after=b42").json();
    assert_eq!(bare["items"], serde_json::json!([]), "{bare}");
    assert_error(
        &api.get("/api/ratings?after=high:b42"),
        400,
        "VALIDATION_ERROR",
    );
    // a score as the next link writes it, not one numeric refuses in its own words
    let refused = api.get("/api/ratings?after=1e-1001:b42");
    assert_error(&refused, 400, "VALIDATION_ERROR");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("after must be score:key")),
        "{}",
        refused.body
    );
}
