//! The unlock protocol: JSON lines over the daemon's Unix socket.
//!
//! The client sends one [`Request`] line; the daemon answers with zero or more
//! [`Reply::Prompt`] lines while the attempt runs and ends with one [`Reply::Verdict`] line, then
//! closes. The daemon takes the caller's identity from the socket (SO_PEERCRED, SO_PEERPIDFD)
//! and the process it names (the daemon's `unlock::caller`), never from the request: a request
//! only names whose face to look for.
//!
//! Kept in a crate of its own so the daemon and every client share one definition, and so the
//! PAM module, loaded into every process that authenticates, stays small.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

pub mod mounts;
pub mod socket;
pub mod trust;

/// Text from outside (a user name, a file name, a client's bytes quoted by a parser) for a
/// message or a log line: control characters and the bidi controls that reorder a line are
/// written as escapes (`\n`, `\u{202e}`), so it can neither forge a line nor recolour a
/// terminal; everything else as it is.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            if needs_escape(c) {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Whether [`Escaped`] escapes `c`: a control character, a bidi control or a line or paragraph
/// separator (U+2028, U+2029: a new line to some log viewers).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        )
}

/// Where the daemon listens unless its config says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/facegate/facegate.sock";
/// The system config the daemon and the PAM module read unless told otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/facegate/config.toml";
/// An attempt's time limit (`timeout_s` in the system config) when the config names none.
pub const DEFAULT_TIMEOUT_S: f64 = 8.0;
/// The longest `timeout_s` a system config may set: a login prompt should not wait longer.
pub const SYSTEM_MAX_TIMEOUT_S: f64 = 10.0;
/// The longest time-out a desk attempt may have: past it, a camera left on is a camera watching.
/// Here, beside the system's, so that the lock-out's bound on a running attempt is made from it.
pub const DESK_MAX_TIMEOUT_S: f64 = 60.0;
// The lock-out's bound on a running attempt is made from the desk's, the longer one.
const _: () = assert!(SYSTEM_MAX_TIMEOUT_S <= DESK_MAX_TIMEOUT_S);
/// The shortest: a camera needs a second for the handful of frames an attempt votes on.
pub const MIN_TIMEOUT_S: f64 = 1.0;

/// A time-out of `seconds` within [[`MIN_TIMEOUT_S`], `max_s`]: the one range check of the
/// desk's settings and the system config (NaN and infinities are in no range). The caller says
/// the refusal in its own terms.
pub fn timeout_within(seconds: f64, max_s: f64) -> Option<std::time::Duration> {
    (seconds.is_finite() && (MIN_TIMEOUT_S..=max_s).contains(&seconds))
        .then(|| std::time::Duration::from_secs_f64(seconds))
}

/// The system config's `timeout_s` (or [`DEFAULT_TIMEOUT_S`]), within [[`MIN_TIMEOUT_S`],
/// [`SYSTEM_MAX_TIMEOUT_S`]]: the daemon and the PAM module read the same file and must agree on it.
pub fn system_timeout(timeout_s: Option<f64>) -> Result<std::time::Duration, String> {
    let t = timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
    timeout_within(t, SYSTEM_MAX_TIMEOUT_S).ok_or_else(|| {
        // A value far out of range in plain decimals: 1e-320 was 330 characters (red team s35).
        let t = if t != 0.0 && !(1e-3..1e6).contains(&t.abs()) {
            format!("{t:e}")
        } else {
            t.to_string()
        };
        format!("timeout_s = {t} is outside [{MIN_TIMEOUT_S}, {SYSTEM_MAX_TIMEOUT_S}]")
    })
}
/// How long past the attempt's own limit a client waits for the verdict: the daemon opens the
/// camera and sends its last lines after the attempt's clock stops.
pub const CLIENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The one overall limit on a client's wait for an attempt of `timeout` (from
/// [`system_timeout`]): its limit plus [`CLIENT_GRACE`], never more than [`SYSTEM_MAX_TIMEOUT_S`] +
/// [`CLIENT_GRACE`] (12 s), whatever the daemon does. The PAM module and `facegate unlock test`
/// both wait this long, so the test shows what PAM would get.
pub fn client_deadline(timeout: std::time::Duration) -> std::time::Duration {
    timeout.min(std::time::Duration::from_secs_f64(SYSTEM_MAX_TIMEOUT_S)) + CLIENT_GRACE
}

/// The system config's `socket` (or [`DEFAULT_SOCKET`]): where the module connects and the
/// daemon listens, so both read it through here.
pub fn system_socket(socket: Option<std::path::PathBuf>) -> Result<std::path::PathBuf, String> {
    let socket = socket.unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_SOCKET));
    if socket.is_absolute() {
        Ok(socket)
    } else {
        Err(format!(
            "socket = {}: not an absolute path",
            socket.display()
        ))
    }
}

/// A system config is a few hundred bytes; a longer one is refused.
pub const MAX_CONFIG_BYTES: u64 = 64 << 10;

/// " at line N" for a parse error at byte `at` of `text` (none without a position): how every
/// config and settings reader names where its file is broken. The parser's own text quotes the
/// offending line, which may hold something private and goes to a log; the line number does not.
pub fn at_line(text: &str, at: Option<usize>) -> String {
    at.map_or(String::new(), |at| {
        // Counted in bytes: an offset inside a character (a parser's, after a multi-byte
        // one) must not panic in the PAM module or the daemon.
        let before = &text.as_bytes()[..at.min(text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        format!(" at line {line}")
    })
}

/// Longest request line the daemon reads; a user name is far shorter.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// Longest reply line a client reads.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// One face-unlock attempt for `user`. Root may ask for anyone; any other caller only for
    /// itself.
    Authenticate { user: String },
}

/// How an attempt ended, as PAM needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A live match: the user is authenticated.
    Success,
    /// A face was seen and refused (not recognised, no liveness), or the user is locked out.
    Refused,
    /// Face unlock does not apply (not enrolled, disabled, not allowed, daemon problem): the
    /// next method (the password) decides.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// Something to show the person now ("Turn your head slowly to your LEFT").
    Prompt { text: String },
    /// The end of the attempt, with the reason in words.
    Verdict { outcome: Outcome, reason: String },
}

/// Writes one message as a JSON line and flushes it.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads one JSON line of at most `max` bytes; `Ok(None)` at the end of the stream. A longer line
/// is an error, not an allocation.
pub fn receive<T: for<'de> Deserialize<'de>>(
    input: &mut impl BufRead,
    max: usize,
) -> io::Result<Option<T>> {
    let mut line = Vec::new();
    let mut limited = io::Read::take(&mut *input, max as u64 + 1);
    let read = limited.read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message too long",
        ));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_out_of_range_is_said_readably() {
        let said = system_timeout(Some(1e-320)).unwrap_err();
        assert!(said.starts_with("timeout_s = 1e-320 is outside"), "{said}");
        let said = system_timeout(Some(20.0)).unwrap_err();
        assert!(said.starts_with("timeout_s = 20 is outside"), "{said}");
        assert!(system_timeout(Some(f64::NAN)).is_err());
    }

    #[test]
    fn a_line_is_found_from_any_byte_offset() {
        let text = "a = 1\nname = \"é\"\n";
        assert_eq!(at_line(text, Some(0)), " at line 1");
        // Inside the two bytes of "é": slicing the str there would panic.
        let inside = text.find('é').unwrap() + 1;
        assert_eq!(at_line(text, Some(inside)), " at line 2");
        assert_eq!(at_line(text, Some(10_000)), " at line 3");
        assert_eq!(at_line(text, None), "");
    }

    #[test]
    fn messages_round_trip_as_lines() {
        let mut wire = Vec::new();
        send(&mut wire, &Request::Authenticate { user: "ann".into() }).unwrap();
        send(
            &mut wire,
            &Reply::Prompt {
                text: "Look at the camera".into(),
            },
        )
        .unwrap();
        let text = String::from_utf8(wire.clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let mut input = io::Cursor::new(wire);
        let r: Request = receive(&mut input, MAX_REQUEST_BYTES).unwrap().unwrap();
        assert_eq!(r, Request::Authenticate { user: "ann".into() });
        let p: Reply = receive(&mut input, MAX_REPLY_BYTES).unwrap().unwrap();
        assert!(matches!(p, Reply::Prompt { .. }));
        assert!(
            receive::<Reply>(&mut input, MAX_REPLY_BYTES)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_endless_line_is_refused_without_reading_it_all() {
        let mut input = io::Cursor::new(vec![b'x'; 1 << 20]);
        assert!(receive::<Request>(&mut input, MAX_REQUEST_BYTES).is_err());
        assert!(input.position() <= MAX_REQUEST_BYTES as u64 + 1);
    }
}
