//! A small blocking HTTP client that hands back every answer, errors included.

use std::time::Duration;

use serde_json::Value;

/// One answer: status, headers (names lower-case) and body text.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The first value of a header, by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    pub fn new() -> Http {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            // A fresh connection per request: the server may close a kept-alive connection
            // between requests (legal HTTP), and ureq does not retry a request that met a
            // connection closed under it, which made tests fail at random.
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn get(&self, url: &str) -> Reply {
        self.request("GET", url, &[], None)
    }

    /// POSTs a JSON body.
    pub fn post_json(&self, url: &str, body: &Value) -> Reply {
        self.request(
            "POST",
            url,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// Any request. Panics only when no answer came (connection refused, timeout).
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.try_request(method, url, headers, body)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// Like [`Http::request`], but a failure to get an answer is an `Err`.
    pub fn try_request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ureq::Error> {
        let mut builder = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = match body {
            Some(body) => self.agent.run(builder.body(body)?),
            None => self.agent.run(builder.body(())?),
        }?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.into_body().read_to_string()?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}
