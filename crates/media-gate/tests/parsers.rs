//! Parsers and muxers never panic on any input, and the VP8 depacketizer
//! recovers exactly the frames a decoder could use from a lossy stream.

use orgallery_media_gate::h264::{avc_decoder_config, sps_frame_size};
use orgallery_media_gate::keyframe::{h264_keyframe_start, vp8_descriptor, vp8_frame_size, vp8_keyframe_start};
use orgallery_media_gate::webm::VideoTrack;
use orgallery_media_gate::{AudioTrack, H264Depacketizer, Vp8Depacketizer, WebmWriter};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000)
}

/// A VP8 payload descriptor with random optional fields.
fn descriptor() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<u8>(), any::<u8>()).prop_map(
        |(x, i, m, l, tk, a, b)| {
            if !x {
                return vec![0x00];
            }
            let mut ext = 0u8;
            let mut rest = Vec::new();
            if i {
                ext |= 0x80;
                if m {
                    rest.extend([0x80 | (a & 0x7f), b]);
                } else {
                    rest.push(a & 0x7f);
                }
            }
            if l {
                ext |= 0x40;
                rest.push(b);
            }
            if tk {
                ext |= 0x20;
                rest.push(a);
            }
            [vec![0x80, ext], rest].concat()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn keyframe_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = vp8_keyframe_start(&bytes);
        let _ = h264_keyframe_start(&bytes);
        let _ = vp8_frame_size(&bytes);
        if let Some(d) = vp8_descriptor(&bytes) {
            prop_assert!(d.len <= bytes.len());
        }
    }

    #[test]
    fn depacketizers_never_panic(packets in prop::collection::vec((any::<u64>(), any::<u32>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..32)), 0..64)) {
        let mut vp8 = Vp8Depacketizer::new();
        let mut h264 = H264Depacketizer::new();
        for (seq, ts, marker, payload) in &packets {
            let _ = vp8.push(*seq % 64, *ts % 4, *marker, payload);
            let _ = h264.push(*seq % 64, *ts % 4, *marker, payload);
        }
        if let Some((sps, pps)) = h264.parameter_sets() {
            let _ = avc_decoder_config(sps, pps);
            let _ = sps_frame_size(sps);
        }
    }

    #[test]
    fn sps_reader_never_panics(mut bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        if let Some(b) = bytes.first_mut() {
            *b = 0x67;
        }
        let _ = sps_frame_size(&bytes);
    }

    #[test]
    fn webm_writer_never_panics(frames in prop::collection::vec((any::<u64>(), any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..64)), 0..64)) {
        let video = VideoTrack { codec: "V_VP8", width: 1, height: 1 };
        let audio = AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 2 };
        let mut w = WebmWriter::new(Vec::new(), Some(video), Some(audio)).expect("vec");
        for (ts, is_video, key, data) in &frames {
            if *is_video {
                w.write_video(*ts, *key, data).expect("vec");
            } else {
                w.write_audio(*ts, data).expect("vec");
            }
        }
        prop_assert!(!w.finish().expect("vec").is_empty());
    }

    /// Frames are packetized (random descriptors, up to 300 bytes a packet)
    /// and packets lost at random. The depacketizer must output exactly the
    /// frames whose packets all arrived and that follow an unbroken chain
    /// from a key frame, byte for byte.
    #[test]
    fn depacketizer_outputs_exactly_the_decodable_frames(
        frames in prop::collection::vec((prop::bool::weighted(0.2), prop::collection::vec(any::<u8>(), 1..900)), 1..40),
        descs in prop::collection::vec(descriptor(), 1..8),
        loss in prop::collection::vec(prop::bool::weighted(0.05), 0..400),
        seq0 in 0u64..1 << 40,
    ) {
        let mut d = Vp8Depacketizer::new();
        let mut seq = seq0;
        let mut n = 0usize;
        let mut got = Vec::new();
        let mut expected = Vec::new();
        let mut need_key = true;
        for (f, (key, mut bytes)) in frames.into_iter().enumerate() {
            // Bit 0 of the first byte is P, the inverse key frame flag.
            bytes[0] = (bytes[0] & !1) | u8::from(!key);
            let ts = f as u32 * 3000;
            let chunks: Vec<&[u8]> = bytes.chunks(300).collect();
            let mut lost_any = false;
            for (k, chunk) in chunks.iter().enumerate() {
                let mut desc = descs[n % descs.len()].clone();
                if k == 0 {
                    desc[0] |= 0x10; // S, partition 0
                }
                n += 1;
                let lost = loss.get(n).copied().unwrap_or(false);
                let marker = k + 1 == chunks.len();
                if lost {
                    lost_any = true;
                } else if let Some(frame) = d.push(seq, ts, marker, &[&desc[..], chunk].concat()) {
                    got.push((frame.rtp_ts, frame.keyframe, frame.data));
                }
                seq += 1;
            }
            if lost_any {
                need_key = true;
            } else if key || !need_key {
                need_key = false;
                expected.push((ts, key, bytes));
            }
        }
        prop_assert_eq!(got, expected);
    }
}
