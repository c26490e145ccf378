//! Sending a peer's datagrams: consecutive datagrams to one address go out
//! in one `sendmsg` with UDP generic segmentation offload (`UDP_SEGMENT`,
//! Linux 4.18+), one system call for a keyframe's burst instead of one per
//! packet; the kernel cuts them back into the same datagrams. Where GSO is
//! refused (another OS, an old kernel, a device without it) every datagram
//! is sent on its own, as before.
//!
//! Written here rather than taken from `quinn-udp`: its socket state turns
//! on GRO, packet info and timestamps on the receive side of the socket,
//! which the engine's plain `recv_from` would then misread (coalesced
//! datagrams). Only the send side is needed.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};

/// Segments in one GSO send, at most (the kernel's limit is 64).
const MAX_SEGMENTS: usize = 64;
/// Bytes in one GSO send, at most (one IP datagram's payload, with room).
const MAX_BYTES: usize = 60_000;

/// Cleared once the kernel refuses `UDP_SEGMENT`: from then on every
/// datagram goes on its own.
static GSO: AtomicBool = AtomicBool::new(cfg!(target_os = "linux"));
/// `ORGALLERY_UDP_GSO=0` sends every datagram on its own (to compare).
static WANTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

fn gso() -> bool {
    GSO.load(Ordering::Relaxed) && *WANTED.get_or_init(|| std::env::var("ORGALLERY_UDP_GSO").as_deref() != Ok("0"))
}

thread_local! {
    /// One batch per sending thread, its buffer kept between uses.
    static BATCH: std::cell::RefCell<Batch> = std::cell::RefCell::new(Batch::default());
}

/// Run `f` with this thread's batch (empty on entry and, after `f`
/// flushed it, on exit).
pub fn with_batch<R>(f: impl FnOnce(&mut Batch) -> R) -> R {
    BATCH.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        // Never nested in practice; a fresh batch keeps it correct anyway.
        Err(_) => f(&mut Batch::default()),
    })
}

/// Datagrams gathered for one destination until [`Batch::flush`].
#[derive(Default)]
pub struct Batch {
    buf: Vec<u8>,
    dest: Option<SocketAddr>,
    /// Size of every segment but the last.
    seg: usize,
    count: usize,
    /// The last segment was shorter: nothing may follow it.
    sealed: bool,
}

impl Batch {
    /// Add one datagram; what was gathered for another destination, or
    /// what this one cannot follow, is sent first. Returns send errors.
    pub fn push(&mut self, socket: &UdpSocket, data: &[u8], dest: SocketAddr) -> u64 {
        let mut errors = 0;
        let fits = self.dest == Some(dest)
            && !self.sealed
            && data.len() <= self.seg
            && self.count < MAX_SEGMENTS
            && self.buf.len() + data.len() <= MAX_BYTES;
        if !fits {
            errors += self.flush(socket);
            self.dest = Some(dest);
            self.seg = data.len();
        }
        self.buf.extend_from_slice(data);
        self.count += 1;
        self.sealed = data.len() < self.seg;
        if !gso() {
            errors += self.flush(socket);
        }
        errors
    }

    /// Send what was gathered. Returns how many datagrams failed.
    pub fn flush(&mut self, socket: &UdpSocket) -> u64 {
        let Some(dest) = self.dest.take() else { return 0 };
        let mut errors = 0;
        if self.count > 1 && gso() {
            match send_segments(socket, &self.buf, self.seg, dest) {
                Ok(()) => {}
                // Refused: GSO is off from now on, and this batch goes datagram by datagram.
                Err(e) if gso_unsupported(&e) => {
                    tracing::info!(error = %e, "UDP segmentation offload refused; sending datagrams one by one");
                    GSO.store(false, Ordering::Relaxed);
                    errors += self.one_by_one(socket, dest);
                }
                Err(_) => errors += self.count as u64,
            }
        } else {
            errors += self.one_by_one(socket, dest);
        }
        self.buf.clear();
        self.count = 0;
        self.sealed = false;
        errors
    }

    fn one_by_one(&self, socket: &UdpSocket, dest: SocketAddr) -> u64 {
        let seg = self.seg.max(1);
        self.buf.chunks(seg).filter(|d| socket.send_to(d, dest).is_err()).count() as u64
    }
}

#[cfg(target_os = "linux")]
fn gso_unsupported(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP))
}

#[cfg(not(target_os = "linux"))]
fn gso_unsupported(_: &std::io::Error) -> bool {
    true
}

/// One `sendmsg` of `buf` as datagrams of `seg` bytes (the last may be shorter).
#[cfg(target_os = "linux")]
fn send_segments(socket: &UdpSocket, buf: &[u8], seg: usize, dest: SocketAddr) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;

    #[repr(C, align(8))]
    struct Control([u8; 32]);

    let seg = u16::try_from(seg).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let addr = socket2::SockAddr::from(dest);
    let mut iov = libc::iovec { iov_base: buf.as_ptr() as *mut libc::c_void, iov_len: buf.len() };
    let mut control = Control([0; 32]);
    // SAFETY: every pointer handed to the kernel points into a value that
    // outlives the call (`addr`, `iov`, `buf`, `control`); the control
    // buffer is aligned for `cmsghdr` and large enough for one `u16`
    // message (CMSG_SPACE(2) = 24 on 64-bit Linux); `sendmsg` only reads.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = addr.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = addr.len();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        }
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = libc::UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, seg);
        if libc::sendmsg(socket.as_raw_fd(), &msg, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn send_segments(_: &UdpSocket, _: &[u8], _: usize, _: SocketAddr) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Everything `rx` receives within a short wait, datagram by datagram.
    fn received(rx: &UdpSocket) -> Vec<Vec<u8>> {
        rx.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
        let mut out = Vec::new();
        let mut buf = [0u8; 70_000];
        while let Ok(n) = rx.recv(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn batched_datagrams_arrive_as_the_same_datagrams_in_order() {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let (a, b) = (UdpSocket::bind("127.0.0.1:0").expect("bind"), UdpSocket::bind("127.0.0.1:0").expect("bind"));
        let (to_a, to_b) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
        let mut batch = Batch::default();
        let mut sent_a = Vec::new();
        // A keyframe's burst: 70 full packets (more than one GSO send), a short last one.
        for i in 0..70u8 {
            let d = vec![i; 1200];
            assert_eq!(batch.push(&tx, &d, to_a), 0);
            sent_a.push(d);
        }
        let last = vec![0xEE; 300];
        batch.push(&tx, &last, to_a);
        sent_a.push(last);
        // A shorter one cannot follow a short one: a new send, then another address.
        let after = vec![0xAB; 200];
        batch.push(&tx, &after, to_a);
        sent_a.push(after);
        let other = vec![7u8; 500];
        batch.push(&tx, &other, to_b);
        assert_eq!(batch.flush(&tx), 0);
        assert_eq!(batch.flush(&tx), 0, "nothing left");
        assert_eq!(received(&a), sent_a);
        assert_eq!(received(&b), vec![other]);
        // Through GSO here, not the fallback (Linux on this machine and CI's).
        #[cfg(target_os = "linux")]
        assert!(GSO.load(Ordering::Relaxed), "the kernel refused UDP_SEGMENT");
    }
}
