//! The socket calls both ends share, each bounded by one deadline that the other end cannot
//! stretch: the client's round trip ([`ask`]: a daemon that hangs before accepting, its queue
//! full, mid-line or forever still lets the login prompt go on to the password when the time is
//! up), and the daemon's read of a request ([`DeadlineReader`]: a client sending a byte now and
//! then cannot hold the one-at-a-time daemon). Used by the PAM module, `facegate unlock test`
//! and the daemon, so there is one client and one set of limits.

use std::io::{self, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

use crate::{self as proto, Outcome, Reply, Request};

/// Time left before `deadline`, or a timeout error once it has passed.
fn left(deadline: Instant) -> io::Result<std::time::Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out());
    }
    Ok(left)
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the deadline passed")
}

/// The address of the Unix socket at `path`, and its length, for connect(2).
pub fn unix_address(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid (empty) address.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a usable socket path",
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

/// Connects to the Unix socket at `path` before `deadline`. std's `UnixStream::connect` cannot
/// be given a limit, and a connect to a listener whose queue is full (a daemon stuck, or a
/// local user flooding the socket) blocks; Linux bounds it by the socket's send timeout, which
/// must be set before connecting.
pub fn connect(path: &Path, deadline: Instant) -> io::Result<UnixStream> {
    let (addr, len) = unix_address(path)?;
    // SAFETY: a plain socket(2) call; the result is checked before use. CLOEXEC: the host
    // program's children must not inherit the connection.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
    let stream = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    stream.set_write_timeout(Some(left(deadline)?))?;
    loop {
        // SAFETY: `addr` is a valid sockaddr_un of at least `len` bytes, NUL-terminated.
        let r = unsafe {
            libc::connect(
                stream.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                len,
            )
        };
        if r == 0 {
            return Ok(stream);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        stream.set_write_timeout(Some(left(deadline)?))?;
    }
}

/// Who is at the other end of a Unix socket, from the kernel (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    /// 0 when the peer is in a pid namespace this process cannot see.
    pub pid: i32,
}

/// Reads the SOL_SOCKET option `option` of `stream` into a value of `T`, a plain-data type
/// whose size is the option's (`initial` is what the kernel overwrites).
fn socket_option<T: Copy>(stream: &UnixStream, option: libc::c_int, initial: T) -> io::Result<T> {
    let mut value = initial;
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` and `len` describe a writable buffer of T's size, and T is plain data.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw mut value).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// The credentials of the process at the other end of `stream`.
pub fn peer(stream: &UnixStream) -> io::Result<Peer> {
    // SAFETY: ucred is plain data; all zeroes is a valid value.
    let zero: libc::ucred = unsafe { std::mem::zeroed() };
    let cred = socket_option(stream, libc::SO_PEERCRED, zero)?;
    Ok(Peer {
        uid: cred.uid,
        pid: cred.pid,
    })
}

/// A handle on the process at the other end of `stream`, as it was when it connected
/// (SO_PEERPIDFD, Linux 6.5 and later). Unlike its pid, a pidfd never comes to name another
/// process, so what is read about the pid can be checked against it ([`has_exited`]).
/// `Ok(None)` where the kernel has no such option; an error when the peer has already exited.
pub fn peer_process(stream: &UnixStream) -> io::Result<Option<OwnedFd>> {
    let fd: libc::c_int = match socket_option(stream, libc::SO_PEERPIDFD, -1) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: the kernel just gave this process the new descriptor `fd`.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Whether the process behind `pidfd` has exited (its pid may then name another process). A
/// pidfd polls readable from the moment its process exits; a failed poll counts as exited.
pub fn has_exited(pidfd: &OwnedFd) -> bool {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `poll` is one valid pollfd; a zero timeout never blocks.
        let r = unsafe { libc::poll(&raw mut poll, 1, 0) };
        if r >= 0 {
            return r > 0;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return true;
        }
    }
}

/// Writes all of `bytes` with MSG_NOSIGNAL: a daemon that closed its end must give an error
/// here, not a SIGPIPE, which would kill the program that loaded the module (sudo, login), since
/// C programs do not ignore it the way Rust programs do.
fn send_all(stream: &UnixStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.set_write_timeout(Some(left(deadline)?))?;
        // SAFETY: `bytes` is a valid buffer of its length.
        let n = unsafe {
            libc::send(
                stream.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Whether the peer has closed its end (or reset it): a client that gave up while its request
/// waited in the queue. Looks without waiting and without taking anything from the stream.
pub fn peer_has_left(stream: &UnixStream) -> bool {
    peer_leaves_within(stream, std::time::Duration::ZERO)
}

/// [`peer_has_left`], waiting up to `wait` for it to: a client that cannot show the prompt
/// just sent hangs up within a moment, and that moment is given before anything counts.
///
/// The hang-up is the socket's own flag (`POLLRDHUP`, `POLLHUP`), not an empty read: bytes a
/// client sent after its request and left unread would hide an end of stream behind them, and
/// a request that hung up so would have counted, or held its place in the queue.
pub fn peer_leaves_within(stream: &UnixStream, wait: std::time::Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    let deadline = std::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&raw mut fds, 1, ms) };
        // A signal cut the wait short: wait out the rest.
        if ready < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        let gone = libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
        return ready > 0 && fds.revents & gone != 0;
    }
}

/// Reads the stream with the time left before the deadline as each read's limit, so a peer
/// sending a byte now and then (or half a line, then nothing) cannot stretch the wait.
pub struct DeadlineReader<'a> {
    stream: &'a UnixStream,
    deadline: Instant,
}

impl<'a> DeadlineReader<'a> {
    pub fn new(stream: &'a UnixStream, deadline: Instant) -> DeadlineReader<'a> {
        DeadlineReader { stream, deadline }
    }
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(left(self.deadline)?))?;
        match (&mut &*self.stream).read(buf) {
            // A receive timeout reads as "would block": say what it is.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(timed_out()),
            other => other,
        }
    }
}

/// Sends `request` to the daemon at `socket`, passing each prompt to `prompt`, and returns its
/// verdict. The daemon must run as `daemon_uid` (root): a socket path in a folder someone else
/// could write to must not let their program answer "success". Every error and the deadline
/// passing are errors; the PAM module turns them into PAM_IGNORE. A prompt that cannot be
/// shown is one too: the connection closes, and the daemon gives up the attempt, since the
/// challenge in it (which way to turn) reached nobody and a head turned by chance must not
/// unlock (red team, session 28: R4).
pub fn ask(
    socket: &Path,
    request: &Request,
    deadline: Instant,
    daemon_uid: u32,
    mut prompt: impl FnMut(&str) -> io::Result<()>,
) -> io::Result<(Outcome, String)> {
    let stream = connect(socket, deadline)?;
    let uid = peer(&stream)?.uid;
    if uid != daemon_uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the process behind the socket runs as uid {uid}, not {daemon_uid}"),
        ));
    }
    let mut line = Vec::new();
    proto::send(&mut line, request)?;
    send_all(&stream, &line, deadline)?;
    let mut reader = BufReader::new(DeadlineReader::new(&stream, deadline));
    loop {
        match proto::receive::<Reply>(&mut reader, proto::MAX_REPLY_BYTES)? {
            Some(Reply::Prompt { text }) => prompt(&text)?,
            Some(Reply::Verdict { outcome, reason }) => return Ok((outcome, reason)),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the daemon closed the connection without a verdict",
                ));
            }
        }
    }
}

/// [`ask`] the unlock daemon as its clients (the PAM module, `facegate unlock test`) must: only
/// at a socket [`crate::trust::check_socket`] trusts, and believing only a root peer. A socket
/// that is not there is `NotFound`, as a failed connect is.
pub fn ask_daemon(
    socket: &Path,
    request: &Request,
    deadline: Instant,
    prompt: impl FnMut(&str) -> io::Result<()>,
) -> io::Result<(Outcome, String)> {
    crate::trust::check_socket(socket).map_err(|e| match e {
        crate::trust::TrustError::Io { source, .. } => source,
        refused => io::Error::new(io::ErrorKind::PermissionDenied, refused.to_string()),
    })?;
    ask(socket, request, deadline, 0, prompt)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Write};
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn socket_path(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pam-facegate-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("d.sock")
    }

    fn ann() -> Request {
        Request::Authenticate { user: "ann".into() }
    }

    fn me() -> u32 {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() }
    }

    /// A fake daemon that reads the request and writes `reply` (raw), then waits `hold`.
    fn fake(tag: &str, reply: &'static [u8], hold: Duration) -> PathBuf {
        let path = socket_path(tag);
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            assert!(line.contains("authenticate"), "{line}");
            (&stream).write_all(reply).unwrap();
            std::thread::sleep(hold);
        });
        path
    }

    #[test]
    fn prompts_then_verdict() {
        let path = fake(
            "ok",
            b"{\"prompt\":{\"text\":\"Looking for ann\"}}\n{\"verdict\":{\"outcome\":\"success\",\"reason\":\"ann recognised\"}}\n",
            Duration::ZERO,
        );
        let mut prompts = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let (outcome, _) = ask(&path, &ann(), deadline, me(), |p| {
            prompts.push(p.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(prompts, ["Looking for ann"]);
    }

    /// A prompt nobody could be shown ends the request there: the verdict after it, even a
    /// success, is never read.
    #[test]
    fn a_prompt_that_cannot_be_shown_ends_the_request() {
        let path = fake(
            "unshown",
            b"{\"prompt\":{\"text\":\"Turn your head\"}}\n{\"verdict\":{\"outcome\":\"success\",\"reason\":\"ann recognised\"}}\n",
            Duration::ZERO,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = ask(&path, &ann(), deadline, me(), |_| {
            Err(io::Error::other("the conversation failed"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("the conversation failed"), "{err}");
    }

    #[test]
    fn a_daemon_of_another_uid_is_not_believed() {
        let path = fake(
            "uid",
            b"{\"verdict\":{\"outcome\":\"success\",\"reason\":\"x\"}}\n",
            Duration::ZERO,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = ask(&path, &ann(), deadline, me().wrapping_add(1), |_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    }

    #[test]
    fn a_daemon_hanging_mid_line_meets_the_deadline() {
        let path = fake("hang", b"{\"prompt\":{\"te", Duration::from_secs(10));
        let start = Instant::now();
        let err = ask(
            &path,
            &ann(),
            start + Duration::from_millis(700),
            me(),
            |_| Ok(()),
        )
        .unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    #[test]
    fn a_daemon_leaving_without_a_verdict_is_an_error() {
        let path = fake("eof", b"{\"prompt\":{\"text\":\"x\"}}\n", Duration::ZERO);
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(ask(&path, &ann(), deadline, me(), |_| Ok(())).is_err());
        let bad = fake("junk", b"{\"verdict\":\"yes\"}\n", Duration::ZERO);
        assert!(ask(&bad, &ann(), deadline, me(), |_| Ok(())).is_err());
    }

    #[test]
    fn no_daemon_is_an_error_at_once() {
        let path = socket_path("none");
        let start = Instant::now();
        assert!(
            ask(&path, &ann(), start + Duration::from_secs(5), me(), |_| Ok(
                ()
            ))
            .is_err()
        );
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_full_listen_queue_cannot_hold_connect_past_the_deadline() {
        let path = socket_path("full");
        let listener = UnixListener::bind(&path).unwrap();
        // A queue of one, never accepted: the first connection fills it.
        // SAFETY: listen(2) on a listening socket only changes its backlog.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let _first = UnixStream::connect(&path).unwrap();
        let start = Instant::now();
        let r = connect(&path, start + Duration::from_millis(500));
        let took = start.elapsed();
        assert!(r.is_err(), "connected to a full queue");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    #[test]
    fn a_peer_trickling_bytes_cannot_stretch_a_read_past_the_deadline() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            // One byte every 100 ms, never a whole line: each read alone would be in time.
            for _ in 0..100 {
                if (&theirs).write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let start = Instant::now();
        let mut reader = BufReader::new(DeadlineReader::new(
            &ours,
            start + Duration::from_millis(500),
        ));
        let err = proto::receive::<Request>(&mut reader, proto::MAX_REQUEST_BYTES).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(took < Duration::from_millis(900), "{took:?}");
    }

    /// A peer that hangs up is seen to have left whatever it sent before and nobody read: the
    /// request line's extra bytes used to hide the end of the stream from a peek.
    #[test]
    fn a_peer_is_seen_to_leave_with_bytes_left_unread() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        assert!(!peer_has_left(&ours), "still there");
        let start = Instant::now();
        assert!(!peer_leaves_within(&ours, Duration::from_millis(100)));
        assert!(start.elapsed() >= Duration::from_millis(90), "waited");
        (&theirs)
            .write_all(b"{\"authenticate\":{}}\nmore\n")
            .unwrap();
        assert!(!peer_has_left(&ours), "bytes waiting are not a hang-up");
        drop(theirs);
        assert!(peer_has_left(&ours), "left, bytes unread");
        assert!(peer_leaves_within(&ours, Duration::from_secs(5)));
    }

    /// A hang-up during the wait ends it at once, not at its end.
    #[test]
    fn a_peer_leaving_during_the_wait_is_seen_at_once() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(theirs);
        });
        let start = Instant::now();
        assert!(peer_leaves_within(&ours, Duration::from_secs(5)));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}
