//! `pam_facegate.so`: system face unlock as a PAM module.
//!
//! A thin client with no secrets: it asks the root FaceGate daemon (`facegate daemon`) whether
//! the person at the camera is the user logging in, and relays the daemon's prompts through the
//! PAM conversation. Everything it trusts is root-owned: the config (checked with every folder
//! above it) and the daemon (its uid checked on the socket).
//!
//! ```text
//! auth  sufficient  pam_facegate.so  [config=/etc/facegate/config.toml] [services=sudo,login]
//! ```
//!
//! Returns PAM_SUCCESS only for a live match, PAM_AUTH_ERR when a face was seen and refused (or
//! the user is locked out), and PAM_IGNORE for everything else (not enrolled, a remote session,
//! a PAM service not run at the desk (`config::DEFAULT_SERVICES`),
//! a config someone else could have written, the daemon down, slow or talking nonsense, a bug):
//! face unlock is a convenience, and when it cannot decide, the next module (the password) does.
//! The module never prints: it speaks through the conversation and logs with `pam_syslog`.

mod config;

use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use facegate_proto::socket;
use facegate_proto::{Outcome, Request};
use pam::constants::{PAM_ERROR_MSG, PAM_SILENT, PAM_TEXT_INFO, PamResultCode};
use pam::conv::Conv;
use pam::items::{RHost, Service};
use pam::module::PamHandle;

use config::{Args, Config};

/// Longest prompt shown: the daemon's lines are a few words.
const MAX_PROMPT_CHARS: usize = 200;

const LOG_WARNING: c_int = 4;
const LOG_INFO: c_int = 6;

#[link(name = "pam")]
unsafe extern "C" {
    /// Linux-PAM's logger (pam_ext.h): syslog, facility authpriv, prefixed with the service and
    /// module names. Variadic; called with a fixed "%s" so no text is ever read as a format.
    fn pam_syslog(pamh: *const PamHandle, priority: c_int, fmt: *const c_char, ...);
}

fn log(pamh: *const PamHandle, priority: c_int, message: &str) {
    // Escaped: a reason may quote the user name PAM was given, which is whatever was typed at
    // a login prompt, newlines included (a forged syslog line otherwise).
    let escaped = facegate_proto::Escaped(message).to_string();
    let text = CString::new(escaped).unwrap_or_default();
    // SAFETY: `pamh` is the handle libpam passed to this call; "%s" consumes exactly the one
    // NUL-terminated string passed after it.
    unsafe { pam_syslog(pamh, priority, c"%s".as_ptr(), text.as_ptr()) };
}

/// How one call ends, before it becomes a PAM code.
#[derive(Debug, PartialEq)]
enum Decision {
    Success,
    Refused(String),
    /// Face unlock does not apply or could not run; the reason goes to the log only.
    Ignore(String),
    /// The PAM line itself is wrong (its arguments): as Ignore, logged as a warning for the
    /// administrator who wrote it, not among the routine skips.
    Misconfigured(String),
}

impl Decision {
    fn code(&self) -> PamResultCode {
        match self {
            Decision::Success => PamResultCode::PAM_SUCCESS,
            Decision::Refused(_) => PamResultCode::PAM_AUTH_ERR,
            Decision::Ignore(_) | Decision::Misconfigured(_) => PamResultCode::PAM_IGNORE,
        }
    }
}

/// Daemon text as one line a terminal shows as text: no control characters (no escape
/// sequences, no fake "Password:" on a line of its own), bounded length.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !facegate_proto::needs_escape(*c))
        .take(MAX_PROMPT_CHARS)
        .collect()
}

/// Shows `text` through the application's conversation (a terminal line, a lock-screen label):
/// whether it could. Told why an attempt ended, a conversation that fails changes nothing (the
/// verdict decides); showing the daemon's prompts, it ends the request ([`prompt`]).
fn say(conv: &Conv<'_>, style: c_int, text: &str) -> Result<(), PamResultCode> {
    conv.send(style, &printable(text)).map(drop)
}

/// Shows one of the daemon's prompts. One the application's conversation cannot show ends the
/// request, and the attempt with it: the challenge in it (which way to turn) reached nobody,
/// and a head turned by chance must not open anything (red team, session 28: an application
/// whose conversation failed every message still got the attempt, and a success).
fn prompt(conv: &Conv<'_>, text: &str) -> std::io::Result<()> {
    say(conv, PAM_TEXT_INFO, text).map_err(|code| {
        std::io::Error::other(format!(
            "the application's conversation did not show the prompt ({code:?})"
        ))
    })
}

fn authenticate(pamh: &mut PamHandle, args: &[&str], flags: c_int) -> Decision {
    // The deadline counts from here: reading the config and connecting are part of the wait.
    let start = Instant::now();
    let args = Args::parse(args.iter().copied());
    // A misspelt argument is refused, not dropped: `service=sudo` meant to keep face unlock to
    // sudo, and the default list (login, su, the display managers…) answered instead (red
    // team, session 28: R5). The password decides until the PAM line is mended.
    if !args.unknown.is_empty() {
        return Decision::Misconfigured(format!(
            "module arguments not understood or given twice: {} (known, once each: \
             config=PATH, services=A,B, debug); mend the line",
            args.unknown.join(" ")
        ));
    }
    // Only from pam_get_user: the account PAM is authenticating, never an environment variable
    // or anything the caller could choose separately.
    let user = match pamh.get_user(None) {
        Ok(user) if !user.is_empty() => user,
        Ok(_) => return Decision::Ignore("no user name".into()),
        Err(e) => return Decision::Ignore(format!("pam_get_user failed ({e:?})")),
    };
    // Before anything else (and before the daemon turns a camera on): a remote login is typed
    // by someone who is not at this camera.
    let rhost = match pamh.get_item::<RHost>() {
        Ok(h) => h.map(|h| h.0.to_string_lossy().into_owned()),
        Err(e) => return Decision::Ignore(format!("PAM_RHOST unreadable ({e:?})")),
    };
    if config::is_remote(rhost.as_deref()) {
        return Decision::Ignore(format!("remote session from {}", rhost.unwrap_or_default()));
    }
    let service = match pamh.get_item::<Service>() {
        Ok(s) => s.map(|s| s.0.to_string_lossy().into_owned()),
        Err(e) => return Decision::Ignore(format!("PAM_SERVICE unreadable ({e:?})")),
    };
    if !args.answers(service.as_deref()) {
        return Decision::Ignore(format!(
            "PAM service {:?} is not one face unlock answers (module argument services=)",
            service.unwrap_or_default()
        ));
    }
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(why) => return Decision::Ignore(format!("config refused: {why}")),
    };
    let deadline = start + config.deadline();
    // The daemon's prompts are a challenge to answer (which way to turn), not information, so
    // they are shown under PAM_SILENT too, as a password prompt would be: sudo sets it on every
    // call (sudoers' pam_silent is on by default), and its users were asked to turn their head
    // without being told which way. Without a conversation the challenge reaches nobody, and a
    // head turned by chance must not open anything: the password decides.
    let conv = match pamh.get_item::<Conv>() {
        Ok(Some(conv)) => conv,
        Ok(None) => return Decision::Ignore("no conversation to show the prompts on".into()),
        Err(e) => return Decision::Ignore(format!("PAM_CONV unreadable ({e:?})")),
    };
    let silent = flags as u32 & PAM_SILENT != 0;
    let request = Request::Authenticate { user };
    match socket::ask_daemon(&config.socket, &request, deadline, |text| {
        prompt(&conv, text)
    }) {
        Ok((Outcome::Success, _)) => Decision::Success,
        Ok((Outcome::Refused, reason)) => {
            // The person saw "Looking for…"; tell them why it ended before the password prompt
            // (information, so not under PAM_SILENT).
            if !silent {
                let _ = say(
                    &conv,
                    PAM_ERROR_MSG,
                    &format!("Face unlock refused: {reason}"),
                );
            }
            Decision::Refused(reason)
        }
        Ok((Outcome::Ignore, reason)) => Decision::Ignore(reason),
        Err(e) => Decision::Ignore(format!(
            "no verdict from the daemon at {}: {e}",
            config.socket.display()
        )),
    }
}

/// Module arguments as strings; one that is not UTF-8 is kept as an unknown argument.
///
/// # Safety
/// `argv` holds `argc` pointers to NUL-terminated strings (or null), as libpam passes them.
unsafe fn arguments<'a>(argc: c_int, argv: *const *const c_char) -> Vec<&'a str> {
    if argc <= 0 || argv.is_null() {
        return Vec::new();
    }
    // SAFETY: per this function's contract.
    let raw = unsafe { std::slice::from_raw_parts(argv, argc as usize) };
    raw.iter()
        .filter(|p| !p.is_null())
        // SAFETY: per this function's contract, each non-null entry is a C string.
        .map(|&p| {
            unsafe { CStr::from_ptr(p) }
                .to_str()
                .unwrap_or("<not UTF-8>")
        })
        .collect()
}

/// Runs `body` so that nothing unwinds into libpam's C code (undefined behaviour, and an abort
/// since Rust 1.81, which would kill sudo or the login screen): a panic becomes PAM_IGNORE, so
/// the password still works, and `on_panic` logs it. The panic message itself goes to stderr
/// through Rust's default hook; replacing that process-wide hook from inside a library loaded
/// into someone else's program would be worse, and a panic here is a bug to fix, not a path.
fn contain(body: impl FnOnce() -> PamResultCode, on_panic: impl FnOnce()) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code as c_int,
        Err(payload) => {
            // Dropping a panic payload can itself panic; contain that too.
            let _ = catch_unwind(AssertUnwindSafe(|| drop(payload))).map_err(std::mem::forget);
            let _ = catch_unwind(AssertUnwindSafe(on_panic));
            PamResultCode::PAM_IGNORE as c_int
        }
    }
}

/// [`contain`] with libpam's handle: null (a libpam bug) is IGNORE too.
fn guarded(pamh: *mut PamHandle, body: impl FnOnce(&mut PamHandle) -> PamResultCode) -> c_int {
    // SAFETY: libpam passes a valid handle, used only for the duration of this call.
    let Some(handle) = (unsafe { pamh.as_mut() }) else {
        return PamResultCode::PAM_IGNORE as c_int;
    };
    contain(
        || body(handle),
        || log(pamh, LOG_WARNING, "internal error (panic); ignored"),
    )
}

/// PAM's entry point for `auth` lines.
///
/// # Safety
/// Called by libpam with its handle and the module arguments of the service file's line.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    guarded(pamh, |handle| {
        // SAFETY: libpam's argc/argv, valid for this call.
        let args = unsafe { arguments(argc, argv) };
        let decision = authenticate(handle, &args, flags);
        let (priority, message) = match &decision {
            Decision::Success => (LOG_INFO, "face unlock: live match".to_owned()),
            Decision::Refused(reason) => (LOG_INFO, format!("face unlock refused: {reason}")),
            Decision::Ignore(reason) => (LOG_INFO, format!("face unlock skipped: {reason}")),
            Decision::Misconfigured(reason) => (
                LOG_WARNING,
                format!("face unlock off for this PAM line: {reason}"),
            ),
        };
        log(handle, priority, &message);
        decision.code()
    })
}

/// PAM's entry point for setting credentials: this module sets none. It answers PAM_SUCCESS, as
/// pam_unix does: libpam replays `pam_setcred` along the path `pam_authenticate` took, and when
/// this module's success ended that path (a `sufficient` line), an IGNORE here would let the
/// next module's answer (pam_deny: an error) fail a login that face unlock had granted.
///
/// # Safety
/// Called by libpam with its handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guarded(pamh, |_| PamResultCode::PAM_SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_shown_as_plain_bounded_text() {
        assert_eq!(printable("Turn\x1b[2J your head\n"), "Turn[2J your head");
        assert_eq!(printable(&"x".repeat(10_000)).len(), MAX_PROMPT_CHARS);
    }

    #[test]
    fn only_a_live_match_is_success() {
        assert_eq!(Decision::Success.code(), PamResultCode::PAM_SUCCESS);
        assert_eq!(
            Decision::Refused(String::new()).code(),
            PamResultCode::PAM_AUTH_ERR
        );
        assert_eq!(
            Decision::Ignore(String::new()).code(),
            PamResultCode::PAM_IGNORE
        );
    }

    #[test]
    fn a_null_handle_or_a_panic_is_ignore() {
        let ignore = PamResultCode::PAM_IGNORE as c_int;
        assert_eq!(
            guarded(std::ptr::null_mut(), |_| PamResultCode::PAM_SUCCESS),
            ignore
        );
        let mut logged = false;
        assert_eq!(contain(|| panic!("a bug"), || logged = true), ignore);
        assert!(logged);
        assert_eq!(
            contain(|| PamResultCode::PAM_AUTH_ERR, || unreachable!()),
            PamResultCode::PAM_AUTH_ERR as c_int
        );
    }

    #[test]
    fn arguments_from_c() {
        let a = c"config=/x.toml";
        let ptrs = [a.as_ptr(), std::ptr::null()];
        // SAFETY: two entries, a C string and a null.
        let args = unsafe { arguments(2, ptrs.as_ptr()) };
        assert_eq!(args, ["config=/x.toml"]);
        // SAFETY: a null argv with argc 0 is allowed.
        assert!(unsafe { arguments(0, std::ptr::null()) }.is_empty());
    }
}
