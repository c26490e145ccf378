//! What the HTTP edge checks in an SDP offer before the engine sees it, and
//! the trickle-ICE fragments of RFC 8840 that `PATCH` carries. str0m parses
//! the full offer; this only reads what decides the HTTP status.

/// Largest SDP body accepted (an offer is a few KiB).
pub const MAX_SDP_BYTES: usize = 64 * 1024;

/// What an offer asks for, as far as the status codes care.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    pub video: bool,
    pub audio: bool,
    /// A supported video codec is offered (VP8, or H.264 with packetization-mode 1).
    pub video_codec: bool,
    /// Opus is offered.
    pub audio_codec: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("the body is not a session description: {0}")]
    Malformed(String),
    #[error("the offer has no supported codec (VP8, H.264 packetization-mode 1, Opus)")]
    NoCodec,
}

/// Read an offer: its m-lines and whether a codec we forward is in each.
pub fn summarize(offer: &str) -> Result<OfferSummary, SdpError> {
    if !offer.starts_with("v=0") {
        return Err(SdpError::Malformed("it must start with v=0".into()));
    }
    let mut s = OfferSummary::default();
    let mut kind: Option<&str> = None;
    // pt → packetization-mode 1 seen, for H.264 in the current section.
    let mut h264_pts: Vec<String> = Vec::new();
    let mut h264_ok = false;
    let close = |kind: Option<&str>, h264_ok: bool, s: &mut OfferSummary| {
        if kind == Some("video") && h264_ok {
            s.video_codec = true;
        }
    };
    for line in offer.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(m) = line.strip_prefix("m=") {
            close(kind, h264_ok, &mut s);
            h264_pts.clear();
            h264_ok = false;
            let k = m.split(' ').next().unwrap_or("");
            kind = match k {
                "video" => {
                    s.video = true;
                    Some("video")
                }
                "audio" => {
                    s.audio = true;
                    Some("audio")
                }
                _ => Some("other"),
            };
        } else if let Some(rtpmap) = line.strip_prefix("a=rtpmap:") {
            let (pt, enc) = rtpmap.split_once(' ').unwrap_or((rtpmap, ""));
            let codec = enc.split('/').next().unwrap_or("").to_ascii_lowercase();
            match (kind, codec.as_str()) {
                (Some("video"), "vp8") => s.video_codec = true,
                (Some("video"), "h264") => h264_pts.push(pt.to_string()),
                (Some("audio"), "opus") => s.audio_codec = true,
                _ => {}
            }
        } else if let Some(fmtp) = line.strip_prefix("a=fmtp:") {
            let (pt, params) = fmtp.split_once(' ').unwrap_or((fmtp, ""));
            if h264_pts.iter().any(|p| p == pt)
                && params.split(';').any(|p| p.trim().eq_ignore_ascii_case("packetization-mode=1"))
            {
                h264_ok = true;
            }
        }
    }
    close(kind, h264_ok, &mut s);
    if !s.video && !s.audio {
        return Err(SdpError::Malformed("the offer has no audio or video section".into()));
    }
    if !(s.video && s.video_codec || s.audio && s.audio_codec) {
        return Err(SdpError::NoCodec);
    }
    Ok(s)
}

/// A trickle-ICE / ICE-restart fragment (`application/trickle-ice-sdpfrag`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub ufrag: Option<String>,
    pub pwd: Option<String>,
    /// `candidate:...` attribute values (without `a=`).
    pub candidates: Vec<String>,
    pub end_of_candidates: bool,
}

/// Parse a fragment. Only the attributes RFC 8840 allows are read; any line
/// that is not `a=…`, `m=…` or empty is malformed.
pub fn parse_fragment(body: &str) -> Result<Fragment, SdpError> {
    let mut f = Fragment::default();
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with("m=") {
            continue;
        }
        let Some(attr) = line.strip_prefix("a=") else {
            return Err(SdpError::Malformed(format!("unexpected line in the fragment: {:.40}", line)));
        };
        if let Some(v) = attr.strip_prefix("ice-ufrag:") {
            f.ufrag = Some(v.trim().to_string());
        } else if let Some(v) = attr.strip_prefix("ice-pwd:") {
            f.pwd = Some(v.trim().to_string());
        } else if attr.starts_with("candidate:") {
            f.candidates.push(attr.to_string());
        } else if attr == "end-of-candidates" {
            f.end_of_candidates = true;
        }
    }
    if f.ufrag.is_some() != f.pwd.is_some() {
        return Err(SdpError::Malformed("ice-ufrag and ice-pwd go together".into()));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VP8_OPUS: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n";

    #[test]
    fn vp8_and_opus_are_supported() {
        let s = summarize(VP8_OPUS).expect("ok");
        assert!(s.video && s.audio && s.video_codec && s.audio_codec);
    }

    #[test]
    fn h264_needs_packetization_mode_1() {
        let base = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n";
        assert_eq!(summarize(base), Err(SdpError::NoCodec));
        let ok = format!("{base}a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
        assert!(summarize(&ok).expect("ok").video_codec);
    }

    #[test]
    fn unsupported_codecs_and_garbage() {
        let vp9 = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n";
        assert_eq!(summarize(vp9), Err(SdpError::NoCodec));
        assert!(matches!(summarize("hello"), Err(SdpError::Malformed(_))));
        assert!(matches!(summarize("v=0\r\ns=-\r\n"), Err(SdpError::Malformed(_))));
    }

    #[test]
    fn fragments() {
        let f = parse_fragment(
            "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
             a=candidate:1 1 udp 2113929471 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n",
        )
        .expect("ok");
        assert_eq!(f.ufrag.as_deref(), Some("abcd"));
        assert_eq!(f.candidates.len(), 1);
        assert!(f.end_of_candidates);
        assert!(parse_fragment("garbage").is_err());
        assert!(parse_fragment("a=ice-ufrag:x\r\n").is_err());
    }
}
