//! Shared set-up of the API tests: a cluster with the sample building, an admin key, and the
//! server with rate limits off unless a test asks for them.

#![allow(dead_code)]

use arxos_e2e::{Cluster, Http, Reply, Shim};
use serde_json::Value;

pub struct Api {
    pub cluster: Cluster,
    pub shim: Shim,
    pub http: Http,
    /// A key with every scope, for every building (owner "admin-bot").
    pub key: String,
}

impl Api {
    /// Sample building b42 loaded, arxos_query allowed to log in (trust authentication).
    pub fn start() -> Api {
        Api::start_with(&["--rate-limit", "0", "--query-rate-limit", "0"])
    }

    pub fn start_with(flags: &[&str]) -> Api {
        Api::start_with_env(flags, &[])
    }

    /// Like [`Api::start_with`], with variables added to the server's environment.
    pub fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Api {
        let cluster = Cluster::start();
        let mut db = cluster.client();
        db.batch_execute("ALTER ROLE arxos_query LOGIN; SELECT arxos.load_sample();")
            .expect("prepare the database");
        let key = create_key(&cluster, "admin-bot", &["read", "write", "admin"], None);
        let shim = Shim::start_with(&cluster.url(), flags, env);
        Api {
            cluster,
            shim,
            http: Http::new(),
            key,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_as(&self.key, path)
    }

    pub fn get_as(&self, key: &str, path: &str) -> Reply {
        self.http
            .request("GET", &self.shim.url(path), &[("x-api-key", key)], None)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.send_as(&self.key, method, path, body)
    }

    pub fn send_as(&self, key: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.send_raw(Some(key), method, path, body.as_deref(), body.is_some())
    }

    /// A request as given: without a key when `key` is `None`, with
    /// `Content-Type: application/json` only when `json`.
    pub fn send_raw(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
        json: bool,
    ) -> Reply {
        let mut headers = Vec::new();
        if let Some(key) = key {
            headers.push(("x-api-key", key));
        }
        if json {
            headers.push(("content-type", "application/json"));
        }
        self.http.request(
            method,
            &self.shim.url(path),
            &headers,
            body.map(|b| b.as_bytes().to_vec()),
        )
    }

    pub fn sql_one<T>(&self, sql: &str) -> T
    where
        T: for<'a> postgres::types::FromSql<'a>,
    {
        let mut db = self.cluster.client();
        db.query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

/// Creates a key with `arxos.create_api_key` and returns it.
pub fn create_key(
    cluster: &Cluster,
    owner: &str,
    scopes: &[&str],
    buildings: Option<&[&str]>,
) -> String {
    let mut db = cluster.client();
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let buildings: Option<Vec<String>> =
        buildings.map(|b| b.iter().map(|s| s.to_string()).collect());
    db.query_one(
        "SELECT key FROM arxos.create_api_key($1, $2, $3, $1)",
        &[&owner, &scopes, &buildings],
    )
    .expect("create an API key")
    .get(0)
}

/// Asserts the error shape and code, and returns the body.
pub fn assert_error(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"].get("details").is_some(), "{body}");
    body
}
