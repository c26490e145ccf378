//! What crosses `orgallery.events.{session}`: each node tells the others
//! what its own viewers were just sent (frames for some of them), what its
//! writer decided (curtain, delay, video), how many viewers it has, and that
//! the session's row changed. Nothing here is unredacted: frames are the
//! same frames this node's viewers receive, and originals never leave the
//! writer's node.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Which viewers a frame is for (the serializable part of `live::To`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum For {
    All,
    Controllers,
    Staff,
    Audience,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusEvent {
    /// A frame (the text of one WebSocket message) for these viewers.
    Frame { to: For, frame: String },
    /// The writer's curtain and delay, and the media engine's video status
    /// (0 none, 1 live, 2 paused) and connected WHEP viewers.
    Status {
        curtain: bool,
        delay_seconds: u32,
        video: u8,
        #[serde(default)]
        video_viewers: usize,
    },
    /// Viewers of the session on the sending node.
    Viewers { count: usize },
    /// The session's row changed (settings, consent, state): read it again.
    Changed,
    /// The patient's identifiers changed: the writer's node reloads them.
    Identifiers,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    #[serde(flatten)]
    event: BusEvent,
}

pub fn encode(node: &str, event: &BusEvent) -> Option<Bytes> {
    serde_json::to_vec(&Envelope { node: node.to_string(), event: event.clone() }).ok().map(Bytes::from)
}

/// The sending node and its event; `None` for anything malformed.
pub fn decode(payload: &[u8]) -> Option<(String, BusEvent)> {
    serde_json::from_slice::<Envelope>(payload).ok().map(|e| (e.node, e.event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_with_their_node() {
        for ev in [
            BusEvent::Frame { to: For::Staff, frame: "{\"type\":\"pulse\"}".into() },
            BusEvent::Status { curtain: true, delay_seconds: 7, video: 2, video_viewers: 3 },
            BusEvent::Viewers { count: 12 },
            BusEvent::Changed,
            BusEvent::Identifiers,
        ] {
            let bytes = encode("node-a", &ev).expect("encodes");
            assert_eq!(decode(&bytes), Some(("node-a".to_string(), ev)));
        }
    }

    #[test]
    fn malformed_events_are_ignored() {
        assert_eq!(decode(b"not json"), None);
        assert_eq!(decode(br#"{"node":"a","kind":"launch"}"#), None);
        assert_eq!(decode(br#"{"kind":"changed"}"#), None);
    }
}
