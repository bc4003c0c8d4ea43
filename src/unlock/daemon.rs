//! `facegate daemon`: the root service that decides system face unlock. It owns the camera (or
//! the config's replay), the models (loaded once) and the root-owned store, and serves one
//! attempt at a time over a Unix socket. A caller's identity comes from the socket
//! (SO_PEERCRED): root may ask for anyone, anyone else only for their own account.
//!
//! Every decision is the one attempt policy ([`crate::auth::attempt`]): K of N of one tracked
//! face, passive liveness always, the head-turn challenge with its prompts, the persistent
//! escalating lock-out and an audit line in the store. Anything that goes wrong is
//! `Outcome::Ignore`, so the password decides.

use std::io::BufReader;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use facegate_proto::{self as proto, Outcome, Reply, Request};

use super::config::SystemConfig;
use crate::auth::attempt::LivenessCheck;
use crate::camera::{self, ReplayOptions, SourceSpec};
use crate::engine::Engine;
use crate::liveness::Direction;
use crate::runtime::Models;
use crate::store::{Owner, Store};
use crate::{Error, Result};

/// How long a client has to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Daemon {
    config: SystemConfig,
    engine: Engine,
}

/// Who is asking, from the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub uid: u32,
    pub pid: i32,
}

impl Daemon {
    /// Opens the root-owned store (checked with every folder above it) and loads the models.
    pub fn new(config: SystemConfig, models: &Models) -> anyhow::Result<Daemon> {
        super::config::check_parents(&config.store)?;
        let store = Store::open_owned(&config.store, Owner::Root)?;
        let engine = Engine::with_settings(models, store, config.verify.clone())?;
        Ok(Daemon { config, engine })
    }

    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// The listening socket: the one systemd passed (socket activation), else a new one at the
    /// config's path (its folder created 0755; the socket 0666, since a lock screen running as
    /// the user connects too; what it may ask is checked per request).
    pub fn listener(&self) -> anyhow::Result<UnixListener> {
        if let Some(listener) = systemd_socket() {
            return Ok(listener);
        }
        let path = &self.config.socket;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
                std::fs::remove_file(path)?
            }
            Ok(_) => anyhow::bail!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            ),
            Err(_) => {}
        }
        let listener = UnixListener::bind(path)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        Ok(listener)
    }

    /// Serves clients one after another, forever. A client's problem never stops the daemon.
    pub fn serve(&mut self, listener: &UnixListener) {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    if let Err(e) = self.handle(stream) {
                        tracing::warn!("client: {e}");
                    }
                }
                Err(e) => tracing::warn!("accept: {e}"),
            }
        }
    }

    fn handle(&mut self, mut stream: UnixStream) -> std::io::Result<()> {
        let cred = rustix::net::sockopt::socket_peercred(&stream)?;
        let peer = Peer {
            uid: cred.uid.as_raw(),
            pid: cred.pid.as_raw_nonzero().get(),
        };
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        let request: Option<Request> = {
            let mut reader = BufReader::new(&stream);
            proto::receive(&mut reader, proto::MAX_REQUEST_BYTES)?
        };
        let Some(request) = request else {
            return Ok(());
        };
        let verdict = match request {
            Request::Authenticate { user } => self.authenticate(&user, peer, &mut stream),
            Request::Enrolled { user } => match self.check(&user, peer) {
                Ok(()) => verdict(Outcome::Success, format!("{user} is enrolled")),
                Err(v) => v,
            },
        };
        proto::send(&mut stream, &verdict)
    }

    /// Whether `peer` may ask about `user`, and `user` is enrolled with verification images.
    fn check(&mut self, user: &str, peer: Peer) -> std::result::Result<(), Reply> {
        if peer.uid != 0 && uid_of(user) != Some(peer.uid) {
            tracing::warn!(
                "uid {} (pid {}) asked for {user}: refused",
                peer.uid,
                peer.pid
            );
            return Err(verdict(
                Outcome::Ignore,
                "only root may ask for another account".into(),
            ));
        }
        let enrolled = self.engine.store().require_person(user).is_ok()
            && self.engine.gallery(user).is_ok_and(|g| !g.is_empty());
        if !enrolled {
            return Err(verdict(
                Outcome::Ignore,
                format!("{user} is not enrolled for face unlock"),
            ));
        }
        Ok(())
    }

    /// One attempt for `user`, prompts streamed to `out`. The camera is opened only once the
    /// caller is allowed, the user enrolled and not locked out.
    fn authenticate(&mut self, user: &str, peer: Peer, out: &mut UnixStream) -> Reply {
        if let Err(v) = self.check(user, peer) {
            return v;
        }
        let asked = Instant::now();
        let rule = self.engine.unlock_rule();
        let liveness = LivenessCheck::Challenge(self.config.turn.unwrap_or_else(Direction::random));
        let mut attempt = match self.engine.begin_attempt(user, rule, liveness) {
            Ok(a) => a,
            Err(e @ Error::LockedOut { .. }) => return verdict(Outcome::Refused, e.to_string()),
            Err(e) => return ignore(user, &e),
        };
        let spec = match &self.config.replay {
            Some(path) => SourceSpec::Replay(path.clone()),
            None => SourceSpec::camera(self.config.camera),
        };
        let mut source = match camera::open_with(&spec, ReplayOptions::default()) {
            Ok(s) => s,
            Err(e) => return ignore(user, &Error::from(e)),
        };
        let _ = proto::send(
            out,
            &Reply::Prompt {
                text: format!("Looking for {user}…"),
            },
        );
        let opened = asked.elapsed();
        let mut shown = String::new();
        let ran = self
            .engine
            .run_attempt(&mut attempt, source.as_mut(), |prompt| {
                let text = prompt.text();
                if text == shown {
                    return true;
                }
                shown = text.clone();
                // The client gone (PAM gave up, the process was killed): stop looking.
                proto::send(out, &Reply::Prompt { text }).is_ok()
            });
        if let Ok(Some(o)) = &ran {
            log_timing(user, o, opened, asked.elapsed());
        }
        match ran {
            Ok(Some(o)) if o.accepted => verdict(Outcome::Success, format!("{user} recognised")),
            Ok(Some(o)) => verdict(
                Outcome::Refused,
                format!(
                    "Face not recognised: {}",
                    o.refusal.map_or("refused", |r| r.text())
                ),
            ),
            Ok(None) => verdict(Outcome::Ignore, "the client left".into()),
            Err(e) => ignore(user, &e),
        }
    }
}

/// One line per attempt on the daemon's log: where the time went (`make bench-unlock` reads it).
fn log_timing(user: &str, o: &crate::auth::attempt::Outcome, opened: Duration, total: Duration) {
    let at = |s: Option<f32>| s.map_or("-".to_owned(), |s| format!("{s:.3}"));
    eprintln!(
        "facegate daemon: attempt for {user}: {} in {:.3} s; source open {:.3} s, then matched \
         at {} s, turn seen at {} s, ended at {:.3} s; {} frames, {} with a face",
        if o.accepted { "accepted" } else { "refused" },
        total.as_secs_f64(),
        opened.as_secs_f64(),
        at(o.matched_s),
        at(o.turned_s),
        o.seconds,
        o.frames,
        o.frames_with_face,
    );
}

fn verdict(outcome: Outcome, reason: String) -> Reply {
    Reply::Verdict { outcome, reason }
}

fn ignore(user: &str, e: &Error) -> Reply {
    tracing::warn!("face unlock for {user} could not run: {e}");
    verdict(Outcome::Ignore, format!("face unlock unavailable: {e}"))
}

/// The uid of account `user`, from the system's user database.
pub fn uid_of(user: &str) -> Option<u32> {
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
}

/// The listening socket systemd passed (LISTEN_FDS=1 for this process), if any.
fn systemd_socket() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds != 1 {
        return None;
    }
    // SAFETY: systemd hands this process fd 3 (SD_LISTEN_FDS_START) as its listening socket,
    // and nothing else in this process has taken it (it is read once, at start).
    let fd = unsafe { OwnedFd::from_raw_fd(3) };
    // systemd leaves it inheritable; the replay's decoder and anything else this daemon starts
    // must not get a listening socket of the unlock service.
    if let Err(e) = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC) {
        tracing::warn!("could not mark the systemd socket close-on-exec: {e}");
    }
    Some(UnixListener::from(fd))
}

/// Runs `facegate daemon`: config, models, socket, then serve.
pub fn run(config_path: &Path, socket: Option<&Path>, models: &Models) -> anyhow::Result<()> {
    anyhow::ensure!(
        rustix::process::geteuid().is_root(),
        "the unlock daemon runs as root (it reads the root-owned store and config)"
    );
    let mut config = SystemConfig::load(config_path)?;
    for p in &config.problems {
        tracing::warn!("{p}");
    }
    if let Some(s) = socket {
        config.socket = s.to_owned();
    }
    let mut daemon = Daemon::new(config, models)?;
    let listener = daemon.listener()?;
    let address = listener.local_addr()?;
    eprintln!(
        "facegate daemon: listening on {}, store {}, source {}",
        address
            .as_pathname()
            .unwrap_or(&daemon.config().socket)
            .display(),
        daemon.config().store.display(),
        daemon
            .config()
            .replay
            .as_ref()
            .map_or(format!("camera {}", daemon.config().camera), |p| p
                .display()
                .to_string())
    );
    daemon.serve(&listener);
    Ok(())
}

/// One round trip with the daemon at `socket`, as the PAM module makes it: prompts to `prompt`,
/// then the verdict. For `facegate unlock test`.
pub fn ask(
    socket: &Path,
    request: &Request,
    deadline: Duration,
    mut prompt: impl FnMut(&str),
) -> Result<(Outcome, String), std::io::Error> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(deadline))?;
    proto::send(&mut stream, request)?;
    let mut reader = BufReader::new(stream);
    loop {
        match proto::receive::<Reply>(&mut reader, proto::MAX_REPLY_BYTES)? {
            Some(Reply::Prompt { text }) => prompt(&text),
            Some(Reply::Verdict { outcome, reason }) => return Ok((outcome, reason)),
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the daemon closed the connection without a verdict",
                ));
            }
        }
    }
}
