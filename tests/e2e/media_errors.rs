//! Every WHIP/WHEP error status, the resource methods, CORS and ICE servers.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::media::live_with_delay;
use super::rtc_peer::{post_offer, publisher_offer, viewer_offer, Publisher};
use super::support::TestServer;

const SDP: &str = "application/sdp";

fn code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_and_whep_refuse_bad_requests_with_the_right_status() {
    let ts = TestServer::start_with(|c| c.rtc.max_viewers = 1).await;
    let (id, surgeon) = live_with_delay(&ts, 0).await;
    let (student, _) = ts.token(Role::Student).await;
    let (_pc, offer) = publisher_offer().await;
    let whip = format!("/api/sessions/{id}/whip");
    let whep = format!("/api/sessions/{id}/whep");

    // 401: no credentials, a forged token.
    let r = ts.http.post(ts.url(&whip)).header("content-type", SDP).body(offer.clone()).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _, _) = post_offer(&ts, &whip, "eyJhbGciOiJIUzI1NiJ9.e30.forged", SDP, &offer).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // 404: unknown session.
    let (s, _, b) = post_offer(&ts, "/api/sessions/nope/whip", &surgeon, SDP, &offer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    // 403: a student may watch but not publish.
    let (s, _, b) = post_offer(&ts, &whip, &student, SDP, &offer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    // 415: not application/sdp.
    let (s, _, b) = post_offer(&ts, &whip, &surgeon, "text/plain", &offer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    // 400: not an SDP, or an SDP str0m cannot answer.
    for bad in ["hello", "v=0\r\ns=-\r\n", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"] {
        let (s, _, b) = post_offer(&ts, &whip, &surgeon, SDP, bad).await;
        assert_eq!((s, code(&b).as_str()), (StatusCode::BAD_REQUEST, "malformed_sdp"), "{bad:?}: {b}");
    }
    // 406: no codec we forward (VP9 and G.722 only).
    let vp9 = offer.replace("VP8/90000", "VP9/90000").replace("opus/48000/2", "G722/8000");
    let (s, _, b) = post_offer(&ts, &whip, &surgeon, SDP, &vp9).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::NOT_ACCEPTABLE, "no_supported_codec"), "{b}");
    // 413: an oversized body.
    let huge = format!("{offer}{}", "a=x\r\n".repeat(20_000));
    let (s, _, _) = post_offer(&ts, &whip, &surgeon, SDP, &huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // 409: a second publisher while one is active.
    let _publisher = Publisher::connect(&ts, &id, &surgeon).await;
    let (_pc2, offer2) = publisher_offer().await;
    let (s, _, b) = post_offer(&ts, &whip, &surgeon, SDP, &offer2).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::CONFLICT, "publisher_active"));

    // 429: past the viewer limit (1 here).
    let (_v1, o1) = viewer_offer().await;
    let (s, _, b) = post_offer(&ts, &whep, &student, SDP, &o1).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_v2, o2) = viewer_offer().await;
    let (other, _) = ts.token(Role::Clinician).await;
    let (s, h, b) = post_offer(&ts, &whep, &other, SDP, &o2).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(h.get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_consent_and_audience_are_enforced() {
    let ts = TestServer::start().await;
    let (_pc, offer) = publisher_offer().await;
    let (_vpc, voffer) = viewer_offer().await;
    // 409 not_live: a draft.
    let (draft, surgeon, _) = ts.draft().await;
    let (s, _, b) = post_offer(&ts, &format!("/api/sessions/{draft}/whip"), &surgeon, SDP, &offer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::CONFLICT, "not_live"), "{b}");

    // 403 outside_consent: consent for text only.
    let (t, _) = ts.token(Role::Surgeon).await;
    let (_, v) = ts
        .post(
            "/api/sessions",
            &t,
            json!({"title": "T", "procedure": "P", "delay_seconds": 0, "audience": ["clinician"]}),
        )
        .await;
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": false, "video": false, "audio": false, "archive": false});
    let (s, _) = ts.put(&format!("/api/sessions/{id}/consent"), &t, json!({"reference": "F", "scope": scope})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, b) = post_offer(&ts, &format!("/api/sessions/{id}/whip"), &t, SDP, &offer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "outside_consent"), "{b}");
    let (clinician, _) = ts.token(Role::Clinician).await;
    let (s, _, b) = post_offer(&ts, &format!("/api/sessions/{id}/whep"), &clinician, SDP, &voffer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "outside_consent"), "{b}");

    // 403 not_in_audience: the audience is clinicians only.
    let (student, _) = ts.token(Role::Student).await;
    let (s, _, b) = post_offer(&ts, &format!("/api/sessions/{id}/whep"), &student, SDP, &voffer).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "not_in_audience"), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_patch_delete_methods_cors_and_ice_servers() {
    let ts = TestServer::start_with(|c| {
        c.rtc.ice_servers =
            vec!["stun:stun.example.org:3478".into(), "turn:turn.example.org username=u credential=p".into()];
        c.allowed_origins = vec!["https://teaching.example.org".into()];
    })
    .await;
    let (id, _surgeon) = live_with_delay(&ts, 0).await;
    let (student, _) = ts.token(Role::Student).await;
    let (other, _) = ts.token(Role::Student).await;
    let (_pc, offer) = viewer_offer().await;
    let whep = format!("/api/sessions/{id}/whep");
    let (s, h, b) = post_offer(&ts, &whep, &student, SDP, &offer).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(h["content-type"], SDP);
    assert!(b.starts_with("v=0") && b.contains("a=candidate:") && b.contains("a=ice-lite"), "{b}");
    let location = h["location"].to_str().expect("location").to_string();
    assert!(location.starts_with(&format!("/api/sessions/{id}/whep/")) && location.len() > whep.len() + 30);
    let etag = h["etag"].to_str().expect("etag").to_string();
    let links: Vec<&str> = h.get_all("link").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(links.iter().any(|l| l.contains("<stun:stun.example.org:3478>") && l.contains("rel=\"ice-server\"")));
    assert!(links.iter().any(|l| l.contains("turn:turn.example.org") && l.contains("username=\"u\"")));

    let frag =
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n";
    let patch = |ct: &'static str, if_match: Option<String>, token: String, body: String| {
        let mut rb = ts.http.patch(ts.url(&location)).bearer_auth(token).header("content-type", ct).body(body);
        if let Some(m) = if_match {
            rb = rb.header("if-match", m);
        }
        rb.send()
    };
    let trickle = "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n".to_string();
    // 428 without If-Match, 412 on a stale one, 415 wrong type, 403 someone else.
    let r = patch("application/trickle-ice-sdpfrag", None, student.clone(), trickle.clone()).await.expect("patch");
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
    let r = patch("application/trickle-ice-sdpfrag", Some("\"stale\"".into()), student.clone(), trickle.clone())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = patch("application/sdp", Some(etag.clone()), student.clone(), trickle.clone()).await.expect("patch");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = patch("application/trickle-ice-sdpfrag", Some(etag.clone()), other.clone(), trickle.clone())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = patch("application/trickle-ice-sdpfrag", Some(etag.clone()), student.clone(), "garbage".into())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Trickle: 204; ICE restart: 200 with the server's new credentials and a new ETag.
    let r = patch("application/trickle-ice-sdpfrag", Some(etag.clone()), student.clone(), trickle.clone())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = patch("application/trickle-ice-sdpfrag", Some(etag.clone()), student.clone(), frag.to_string())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    let new_etag = r.headers()["etag"].to_str().expect("etag").to_string();
    assert_ne!(new_etag, etag);
    let body = r.text().await.expect("body");
    assert!(body.contains("a=ice-ufrag:") && body.contains("a=ice-pwd:"), "{body}");
    let r = patch("application/trickle-ice-sdpfrag", Some(etag.clone()), student.clone(), trickle.clone())
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED, "the old ETag no longer matches");

    // Other methods: 405 with Allow.
    for m in [Method::GET, Method::PUT, Method::POST] {
        let r = ts.http.request(m.clone(), ts.url(&location)).bearer_auth(&student).send().await.expect("req");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
        let allow = r.headers()["allow"].to_str().expect("allow").to_uppercase();
        assert!(allow.contains("PATCH") && allow.contains("DELETE"), "{allow}");
    }
    let r = ts.http.get(ts.url(&whep)).bearer_auth(&student).send().await.expect("req");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers()["allow"].to_str().expect("allow").contains("POST"));

    // OPTIONS: Accept-Post and ICE servers; CORS preflight for allowed origins only.
    let r = ts.http.request(Method::OPTIONS, ts.url(&whep)).send().await.expect("options");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["accept-post"], SDP);
    assert!(r.headers().get_all("link").iter().count() >= 2);
    let preflight = |origin: &'static str| {
        ts.http
            .request(Method::OPTIONS, ts.url(&whep))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let r = preflight("https://teaching.example.org").await.expect("preflight");
    assert_eq!(r.headers()["access-control-allow-origin"], "https://teaching.example.org");
    assert!(r.headers()["access-control-allow-methods"].to_str().expect("methods").contains("POST"));
    assert!(r.headers().get("link").is_none(), "no ICE servers on a preflight");
    let r = preflight("https://evil.example.com").await.expect("preflight");
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // A one-use ticket instead of a bearer token (clients that cannot set headers).
    let (s, v) = ts.post("/api/ws-ticket", &other, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ticket = v["ticket"].as_str().expect("ticket").to_string();
    let (_tpc, toffer) = viewer_offer().await;
    let with_ticket = |t: String, sdp: String| {
        ts.http.post(ts.url(&format!("{whep}?ticket={t}"))).header("content-type", SDP).body(sdp).send()
    };
    let r = with_ticket(ticket.clone(), toffer.clone()).await.expect("whep");
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = with_ticket(ticket, toffer).await.expect("whep");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a ticket is good once");

    // DELETE: someone else 403, the owner 200, then 404.
    let r = ts.http.delete(ts.url(&location)).bearer_auth(&other).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = ts.http.delete(ts.url(&location)).bearer_auth(&student).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::OK);
    let r = ts.http.delete(ts.url(&location)).bearer_auth(&student).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = patch("application/trickle-ice-sdpfrag", Some("*".into()), student.clone(), trickle).await.expect("patch");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_resources_per_address_are_capped_with_429_and_given_back() {
    let ts = TestServer::start_with(|c| c.edge.whep_per_address = 2).await;
    let (id, _surgeon) = live_with_delay(&ts, 0).await;
    let whep = format!("/api/sessions/{id}/whep");
    let mut open = Vec::new();
    for _ in 0..2 {
        let (student, _) = ts.token(Role::Student).await;
        let (pc, offer) = viewer_offer().await;
        let (s, h, b) = post_offer(&ts, &whep, &student, SDP, &offer).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let location = h.get("location").and_then(|l| l.to_str().ok()).expect("location").to_string();
        open.push((pc, student, location));
    }
    // A third from the same address (another user: the cap is per address).
    let (third, _) = ts.token(Role::Clinician).await;
    let (_pc3, o3) = viewer_offer().await;
    let (s, h, b) = post_offer(&ts, &whep, &third, SDP, &o3).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{b}");
    assert!(h.get("retry-after").is_some());
    // Publishing is not capped by it.
    let (_pub, offer) = publisher_offer().await;
    let (s, _, b) = post_offer(&ts, &format!("/api/sessions/{id}/whip"), &_surgeon, SDP, &offer).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // DELETE gives the place back.
    let (_pc, student, location) = open.remove(0);
    let r = ts.http.delete(ts.url(&location)).bearer_auth(&student).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::OK);
    let (_pc4, o4) = viewer_offer().await;
    let (s, _, b) = post_offer(&ts, &whep, &third, SDP, &o4).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}
