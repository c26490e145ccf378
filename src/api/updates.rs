//! Publishing through the gates and controlling them: updates (text and
//! markers), images, approve / retract / edit, curtain, dump, the review
//! queue, the released timeline and released media.

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientAddr, Json, Path};
use super::load_session;
use crate::audit::Entry;
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::live::{self, Command, Draft, HeldImage, Kind, MAX_LABEL_CHARS};
use crate::model::{Session, SessionState};
use crate::state::AppState;

pub const MAX_TEXT_BYTES: usize = 16 * 1024;
const MAX_CAPTION_BYTES: usize = 4 * 1024;
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/updates", post(publish).get(released))
        .route("/api/sessions/{id}/updates/{uid}", patch(edit))
        .route("/api/sessions/{id}/updates/{uid}/approve", post(approve))
        .route("/api/sessions/{id}/updates/{uid}/preview", get(preview))
        .route("/api/sessions/{id}/updates/{uid}/retract", post(retract))
        .route("/api/sessions/{id}/curtain", post(curtain))
        .route("/api/sessions/{id}/dump", post(dump))
        .route("/api/sessions/{id}/queue", get(queue))
        .route(
            "/api/sessions/{id}/images",
            post(publish_image).layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES + 512 * 1024)),
        )
        .route("/api/media/{media_id}", get(media))
}

fn require_live(s: &Session) -> Result<(), ApiError> {
    if s.state != SessionState::Live {
        return Err(ApiError::conflict("not_live", "the session is not live"));
    }
    Ok(())
}

fn outside_consent(kind: &str) -> ApiError {
    ApiError::Forbidden { code: "outside_consent", message: format!("the patient's consent does not cover {kind}") }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum NewUpdate {
    Text { text: String },
    Marker { label: String },
}

pub(super) fn check_text(text: &str, max_bytes: usize, what: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid("empty_text", format!("{what} must not be empty")));
    }
    if text.len() > max_bytes {
        return Err(ApiError::TooLarge { message: format!("{what} is longer than {max_bytes} bytes") });
    }
    Ok(())
}

/// The gate action in the audit log: ids, kinds and flags, never text.
fn audited(
    state: &AppState,
    who: &Principal,
    addr: Option<std::net::IpAddr>,
    s: &str,
    action: &'static str,
    d: serde_json::Value,
) {
    state.audit.append(Entry::new(action).by(who).from(addr).session(s).detail(d));
}

fn publish_detail(view: &serde_json::Value) -> serde_json::Value {
    json!({"update": view["id"], "kind": view["kind"], "flagged": view["flagged"],
           "redactions": view["redactions"].as_array().map(Vec::len)})
}

async fn publish(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<NewUpdate>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::Publish).await?;
    require_live(&s)?;
    if !s.consent.as_ref().is_some_and(|c| c.scope.text) {
        return Err(outside_consent("text"));
    }
    let (kind, text) = match body {
        NewUpdate::Text { text } => {
            check_text(&text, MAX_TEXT_BYTES, "text")?;
            (Kind::Text, text)
        }
        NewUpdate::Marker { label } => {
            check_text(&label, MAX_TEXT_BYTES, "label")?;
            if label.chars().count() > MAX_LABEL_CHARS {
                return Err(ApiError::invalid(
                    "label_too_long",
                    format!("label is longer than {MAX_LABEL_CHARS} characters"),
                ));
            }
            (Kind::Marker, label)
        }
    };
    let draft = Draft { kind, text: Some(text), image: None, author: who.sub.clone() };
    let view = live::ask(&state, &s, |reply| Command::Publish { draft, reply }).await??;
    audited(&state, &who, addr, &s.id, "publish", publish_detail(&view));
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}

fn image_error(e: orgallery_imaging::CleanError) -> ApiError {
    use orgallery_imaging::CleanError as E;
    match e {
        E::TooLarge { .. } => ApiError::TooLarge { message: "the image is larger than 20 MiB".into() },
        E::PixelLimit { .. } => ApiError::TooLarge { message: "the image has too many pixels".into() },
        E::Unsupported => ApiError::UnsupportedMedia { message: "only JPEG, PNG and WebP images are accepted".into() },
        E::Undecodable(cause) => {
            tracing::info!(%cause, "undecodable image");
            ApiError::UnsupportedMedia { message: "the image could not be decoded".into() }
        }
        E::BadMask(m) => ApiError::invalid("invalid_masks", m),
        E::Internal(m) => ApiError::internal(m),
    }
}

/// A cleaned image as the gate holds it.
fn held_image(media_id: String, clean: orgallery_imaging::CleanImage, masks: Vec<live::ImageMask>) -> HeldImage {
    HeldImage {
        media_id,
        content_type: clean.format.content_type(),
        extension: clean.format.extension(),
        width: clean.width,
        height: clean.height,
        bytes: Bytes::from(clean.bytes),
        masks,
    }
}

fn image_mask(m: &orgallery_imaging::Mask, kind: &'static str, source: &'static str) -> live::ImageMask {
    live::ImageMask { x: m.x, y: m.y, w: m.w, h: m.h, kind, source }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { message: "the upload is too large".into() }
    } else {
        ApiError::bad_request("invalid_multipart", "the multipart body is malformed")
    }
}

/// The fields of an image upload, read and checked.
pub struct ImageForm {
    pub file: Bytes,
    pub caption: Option<String>,
    pub masks: Vec<orgallery_imaging::Mask>,
}

/// Read an image upload's multipart body: `file` (required), `caption`,
/// `masks`; anything else is a 400. Public for the multipart fuzz target.
pub async fn read_image_form(mut form: Multipart) -> Result<ImageForm, ApiError> {
    let (mut file, mut caption, mut masks): (Option<Bytes>, Option<String>, Vec<orgallery_imaging::Mask>) =
        (None, None, Vec::new());
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or("") {
            "file" => file = Some(field.bytes().await.map_err(multipart_error)?),
            "caption" => {
                let c = field.text().await.map_err(multipart_error)?;
                if c.len() > MAX_CAPTION_BYTES {
                    return Err(ApiError::TooLarge { message: "the caption is too long".into() });
                }
                caption = Some(c).filter(|c| !c.trim().is_empty());
            }
            "masks" => {
                let raw = field.text().await.map_err(multipart_error)?;
                masks = serde_json::from_str(&raw).map_err(|_| {
                    ApiError::invalid("invalid_masks", "masks must be [{\"x\",\"y\",\"w\",\"h\"}] in pixels")
                })?;
            }
            _ => {
                return Err(ApiError::bad_request("invalid_multipart", "unknown field; expected file, caption, masks"))
            }
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("missing_file", "the multipart body has no file"))?;
    Ok(ImageForm { file, caption, masks })
}

async fn publish_image(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::Publish).await?;
    require_live(&s)?;
    if !s.consent.as_ref().is_some_and(|c| c.scope.images) {
        return Err(outside_consent("images"));
    }
    let ImageForm { file, caption, masks } = read_image_form(form).await?;
    let permit = state.image_permits.clone().acquire_owned().await.map_err(ApiError::internal)?;
    let limits = orgallery_imaging::Limits::default();
    let ocr = state.ocr.clone().map(|pool| {
        let patient = state.identifiers.get(&s.id).map(|ids| {
            orgallery_ocr::OcrPatient::new(&orgallery_ocr::Identifiers {
                names: ids.names.clone(),
                mrns: ids.mrns.clone(),
                dates: ids.dates.clone(),
                other: ids.other.clone(),
            })
        });
        (pool, patient, state.clone())
    });
    let caller = masks.clone();
    let (clean, found) = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut kinds: Vec<&'static str> = Vec::new();
        let r = orgallery_imaging::clean_with(&file, &masks, &limits, |img| {
            let Some((pool, patient, state)) = &ocr else { return Ok(Vec::new()) };
            let found = orgallery_ocr::propose_masks(pool, state.redactor.engine(), patient.as_ref(), img)
                .map_err(|e| orgallery_imaging::CleanError::Internal(e.to_string()))?;
            kinds = found.iter().map(|m| m.kind).collect();
            Ok(found
                .iter()
                .map(|m| orgallery_imaging::Mask { x: m.rect.x, y: m.rect.y, w: m.rect.w, h: m.rect.h })
                .collect())
        });
        r.map(|(c, extra)| {
            let found: Vec<(orgallery_imaging::Mask, &'static str)> = extra.into_iter().zip(kinds).collect();
            (c, found)
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(image_error)?;
    let mut shown: Vec<live::ImageMask> =
        caller.iter().zip(&clean.painted).map(|(_, m)| image_mask(m, "manual", "caller")).collect();
    shown.extend(found.iter().map(|(m, kind)| image_mask(m, kind, "ocr")));
    tracing::info!(ocr_masks = found.len(), caller_masks = caller.len(), "image cleaned");
    let image = held_image(uuid::Uuid::new_v4().to_string(), clean, shown);
    let draft = Draft { kind: Kind::Image, text: caption, image: Some(image), author: who.sub.clone() };
    let view = live::ask(&state, &s, |reply| Command::Publish { draft, reply }).await??;
    audited(&state, &who, addr, &s.id, "publish", publish_detail(&view));
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    text: Option<String>,
    /// Extension: more masks to paint on a held image (pixels of the upright
    /// image); the deadline is kept.
    masks: Option<Vec<orgallery_imaging::Mask>>,
}

/// One controller action on one held item: authorize, then ask the writer.
async fn on_item(
    state: &AppState,
    (who, addr): (&Principal, Option<std::net::IpAddr>),
    id: &str,
    uid: String,
    action: &'static str,
    make: impl FnOnce(String, live::Reply<serde_json::Value>) -> Command,
) -> Result<Response, ApiError> {
    let s = load_session(state, who, id, Permission::GateControl).await?;
    if uid.len() > 64 {
        return Err(ApiError::not_found("update"));
    }
    let update = uid.clone();
    let v = live::ask(state, &s, |reply| make(uid, reply)).await??;
    let mut detail = json!({"update": update, "state": v["state"]});
    if action == "edit" {
        detail = json!({"update": update, "flagged": v["flagged"],
                        "redactions": v["redactions"].as_array().map(Vec::len)});
    }
    audited(state, who, addr, &s.id, action, detail);
    Ok(axum::Json(v).into_response())
}

async fn edit(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, uid)): Path<(String, String)>,
    Json(body): Json<EditBody>,
) -> Result<Response, ApiError> {
    if let Some(text) = &body.text {
        check_text(text, MAX_TEXT_BYTES, "text")?;
    }
    let Some(masks) = body.masks else {
        let text = body.text.ok_or_else(|| ApiError::invalid("empty_edit", "give text, masks or both"))?;
        return on_item(&state, (&who, addr), &id, uid, "edit", |id, reply| Command::Edit { id, text, reply }).await;
    };
    if masks.is_empty() {
        return Err(ApiError::invalid("invalid_masks", "masks must not be empty"));
    }
    let s = load_session(&state, &who, &id, Permission::GateControl).await?;
    if uid.len() > 64 {
        return Err(ApiError::not_found("update"));
    }
    let held = live::ask(&state, &s, |reply| Command::HeldImage { id: uid.clone(), reply }).await??;
    let permit = state.image_permits.clone().acquire_owned().await.map_err(ApiError::internal)?;
    let base = held.bytes.clone();
    let new = masks.clone();
    let clean = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        orgallery_imaging::clean(&base, &new, &orgallery_imaging::Limits::default())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(image_error)?;
    let mut shown = held.masks.clone();
    shown.extend(clean.painted.iter().map(|m| image_mask(m, "manual", "review")));
    let image = held_image(held.media_id.clone(), clean, shown);
    let base = held.bytes;
    let mut v = live::ask(&state, &s, |reply| Command::Remask { id: uid.clone(), base, image, reply }).await??;
    if let Some(text) = body.text {
        v = live::ask(&state, &s, |reply| Command::Edit { id: uid.clone(), text, reply }).await??;
    }
    audited(&state, &who, addr, &s.id, "edit", json!({"update": uid, "masks_added": masks.len()}));
    Ok(axum::Json(v).into_response())
}

/// Extension: the held image as it will be released (controllers only).
async fn preview(
    State(state): State<AppState>,
    who: Principal,
    Path((id, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::GateControl).await?;
    if uid.len() > 64 {
        return Err(ApiError::not_found("update"));
    }
    let img = live::ask(&state, &s, |reply| Command::HeldImage { id: uid, reply }).await??;
    Ok(([(header::CONTENT_TYPE, img.content_type), (header::CACHE_CONTROL, "no-store")], img.bytes).into_response())
}

async fn approve(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    on_item(&state, (&who, addr), &id, uid, "approve", |id, reply| Command::Approve { id, reply }).await
}

async fn retract(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    on_item(&state, (&who, addr), &id, uid, "retract", |id, reply| Command::Retract { id, reply }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CurtainBody {
    down: bool,
}

async fn curtain(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<CurtainBody>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::GateControl).await?;
    let v = live::ask(&state, &s, |reply| Command::Curtain { down: body.down, reply }).await??;
    audited(&state, &who, addr, &s.id, "curtain", json!({"down": body.down}));
    Ok(axum::Json(v).into_response())
}

async fn dump(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::GateControl).await?;
    let n = live::ask(&state, &s, |reply| Command::Dump { reply }).await??;
    audited(&state, &who, addr, &s.id, "dump", json!({"dropped": n}));
    Ok(axum::Json(json!({"dropped": n})).into_response())
}

async fn queue(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::ReviewQueue).await?;
    let v = live::ask(&state, &s, |reply| Command::Queue { reply }).await??;
    Ok(axum::Json(v).into_response())
}

#[derive(Deserialize)]
struct Page {
    after: Option<u64>,
    limit: Option<u32>,
}

async fn released(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::Watch).await?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", "limit must be 1..=1000"));
    }
    let rows = state.store.updates_after(&s.id, p.after.unwrap_or(0), limit).await?;
    // Stored bodies are the JSON viewers got; join them without re-encoding.
    let mut out = String::with_capacity(rows.iter().map(|r| r.body.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&r.body);
    }
    out.push(']');
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

async fn media(
    State(state): State<AppState>,
    who: Principal,
    Path(media_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if media_id.len() > 64 {
        return Err(ApiError::not_found("media"));
    }
    let (session_id, content_type, file) =
        state.store.media(&media_id).await?.ok_or_else(|| ApiError::not_found("media"))?;
    let s = state.store.session(&session_id).await?.ok_or_else(|| ApiError::not_found("media"))?;
    authorize(&who, Permission::Watch, Some(&s)).map_err(|_| ApiError::not_found("media"))?;
    let path = state.config.data_dir.join(&file);
    super::range::serve_file(&path, &content_type, &headers, &[(header::CACHE_CONTROL, "private, max-age=3600")])
        .await
        .map_err(ApiError::internal)
}
