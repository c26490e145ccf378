//! The WebM writer's output, parsed back with a tiny EBML reader: structure,
//! track headers, every frame at its timestamp, cluster rules, and that the
//! bytes written so far are always whole elements (kill-safety). An ignored
//! test checks a real VP8 recording with ffprobe/ffmpeg.

use orgallery_media_gate::webm::{VideoTrack, MAX_CLUSTER_MS};
use orgallery_media_gate::{AudioTrack, WebmWriter};

// ---- a tiny EBML reader ----

/// A variable-size integer: (value without the marker, length, all ones).
fn vint(b: &[u8]) -> Option<(u64, usize, bool)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = u64::from(first) & ((1u64 << (8 - len)) - 1);
    for &x in &b[1..len] {
        v = (v << 8) | u64::from(x);
    }
    Some((v, len, v == (1u64 << (7 * len)) - 1))
}

fn id(b: &[u8]) -> Option<(u32, usize)> {
    let (_, len, _) = vint(b)?;
    (len <= 4).then(|| (b[..len].iter().fold(0u32, |a, &x| (a << 8) | u32::from(x)), len))
}

/// The elements of `b`, which must be whole. Only the Segment may have
/// unknown size (it then runs to the end).
fn elements(b: &[u8]) -> Result<Vec<(u32, &[u8])>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let (i, il) = id(&b[pos..]).ok_or(format!("bad id at {pos}"))?;
        let (size, sl, unknown) = vint(&b[pos + il..]).ok_or(format!("bad size at {pos}"))?;
        let start = pos + il + sl;
        let end = if unknown {
            if i != 0x1853_8067 {
                return Err(format!("unknown size on {i:x}"));
            }
            b.len()
        } else {
            start + size as usize
        };
        if end > b.len() {
            return Err(format!("element {i:x} at {pos} cut off"));
        }
        out.push((i, &b[start..end]));
        pos = end;
    }
    Ok(out)
}

fn child<'a>(els: &[(u32, &'a [u8])], want: u32) -> &'a [u8] {
    els.iter().find(|(i, _)| *i == want).unwrap_or_else(|| panic!("no element {want:x}")).1
}

fn uint(b: &[u8]) -> u64 {
    b.iter().fold(0, |a, &x| (a << 8) | u64::from(x))
}

#[derive(Debug, PartialEq)]
struct Block {
    track: u64,
    ts: u64,
    key: bool,
    data: Vec<u8>,
}

struct Parsed {
    doc_type: String,
    timecode_scale: u64,
    tracks: Vec<Vec<(u32, Vec<u8>)>>,
    /// (cluster timecode, blocks)
    clusters: Vec<(u64, Vec<Block>)>,
}

fn parse(file: &[u8]) -> Result<Parsed, String> {
    let top = elements(file)?;
    if top.len() != 2 || top[0].0 != 0x1A45_DFA3 || top[1].0 != 0x1853_8067 {
        return Err("expected EBML then Segment".into());
    }
    let header = elements(top[0].1)?;
    let doc_type = String::from_utf8_lossy(child(&header, 0x4282)).into_owned();
    let seg = elements(top[1].1)?;
    let info = elements(child(&seg, 0x1549_A966))?;
    let timecode_scale = uint(child(&info, 0x2A_D7B1));
    assert_eq!(child(&info, 0x4D80), b"orgallery");
    assert_eq!(child(&info, 0x5741), b"orgallery");
    let mut tracks = Vec::new();
    for (i, entry) in elements(child(&seg, 0x1654_AE6B))? {
        assert_eq!(i, 0xAE);
        tracks.push(elements(entry)?.into_iter().map(|(i, b)| (i, b.to_vec())).collect());
    }
    let mut clusters = Vec::new();
    for (i, body) in &seg {
        if *i != 0x1F43_B675 {
            continue;
        }
        let els = elements(body)?;
        if els.first().map(|e| e.0) != Some(0xE7) {
            return Err("cluster must start with its Timecode".into());
        }
        let tc = uint(els[0].1);
        let mut blocks = Vec::new();
        for (i, b) in &els[1..] {
            assert_eq!(*i, 0xA3, "only SimpleBlocks");
            let (track, tl, _) = vint(b).ok_or("bad block")?;
            let rel = i16::from_be_bytes([b[tl], b[tl + 1]]);
            assert!(rel >= 0);
            blocks.push(Block { track, ts: tc + rel as u64, key: b[tl + 2] & 0x80 != 0, data: b[tl + 3..].to_vec() });
        }
        clusters.push((tc, blocks));
    }
    Ok(Parsed { doc_type, timecode_scale, tracks, clusters })
}

fn vp8_key(n: u32) -> Vec<u8> {
    let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    f.extend_from_slice(&n.to_be_bytes());
    f
}

fn vp8_inter(n: u32) -> Vec<u8> {
    let mut f = vec![0x31, 0x02, 0x00];
    f.extend_from_slice(&n.to_be_bytes());
    f
}

fn tracks() -> (Option<VideoTrack>, Option<AudioTrack>) {
    (
        Some(VideoTrack { codec: "V_VP8", width: 640, height: 480 }),
        Some(AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 2 }),
    )
}

/// 10 s of 30 fps video with a key frame every 2.5 s, and Opus every 20 ms,
/// written in timestamp order; returns the blocks written.
fn write_session(w: &mut WebmWriter<Vec<u8>>, mut after_each: impl FnMut(&[u8])) -> Vec<Block> {
    let mut written = Vec::new();
    let mut events: Vec<(u64, bool)> = (0..300).map(|i| (i * 100 / 3, true)).collect();
    events.extend((0..500).map(|i| (i * 20, false)));
    events.sort();
    for (n, (ts, is_video)) in events.into_iter().enumerate() {
        let n = n as u32;
        if is_video {
            let key = ts % 2_500 < 33;
            let frame = if key { vp8_key(n) } else { vp8_inter(n) };
            w.write_video(ts, key, &frame).unwrap();
            written.push(Block { track: 1, ts, key, data: frame });
        } else {
            let frame = vec![0xFC, n as u8];
            w.write_audio(ts, &frame).unwrap();
            written.push(Block { track: 2, ts, key: true, data: frame });
        }
        after_each(w.get_ref());
    }
    written
}

#[test]
fn a_recording_parses_back_with_every_frame() {
    let (v, a) = tracks();
    let mut w = WebmWriter::new(Vec::new(), v, a).unwrap();
    let written = write_session(&mut w, |_| {});
    let file = w.finish().unwrap();
    let p = parse(&file).unwrap();
    assert_eq!(p.doc_type, "webm");
    assert_eq!(p.timecode_scale, 1_000_000);

    assert_eq!(p.tracks.len(), 2);
    let get = |t: &Vec<(u32, Vec<u8>)>, id: u32| t.iter().find(|(i, _)| *i == id).map(|(_, b)| b.clone());
    let video = &p.tracks[0];
    assert_eq!(get(video, 0xD7), Some(vec![1]));
    assert_eq!(get(video, 0x83), Some(vec![1]));
    assert_eq!(get(video, 0x86).as_deref(), Some(&b"V_VP8"[..]));
    let dims = elements(&get(video, 0xE0).unwrap()).unwrap().into_iter().map(|(i, b)| (i, uint(b))).collect::<Vec<_>>();
    assert_eq!(dims, vec![(0xB0, 640), (0xBA, 480)]);
    let audio = &p.tracks[1];
    assert_eq!(get(audio, 0xD7), Some(vec![2]));
    assert_eq!(get(audio, 0x83), Some(vec![2]));
    assert_eq!(get(audio, 0x86).as_deref(), Some(&b"A_OPUS"[..]));
    let head = get(audio, 0x63A2).unwrap();
    assert_eq!(&head[..8], b"OpusHead");
    assert_eq!(head[9], 2);
    assert_eq!(uint(&get(audio, 0x56AA).unwrap()), 6_500_000);
    assert_eq!(uint(&get(audio, 0x56BB).unwrap()), 80_000_000);
    let params = get(audio, 0xE1).unwrap();
    let params = elements(&params).unwrap();
    assert_eq!(f64::from_be_bytes(child(&params, 0xB5).try_into().unwrap()), 48_000.0);
    assert_eq!(uint(child(&params, 0x9F)), 2);

    // Every frame, in order, at its timestamp.
    let read: Vec<Block> =
        p.clusters.iter().flat_map(|(_, b)| b.iter()).map(|b| Block { data: b.data.clone(), ..*b }).collect();
    assert_eq!(read, written);
    // A cluster per key frame, each starting with it.
    assert_eq!(p.clusters.len(), 4);
    for (tc, blocks) in &p.clusters {
        let first_video = blocks.iter().find(|b| b.track == 1).unwrap();
        assert!(first_video.key);
        assert_eq!(first_video.ts, *tc);
        assert!(blocks.iter().all(|b| b.ts - tc <= MAX_CLUSTER_MS));
    }
}

#[test]
fn whatever_is_written_so_far_is_whole_clusters() {
    let (v, a) = tracks();
    let mut w = WebmWriter::new(Vec::new(), v, a).unwrap();
    let mut seen = Vec::new();
    write_session(&mut w, |bytes| {
        // As if the process were killed here: the file parses, ending on a
        // cluster boundary.
        let p = parse(bytes).unwrap();
        seen.push(p.clusters.len());
    });
    assert_eq!(seen.first(), Some(&0));
    assert_eq!(seen.last(), Some(&3), "the open cluster is not written until the next starts");
    let file = w.finish().unwrap();
    assert_eq!(parse(&file).unwrap().clusters.len(), 4);
}

#[test]
fn clusters_are_cut_every_five_seconds_without_key_frames() {
    let mut w = WebmWriter::new(Vec::new(), None, tracks().1).unwrap();
    for i in 0..1_000u64 {
        w.write_audio(i * 20, &[0xFC]).unwrap();
    }
    let p = parse(&w.finish().unwrap()).unwrap();
    assert_eq!(p.tracks.len(), 1);
    assert_eq!(p.clusters.len(), 4);
    for (tc, blocks) in &p.clusters {
        assert!(blocks.iter().all(|b| b.ts - tc <= MAX_CLUSTER_MS && b.track == 1));
    }
}

#[test]
fn video_starts_at_a_key_frame_and_timestamps_never_go_back() {
    let (v, _) = tracks();
    let mut w = WebmWriter::new(Vec::new(), v, None).unwrap();
    w.write_video(0, false, &vp8_inter(0)).unwrap();
    w.write_audio(0, &[1]).unwrap(); // no audio track: ignored
    w.write_video(40, true, &vp8_key(1)).unwrap();
    w.write_video(30, false, &vp8_inter(2)).unwrap(); // older: raised to 40
    w.write_video(100_000, false, &vp8_inter(3)).unwrap(); // long pause: new cluster
    let p = parse(&w.finish().unwrap()).unwrap();
    let blocks: Vec<(u64, bool)> = p.clusters.iter().flat_map(|(_, b)| b.iter()).map(|b| (b.ts, b.key)).collect();
    assert_eq!(blocks, vec![(40, true), (40, false), (100_000, false)]);
    assert_eq!(p.clusters.len(), 2);
}

#[test]
fn cluster_timecodes_never_go_back_when_audio_leads() {
    let (v, a) = tracks();
    let mut w = WebmWriter::new(Vec::new(), v, a).unwrap();
    w.write_audio(1_000, &[1]).unwrap(); // opens a cluster at 1000
    w.write_video(950, true, &vp8_key(0)).unwrap(); // older, same cluster (no video yet)
    w.write_video(990, false, &vp8_inter(1)).unwrap();
    w.write_video(1_020, true, &vp8_key(2)).unwrap(); // new cluster at 1020
    w.write_audio(1_010, &[2]).unwrap(); // older than that cluster
    let p = parse(&w.finish().unwrap()).unwrap();
    let tcs: Vec<u64> = p.clusters.iter().map(|(tc, _)| *tc).collect();
    assert_eq!(tcs, vec![1_000, 1_020]);
    let blocks: Vec<(u64, u64)> = p.clusters.iter().flat_map(|(_, b)| b.iter()).map(|b| (b.track, b.ts)).collect();
    assert_eq!(blocks, vec![(2, 1_000), (1, 1_000), (1, 1_000), (1, 1_020), (2, 1_020)]);
}

#[test]
fn h264_makes_a_matroska_file_with_its_codec_private() {
    let video = VideoTrack { codec: "V_MPEG4/ISO/AVC", width: 320, height: 240 };
    let avcc = [1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 0, 1, 0, 0];
    let mut w = WebmWriter::with_codec_private(Vec::new(), Some(video), Some(&avcc), tracks().1).unwrap();
    w.write_video(0, true, &[0, 0, 0, 1, 0x65]).unwrap();
    let p = parse(&w.finish().unwrap()).unwrap();
    assert_eq!(p.doc_type, "matroska");
    let private = p.tracks[0].iter().find(|(i, _)| *i == 0x63A2).map(|(_, b)| b.clone());
    assert_eq!(private.as_deref(), Some(&avcc[..]));
    assert_eq!(p.clusters[0].1[0].data, vec![0, 0, 0, 1, 0x65]);
}

#[test]
fn an_empty_recording_is_a_valid_header() {
    let (v, a) = tracks();
    let file = WebmWriter::new(Vec::new(), v, a).unwrap().finish().unwrap();
    let p = parse(&file).unwrap();
    assert!(p.clusters.is_empty());
    assert_eq!(p.tracks.len(), 2);
}

/// Needs ffmpeg with libvpx (Debian's `ffmpeg`):
/// `cargo test -p orgallery-media-gate --test webm -- --ignored`.
/// Encodes 3 s of test video to IVF, muxes its frames (and silent Opus
/// frames) with the writer, and checks ffprobe's view and a full decode, also
/// of a copy cut off in the middle of a cluster.
#[test]
#[ignore = "needs ffmpeg/ffprobe"]
fn ffprobe_reads_a_recording() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("orgallery-webm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ivf = dir.join("in.ivf");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "3"])
        .args(["-c:v", "libvpx", "-g", "30", "-f", "ivf"])
        .arg(&ivf)
        .status()
        .unwrap();
    assert!(status.success());
    let ivf = std::fs::read(&ivf).unwrap();
    let header_len = u16::from_le_bytes([ivf[6], ivf[7]]) as usize;
    let mut frames = Vec::new();
    let mut pos = header_len;
    while pos + 12 <= ivf.len() {
        let len = u32::from_le_bytes(ivf[pos..pos + 4].try_into().unwrap()) as usize;
        frames.push(ivf[pos + 12..pos + 12 + len].to_vec());
        pos += 12 + len;
    }
    let (w0, h0) = orgallery_media_gate::keyframe::vp8_frame_size(&frames[0]).unwrap();
    assert_eq!((w0, h0), (320, 240));

    let path = dir.join("out.webm");
    let video = VideoTrack { codec: "V_VP8", width: w0, height: h0 };
    let audio = AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 1 };
    let mut w = WebmWriter::new(std::fs::File::create(&path).unwrap(), Some(video), Some(audio)).unwrap();
    let mut audio_ts = 0;
    for (i, f) in frames.iter().enumerate() {
        let ts = i as u64 * 1000 / 30;
        while audio_ts <= ts {
            w.write_audio(audio_ts, &[0x08]).unwrap(); // SILK NB 20 ms mono, empty frame
            audio_ts += 20;
        }
        w.write_video(ts, f[0] & 1 == 0, f).unwrap();
    }
    w.finish().unwrap();

    let (probe, text) = probe_streams(&path);
    assert!(probe.status.success(), "{text}{}", String::from_utf8_lossy(&probe.stderr));
    assert!(text.contains("vp8,320,240,90"), "{text}");
    assert!(text.contains("opus"), "{text}");
    let decode =
        Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&path).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "{}", String::from_utf8_lossy(&decode.stderr));

    // Killed mid-cluster: still readable up to the last whole cluster.
    let full = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.webm");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&cut)
        .output()
        .unwrap();
    let n: u32 = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0);
    assert!(n >= 30, "only {n} frames readable from the cut file");
    std::fs::remove_dir_all(&dir).ok();
}

/// Needs ffmpeg with libx264: encodes 3 s of baseline H.264, packetizes it
/// into RTP (single NAL units, STAP-A for SPS+PPS, FU-A above 1 000 bytes),
/// depacketizes it with `H264Depacketizer` and muxes it as Matroska; ffprobe
/// and a full decode must accept the file.
#[test]
#[ignore = "needs ffmpeg/ffprobe"]
fn ffprobe_reads_an_h264_recording() {
    use orgallery_media_gate::h264::{avc_decoder_config, sps_frame_size};
    use orgallery_media_gate::H264Depacketizer;
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("orgallery-mkv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let es = dir.join("in.h264");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30",
            "-t",
            "3",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-x264-params", "slices=1", "-f", "h264"])
        .arg(&es)
        .status()
        .unwrap();
    assert!(status.success());
    let es = std::fs::read(&es).unwrap();
    // Annex B → NAL units → access units (non-VCL units join the next slice).
    let mut nals: Vec<&[u8]> = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i + 3 <= es.len() {
        if es[i..i + 3] == [0, 0, 1] {
            if let Some(s) = start {
                nals.push(&es[s..i]);
            }
            start = Some(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    nals.push(&es[start.unwrap()..]);
    let nals: Vec<Vec<u8>> = nals
        .into_iter()
        .map(|n| {
            let mut n = n.to_vec();
            while n.last() == Some(&0) {
                n.pop();
            }
            n
        })
        .collect();
    let mut units: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
    for n in nals {
        let t = n[0] & 0x1f;
        units.last_mut().unwrap().push(n);
        if t == 1 || t == 5 {
            units.push(Vec::new());
        }
    }
    units.pop();
    assert_eq!(units.len(), 90);

    let mut d = H264Depacketizer::new();
    let mut frames = Vec::new();
    let mut seq = 1_000u64;
    for (k, au) in units.iter().enumerate() {
        let ts = k as u32 * 3000;
        let mut packets: Vec<Vec<u8>> = Vec::new();
        let mut j = 0;
        while j < au.len() {
            let n = &au[j];
            let t = n[0] & 0x1f;
            if t == 7 && j + 1 < au.len() && au[j + 1][0] & 0x1f == 8 {
                let p = &au[j + 1];
                let mut stap = vec![0x78];
                for u in [n, p] {
                    stap.extend_from_slice(&(u.len() as u16).to_be_bytes());
                    stap.extend_from_slice(u);
                }
                packets.push(stap);
                j += 2;
                continue;
            }
            if n.len() <= 1_000 {
                packets.push(n.clone());
            } else {
                let chunks: Vec<&[u8]> = n[1..].chunks(1_000).collect();
                for (c, chunk) in chunks.iter().enumerate() {
                    let mut fu = vec![(n[0] & 0xe0) | 28, t];
                    if c == 0 {
                        fu[1] |= 0x80;
                    }
                    if c + 1 == chunks.len() {
                        fu[1] |= 0x40;
                    }
                    fu.extend_from_slice(chunk);
                    packets.push(fu);
                }
            }
            j += 1;
        }
        let count = packets.len();
        for (p, packet) in packets.into_iter().enumerate() {
            if let Some(f) = d.push(seq, ts, p + 1 == count, &packet) {
                frames.push(f);
            }
            seq += 1;
        }
    }
    assert_eq!(frames.len(), 90);
    assert!(frames[0].keyframe);
    let (sps, pps) = d.parameter_sets().unwrap();
    assert_eq!(sps_frame_size(sps), Some((320, 240)));
    let avcc = avc_decoder_config(sps, pps).unwrap();

    let path = dir.join("out.mkv");
    let video = VideoTrack { codec: "V_MPEG4/ISO/AVC", width: 320, height: 240 };
    let file = std::fs::File::create(&path).unwrap();
    let mut w = WebmWriter::with_codec_private(file, Some(video), Some(&avcc), None).unwrap();
    for (k, f) in frames.iter().enumerate() {
        w.write_video(k as u64 * 1000 / 30, f.keyframe, &f.data).unwrap();
    }
    w.finish().unwrap();
    let (probe, text) = probe_streams(&path);
    assert!(text.contains("h264,320,240,90"), "{text}{}", String::from_utf8_lossy(&probe.stderr));
    let decode =
        Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&path).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "{}", String::from_utf8_lossy(&decode.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

/// ffprobe's codec, size and decoded frame count of each stream, one CSV line each.
fn probe_streams(path: &std::path::Path) -> (std::process::Output, String) {
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout).into_owned();
    (probe, text)
}
