//! The UDP loopback floor: what it costs one thread just to send the same
//! datagram sizes, at the same packet rate, to N sockets that a reader
//! thread waits on (as the viewers do) — no SRTP, no RTP, no WebRTC. Plain
//! `send_to` per datagram, and `sendmmsg` with up to 64 destinations a call.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::proc::thread_self_ns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SendTo,
    Sendmmsg,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::SendTo => "send_to",
            Mode::Sendmmsg => "sendmmsg",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct FloorResult {
    pub datagrams: u64,
    pub errors: u64,
    pub received: u64,
    pub sender_ns: u64,
}

impl FloorResult {
    pub fn ns_per_datagram(&self) -> f64 {
        self.sender_ns as f64 / self.datagrams.max(1) as f64
    }
}

/// Receivers: one current-thread runtime, one task per socket.
fn receivers(
    n: usize,
    recv_buffer: usize,
    stop: Arc<AtomicBool>,
    got: Arc<AtomicU64>,
) -> std::io::Result<(Vec<SocketAddr>, std::thread::JoinHandle<()>)> {
    let mut socks = Vec::with_capacity(n);
    let mut addrs = Vec::with_capacity(n);
    for _ in 0..n {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        let _ = s.set_recv_buffer_size(recv_buffer);
        s.set_nonblocking(true)?;
        let a: SocketAddr = ([127, 0, 0, 1], 0).into();
        s.bind(&a.into())?;
        let s: UdpSocket = s.into();
        addrs.push(s.local_addr()?);
        socks.push(s);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let h = std::thread::Builder::new().name("floor-recv".into()).spawn(move || {
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for s in socks {
                let (stop, got) = (stop.clone(), got.clone());
                tasks.push(tokio::spawn(async move {
                    let Ok(s) = tokio::net::UdpSocket::from_std(s) else { return };
                    let mut buf = vec![0u8; 2048];
                    while !stop.load(Relaxed) {
                        match tokio::time::timeout(Duration::from_millis(100), s.recv_from(&mut buf)).await {
                            Ok(Ok(_)) => {
                                got.fetch_add(1, Relaxed);
                            }
                            Ok(Err(_)) => break,
                            Err(_) => {}
                        }
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    })?;
    Ok((addrs, h))
}

fn send_plain(sock: &UdpSocket, pkt: &[u8], dests: &[SocketAddr], r: &mut FloorResult) {
    for d in dests {
        match sock.send_to(pkt, d) {
            Ok(_) => r.datagrams += 1,
            Err(_) => r.errors += 1,
        }
    }
}

fn sockaddr(a: &SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(v4) = a else { return unsafe { std::mem::zeroed() } };
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut s: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    s.sin_family = libc::AF_INET as libc::sa_family_t;
    s.sin_port = v4.port().to_be();
    s.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
    s
}

fn send_mmsg(sock: &UdpSocket, pkt: &[u8], dests: &[libc::sockaddr_in], r: &mut FloorResult) {
    use std::os::fd::AsRawFd;
    let mut iov = libc::iovec { iov_base: pkt.as_ptr() as *mut libc::c_void, iov_len: pkt.len() };
    for chunk in dests.chunks(64) {
        // SAFETY: zeroed mmsghdr is valid; every pointer set below outlives the call.
        let mut hdrs: [libc::mmsghdr; 64] = unsafe { std::mem::zeroed() };
        for (h, d) in hdrs.iter_mut().zip(chunk) {
            h.msg_hdr.msg_name = d as *const libc::sockaddr_in as *mut libc::c_void;
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut iov;
            h.msg_hdr.msg_iovlen = 1;
        }
        let mut done = 0usize;
        while done < chunk.len() {
            // SAFETY: hdrs[done..chunk.len()] are initialised above; the kernel only reads them (and writes msg_len).
            let n = unsafe {
                libc::sendmmsg(sock.as_raw_fd(), hdrs.as_mut_ptr().add(done), (chunk.len() - done) as libc::c_uint, 0)
            };
            if n <= 0 {
                r.errors += (chunk.len() - done) as u64;
                break;
            }
            done += n as usize;
            r.datagrams += n as u64;
        }
    }
}

/// Send `sizes` (cycled) at `packets_per_second`, each datagram to all `n`
/// receivers, for `secs`; CPU of the sending thread only.
pub fn measure(
    n: usize,
    sizes: &[usize],
    packets_per_second: f64,
    secs: f64,
    mode: Mode,
) -> std::io::Result<FloorResult> {
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicU64::new(0));
    let (dests, rx) = receivers(n, 2 << 20, stop.clone(), got.clone())?;
    let sock = {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        let _ = s.set_send_buffer_size(8 << 20);
        let a: SocketAddr = ([127, 0, 0, 1], 0).into();
        s.bind(&a.into())?;
        let s: UdpSocket = s.into();
        s
    };
    let sizes: Vec<usize> = if sizes.is_empty() { vec![1200] } else { sizes.to_vec() };
    let packets: Vec<Vec<u8>> = sizes.iter().map(|s| (0..*s).map(|i| i as u8).collect()).collect();
    let raw: Vec<libc::sockaddr_in> = dests.iter().map(sockaddr).collect();
    // Let the receivers settle into their waits.
    std::thread::sleep(Duration::from_millis(200));
    let mut r = FloorResult::default();
    let tick = Duration::from_millis(10);
    let per_tick = packets_per_second * tick.as_secs_f64();
    let start = Instant::now();
    let cpu0 = thread_self_ns().unwrap_or(0);
    let mut owed = 0.0;
    let mut k = 0usize;
    let mut next = start;
    while start.elapsed().as_secs_f64() < secs {
        owed += per_tick;
        while owed >= 1.0 {
            let pkt = &packets[k % packets.len()];
            k += 1;
            match mode {
                Mode::SendTo => send_plain(&sock, pkt, &dests, &mut r),
                Mode::Sendmmsg => send_mmsg(&sock, pkt, &raw, &mut r),
            }
            owed -= 1.0;
        }
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    r.sender_ns = thread_self_ns().unwrap_or(0).saturating_sub(cpu0);
    std::thread::sleep(Duration::from_millis(200));
    r.received = got.load(Relaxed);
    stop.store(true, Relaxed);
    let _ = rx.join();
    Ok(r)
}
