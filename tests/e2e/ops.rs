//! Health, readiness, metrics access and request ids.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};

use crate::support::{assert_error, TestServer};

#[tokio::test]
async fn health_ready_metrics() {
    let ts =
        TestServer::start_with(|c| c.metrics_token = Some(orgallery::config::Secret::new("scrape-me-please".into())))
            .await;
    assert_eq!(ts.call(Method::GET, "/healthz", None, None).await.0, StatusCode::OK);
    assert_eq!(ts.call(Method::GET, "/readyz", None, None).await.1["status"], "ready");
    assert_error(&ts.call(Method::GET, "/metrics", None, None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (student, _) = ts.token(Role::Student).await;
    assert_error(&ts.get("/metrics", &student).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&ts.get("/metrics", "scrape-me-wrong!").await, StatusCode::UNAUTHORIZED, "unauthenticated");
    for token in [ts.token(Role::Admin).await.0, "scrape-me-please".to_string()] {
        let r = ts.http.get(ts.url("/metrics")).bearer_auth(&token).send().await.expect("metrics");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().expect("ct").starts_with("text/plain"));
        let text = r.text().await.expect("text");
        assert!(text.contains("# TYPE orgallery_http_responses_total counter"), "{text}");
        assert!(text.contains("orgallery_http_responses_total{class=\"4xx\"}"));
    }
    // Request ids: generated, or propagated when sane.
    let r = ts.http.get(ts.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("h");
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = ts.http.get(ts.url("/healthz")).send().await.expect("h");
    assert_eq!(r.headers()["x-request-id"].len(), 36);
    // After shutdown begins, the server is no longer ready.
    ts.server.state.shutdown.trigger();
}

#[tokio::test]
async fn the_browser_app_is_served_with_a_strict_csp() {
    let ts = TestServer::start().await;
    for (path, ct, needle) in [
        ("/", "text/html", "<script type=\"module\" src=\"/app.js\">"),
        ("/join?code=abc", "text/html", "login-form"),
        ("/app.js", "text/javascript", "import "),
        ("/app.css", "text/css", "body"),
    ] {
        let r = ts.http.get(ts.url(path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.headers()["content-type"].to_str().expect("ct").starts_with(ct), "{path}");
        assert!(r.headers()["content-security-policy"].to_str().expect("csp").contains("default-src 'self'"));
        assert!(r.text().await.expect("body").contains(needle), "{path}");
    }
}

#[tokio::test]
async fn openapi_lists_every_operation_and_permission() {
    let ts = TestServer::start().await;
    let (s, doc) = ts.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let (_, table) = ts.call(Method::GET, "/api/permissions", None, None).await;
    let known: Vec<&str> = table.as_array().expect("rows").iter().filter_map(|r| r["permission"].as_str()).collect();
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/sessions/{id}/live",
        "/api/sessions/{id}/images",
        "/api/sessions/{id}/updates/{uid}/approve",
        "/api/auth/login",
        "/api/sessions/{id}/questions",
        "/api/sessions/{id}/questions/{qid}/upvote",
        "/api/sessions/{id}/pulse",
        "/api/sessions/{id}/feedback",
        "/api/sessions/{id}/timeline",
        "/api/sessions/{id}/export",
        "/api/audit",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("ops") {
            let perm = op["x-permission"].as_str().expect("x-permission");
            assert!(["public", "any"].contains(&perm) || known.contains(&perm), "{method} {path}: {perm}");
            // Every documented operation exists: it never answers 404 "no such endpoint" or 405.
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let url = path
                .replace("{id}", "x")
                .replace("{uid}", "y")
                .replace("{sub}", "z")
                .replace("{media_id}", "w")
                .replace("{name}", "v")
                .replace("{qid}", "q");
            let r = ts.http.request(m, ts.url(&url)).send().await.expect("send");
            assert_ne!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let body = r.text().await.unwrap_or_default();
            assert!(!body.contains("no such endpoint"), "{method} {path}");
        }
    }
}
