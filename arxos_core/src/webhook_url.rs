//! A webhook's URL: what `arxos.create_webhook` and `arxos.patch_webhook` store (through
//! `arxos.webhook_url_problem`) is what the delivery client can send to. One implementation,
//! the WHATWG URL parser the client uses (found by a review: the SQL regex took
//! `http://h:99999/`, `http://[::1/` and `http://u@/x`, which the shim refused and no client
//! could reach). The messages never quote the URL: it may carry a credential.

/// Why a text is no webhook URL, or `None` when it is one: `http` or `https`, with a host, a
/// valid port and nothing the parser refuses.
pub fn problem(url: &str) -> Option<String> {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("url is not a valid URL: {e}")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!(
            "url must be an http:// or https:// URL, not {}:",
            parsed.scheme()
        ));
    }
    if parsed.host().is_none() {
        return Some("url must name a host after its scheme (https://host/…)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn urls_a_client_can_reach() {
        for ok in [
            "https://example.com/hook",
            "http://h:8080/x?y=1#z",
            "https://user:secret@example.com/",
            "http://[::1]:9/",
            "http://192.0.2.1/",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn urls_no_client_can_reach_say_why_without_the_url() {
        for (bad, says) in [
            ("http://h:99999/", "invalid port number"),
            ("http://[::1/", "invalid IPv6 address"),
            ("http://u@/x", "empty host"),
            ("https://", "empty host"),
            ("ftp://example.com/", "not ftp:"),
            ("mailto:someone@example.com", "not mailto:"),
            ("example.com/hook", "relative URL without a base"),
        ] {
            let message = problem(bad).expect(bad);
            assert!(message.contains(says), "{bad}: {message}");
            assert!(!message.contains("example.com/hook"), "{message}");
        }
        let message = problem("https://user:s3cret@ex ample.com/").expect("refused");
        assert!(!message.contains("s3cret"), "{message}");
    }
}
