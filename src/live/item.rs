//! What passes through the gates: a held item (redacted, in memory only) and
//! the JSON shapes viewers and controllers receive.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::redaction::{Finding, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Marker,
    Image,
}

/// A cleaned image waiting in memory for its release.
#[derive(Clone)]
pub struct HeldImage {
    pub media_id: String,
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
    /// Every mask painted on it: the publisher's, OCR's, and a controller's.
    pub masks: Vec<ImageMask>,
}

/// One painted rectangle of a held image, for review: `source` is
/// `"caller"`, `"ocr"` or `"review"`; `type` is the detector's PHI type for
/// OCR masks (`"NAME"`, `"MRN"`, …) and `"manual"` otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct ImageMask {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: &'static str,
}

impl HeldImage {
    /// Whether OCR proposed any mask (policy "hold" then waits for approval).
    pub fn ocr_found(&self) -> bool {
        self.masks.iter().any(|m| m.source == "ocr")
    }
}

/// One item in the delay gate. Its text is already redacted; `original` and
/// `findings` exist only for the controllers' review queue and die with it.
#[derive(Clone)]
pub struct Item {
    pub id: String,
    pub kind: Kind,
    /// The redacted text (text), label (marker) or caption (image).
    pub text: Option<String>,
    pub redactions: Vec<Span>,
    pub original: Option<String>,
    pub findings: Vec<Finding>,
    pub image: Option<HeldImage>,
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Wall-clock deadline, fixed at publish (edits keep it).
    pub release_at: DateTime<Utc>,
}

impl Item {
    pub fn flagged(&self) -> bool {
        !self.findings.is_empty() || self.image.as_ref().is_some_and(HeldImage::ocr_found)
    }

    fn text_fields(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let t = self.text.as_deref();
        match self.kind {
            Kind::Text => (t, None, None),
            Kind::Marker => (None, t, None),
            Kind::Image => (None, None, t),
        }
    }

    pub fn image_url(&self) -> Option<String> {
        self.image.as_ref().map(|i| format!("/api/media/{}", i.media_id))
    }

    /// The released update, as stored and as every viewer receives it.
    pub fn released_json(&self, seq: u64, released_at: DateTime<Utc>) -> String {
        let (text, label, caption) = self.text_fields();
        json!({
            "seq": seq,
            "id": self.id,
            "kind": self.kind,
            "text": text,
            "label": label,
            "caption": caption,
            "image_url": self.image_url(),
            "created_at": self.created_at,
            "released_at": released_at,
            "redactions": self.redactions,
        })
        .to_string()
    }

    /// The held view for the publisher's 202 and the controllers' queue.
    pub fn held_json(&self, approved: bool, with_original: bool) -> serde_json::Value {
        let (text, label, caption) = self.text_fields();
        let mut v = json!({
            "id": self.id,
            "kind": self.kind,
            "state": "held",
            "release_at": self.release_at,
            "text": text,
            "label": label,
            "caption": caption,
            "image_url": self.image_url(),
            "redactions": self.redactions,
            "flagged": self.flagged(),
            "approved": approved,
            "created_at": self.created_at,
            "author": self.author,
        });
        if let Some(img) = &self.image {
            v["masks"] = json!(img.masks);
        }
        if with_original {
            v["original"] = json!(self.original);
            v["findings"] = json!(self.findings);
        }
        v
    }
}

/// The live frame for a released update: built from the stored JSON once and
/// shared by every viewer.
pub fn update_frame(seq: u64, stored_update: &str) -> String {
    format!("{{\"type\":\"update\",\"seq\":{seq},\"update\":{stored_update}}}")
}
