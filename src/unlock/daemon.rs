//! `facegate daemon`: the root service that decides system face unlock. It owns the camera (or
//! the config's replay), the models (loaded once) and the root-owned store, and serves one
//! attempt at a time over a Unix socket. A caller is the user behind the process the socket
//! vouches for ([`super::caller`]): root may ask for anyone, anyone else only for their own
//! account, through `su` too; how much of the daemon one caller may hold is [`super::turns`]'.
//!
//! Every decision is the one attempt policy ([`crate::auth::attempt`]): K of N of one tracked
//! face, passive liveness always, the head-turn challenge with its prompts, the persistent
//! escalating lock-out and an audit line in the store. Anything that goes wrong is
//! `Outcome::Ignore`, so the password decides.

use std::io::BufReader;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use facegate_proto::socket::DeadlineReader;
use facegate_proto::{self as proto, Outcome, Reply, Request};

use super::account::Holder;
use super::caller::Caller;
use super::config::{Commands, SystemConfig};
use super::gate::{self, verdict};
use super::hush::Hush;
use super::subids::Subordinates;
use super::turns::{Account, AccountTurn, Turns};
use crate::Error;
use crate::auth::lockout::Ended;
use crate::camera::{self, ReplayOptions, SourceSpec};
use crate::engine::Engine;
use crate::engine::attempts::{Purpose, Ran};
use crate::runtime::Models;
use crate::store::Store;

/// How long a client has to send its whole request line. The PAM module writes it as soon as it
/// connects; a client that sends nothing must not hold a reader for long.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a client has to take each prompt line.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Subordinate uid ranges (rootless containers), counted as one caller.
const SUBUID: &str = "/etc/subuid";

/// Requests read and waiting for the camera, at most; one more is answered "busy" at once.
const MAX_QUEUED: usize = 8;

/// A request read and allowed, with its connection, waiting for the camera.
struct Queued {
    stream: UnixStream,
    /// Whom the caller counts as ([`Caller::counted_as`]), for the warnings it can cause.
    uid: u32,
    request: Request,
    /// When the connection was taken: the PAM module's clock started then too, so the attempt's
    /// time-out counts from here, wait for the camera included.
    asked: Instant,
    /// The account's one place in the queue, held until the verdict is sent.
    _turn: AccountTurn,
}

/// Accepts connections forever, each read on a thread of its own while the caller has a
/// reader's place ([`Turns::reader`]).
fn accept_clients(
    listener: &UnixListener,
    queue: &crossbeam_channel::Sender<Queued>,
    hush: Hush,
    store: Option<Arc<Store>>,
    commands: Arc<Commands>,
) {
    let turns = Turns::default();
    let mut subordinates = Subordinates::new(Path::new(SUBUID));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("accept: {e}");
                // Out of file descriptors, say: the error repeats until one is freed, so do not
                // spin on it.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = match proto::socket::peer(&stream) {
            Ok(peer) => peer,
            Err(e) => {
                tracing::warn!("a client without credentials: {e}");
                continue;
            }
        };
        let caller = Caller::of(&stream, peer);
        let uid = subordinates.counted_as(caller.counted_as());
        let place = match turns.reader(uid) {
            Ok(place) => place,
            Err(full) => {
                hush.warn(uid, "turned away", || {
                    format!("{full}; a connection from pid {} turned away", peer.pid)
                });
                // Answered, so the client's log says why rather than that no verdict came (red
                // team s38 F3); without waiting, as nothing of it is read: a client that fills
                // its socket's buffer goes without.
                let busy = verdict(Outcome::Ignore, format!("face unlock is busy: {full}"));
                let _ = stream
                    .set_nonblocking(true)
                    .and_then(|()| proto::send(&mut &stream, &busy));
                continue;
            }
        };
        let (queue, turns, hush, store, commands) = (
            queue.clone(),
            turns.clone(),
            hush.clone(),
            store.clone(),
            commands.clone(),
        );
        let reader = std::thread::Builder::new()
            .name("client".into())
            .spawn(move || {
                let client = Client { caller, uid };
                let daemon = Shared {
                    queue: &queue,
                    turns: &turns,
                    hush: &hush,
                    store: store.as_deref(),
                    commands: &commands,
                };
                if let Err(e) = read_client(stream, &client, &daemon) {
                    hush.warn(uid, "read", || {
                        let why = crate::shown::Escaped(&e.to_string()).to_string();
                        format!("client of uid {uid}: {why}")
                    });
                }
                drop(place);
            });
        if let Err(e) = reader {
            tracing::warn!("cannot start a client thread: {e}");
        }
    }
}

/// Who is on the other end of a connection, and whom they count as.
struct Client {
    caller: Caller,
    uid: u32,
}

/// What every reader thread shares.
struct Shared<'a> {
    queue: &'a crossbeam_channel::Sender<Queued>,
    turns: &'a Turns,
    hush: &'a Hush,
    /// The store, read for the answers that need no camera ([`gate`]); `None` if it could not
    /// be opened a second time (the camera's turn still asks).
    store: Option<&'a Store>,
    /// How the answers' remedies are written (the daemon's config).
    commands: &'a Commands,
}

/// Reads one client's request line (within [`REQUEST_TIMEOUT`]), answers at once what needs no
/// camera (a caller asking about someone else, a caller from another machine or whose process
/// exited, an account not enrolled, locked out or paused, a second attempt for an account, a
/// full queue), and queues the rest. Each of those answers is logged through `hush`: a client
/// can cause them as often as it likes.
fn read_client(mut stream: UnixStream, client: &Client, daemon: &Shared) -> std::io::Result<()> {
    let Client { caller, uid } = client;
    let Shared {
        queue,
        turns,
        hush,
        store,
        commands,
    } = daemon;
    let asked = Instant::now();
    stream.set_write_timeout(Some(PROMPT_TIMEOUT))?;
    let request: Option<Request> = {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        let mut reader = BufReader::new(DeadlineReader::new(&stream, deadline));
        match proto::receive(&mut reader, proto::MAX_REQUEST_BYTES) {
            Ok(request) => request,
            Err(e) => {
                // Answered, so the client says what was wrong, not that the daemon may be
                // down (red team s35 #3: a name of 5000 bytes read as no daemon).
                let why = format!("the request could not be read ({e})");
                let _ = proto::send(&mut stream, &verdict(Outcome::Ignore, why));
                return Err(e);
            }
        }
    };
    let Some(request) = request else {
        return Ok(());
    };
    let Request::Authenticate { user } = &request;
    // A name that is not the caller's own is refused as one with no account, without being
    // looked up ([`Caller::account`]).
    let holder = caller.account(user);
    let account = holder.as_ref().map(Holder::uid);
    if let Err(refused) = may_ask(caller, user, account, hush, *uid) {
        return proto::send(&mut stream, &refused);
    }
    // Judged as the request is read, not after it has waited its turn for the camera, and
    // trusted only if the caller has not exited meanwhile (its pid could name another process).
    if let Some(why) = caller.remote_origin() {
        hush.warn(*uid, "remote", || {
            format!("{}: not at this camera: {why}", logged(user))
        });
        let refused = verdict(Outcome::Ignore, format!("remote session: {why}"));
        return proto::send(&mut stream, &refused);
    }
    if caller.has_exited() {
        // What was read under its pid may have been another process's.
        hush.warn(*uid, "exited", || {
            format!(
                "{}: the caller's process exited before it was judged",
                logged(user)
            )
        });
        let refused = verdict(Outcome::Ignore, "the caller's process exited".into());
        return proto::send(&mut stream, &refused);
    }
    let warn = |kind, line: String| {
        hush.warn(*uid, kind, || line);
    };
    // A store moved or replaced under its path is not answered from: the request goes on to
    // the camera's turn, where the daemon stops on it (the readers said "not enrolled" or
    // "locked" from the old folder, and the daemon never stopped; review s40 #1).
    let store = store.filter(|store| store.data_dir().still_at_its_path().unwrap_or(false));
    if let Some(refused) =
        store.and_then(|store| gate::refusal(store, user, holder.as_ref(), commands, warn))
    {
        return proto::send(&mut stream, &refused);
    }
    let place = account.map_or_else(|| Account::Unknown(user.clone()), Account::Uid);
    let Some(turn) = turns.account(place, &stream) else {
        hush.warn(*uid, "under way", || {
            format!("{}: an attempt is already waiting or running", logged(user))
        });
        let why = format!("a face unlock for {user} is already under way");
        return proto::send(&mut stream, &verdict(Outcome::Ignore, why));
    };
    let queued = Queued {
        stream,
        uid: *uid,
        request,
        asked,
        _turn: turn,
    };
    match queue.try_send(queued) {
        Ok(()) => Ok(()),
        Err(e) => {
            let busy = verdict(Outcome::Ignore, "the face unlock daemon is busy".into());
            proto::send(&mut e.into_inner().stream, &busy)
        }
    }
}

/// Runs `make` under the umask `mask`, then puts root's own back: what it makes gets its mode
/// from the daemon, not from whatever shell started it. (The umask is the process's; the daemon
/// makes its socket before it serves anyone.)
fn with_umask<T>(mask: u32, make: impl FnOnce() -> T) -> T {
    let before = rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    let made = make();
    rustix::process::umask(before);
    made
}

/// The folder the daemon binds its socket in is root's alone: the socket is removed when the
/// daemon stops, and in a folder others may write (a sticky one such as /tmp included) another
/// user could then take its name, and every start after was refused as "another daemon is
/// serving" (red team s36 F1). The PAM module accepts a socket in a sticky folder, since root's
/// own entry there cannot be replaced while it stands.
fn socket_folder_is_roots(dir: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    // `folder: false`: the sticky bit guards root's socket while it stands, not the name it
    // frees when the daemon stops.
    let refused = match meta.is_dir() {
        true => proto::trust::check_owner(dir, meta.uid(), meta.mode(), false)
            .err()
            .map(|e| e.to_string()),
        false => Some(format!(
            "{} is not a folder (face unlock follows no links)",
            crate::shown::Shown(dir)
        )),
    };
    match refused {
        Some(why) => anyhow::bail!(
            "{why}; the socket's folder must be root's and writable by root alone (0755, like \
             /run/facegate, so that others can still reach the socket): the socket goes when the \
             daemon stops, and in a folder others can write another user could take its name; \
             give the config's `socket =` (or --socket) a path in such a folder"
        ),
        None => Ok(()),
    }
}

/// The socket at `path` is in a place of root's alone: its folder root's and writable by root
/// alone ([`socket_folder_is_roots`]), and every folder above it root's, none a link
/// ([`super::config::check_parents`]). One rule for a socket the daemon binds and one systemd
/// passes.
fn socket_place_is_roots(path: &Path) -> anyhow::Result<()> {
    // The folders above and the mount table first: nothing on a user's mount is looked at
    // (diff review s41 #2).
    super::config::check_parents(path)?;
    if let Some(dir) = path.parent() {
        socket_folder_is_roots(dir)?;
    }
    Ok(())
}

/// Said when a folder on the way to the socket at `path` is closed to others (no `x` for them,
/// 0700 say): root's alone, it passes [`socket_place_is_roots`], but a lock screen, which asks
/// as the user, cannot reach the socket, and each of its unlocks falls back to the password
/// with no word of why (review s36 #7). Warned, not refused: sudo and login ask as root.
fn out_of_users_reach(path: &Path) -> Option<String> {
    let mode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.mode() & 0o7777);
    // A folder others cannot enter, or the socket itself (one systemd made with SocketMode=0600)
    // they cannot write: connecting needs both.
    let (closed, what, fix) = match path
        .ancestors()
        .skip(1)
        .find(|dir| mode(dir).is_some_and(|m| m & 0o001 == 0))
    {
        Some(dir) => (dir, "users cannot reach the socket in it", "Make it 0755"),
        None if mode(path).is_some_and(|m| m & 0o002 == 0) => (
            path,
            "users cannot connect to it",
            "Make it 0666 (SocketMode= in facegate.socket)",
        ),
        None => return None,
    };
    Some(format!(
        "{} is {:04o}: {what}, so a lock screen (which asks as the user) gets no face unlock; \
         sudo and login, which ask as root, still do. {fix} if lock screens should unlock too",
        crate::shown::Shown(closed),
        mode(closed)?
    ))
}

fn warn_out_of_users_reach(path: &Path) {
    if let Some(why) = out_of_users_reach(path) {
        tracing::warn!("{why}");
    }
}

/// Removes a socket left at `path` by a daemon that has stopped. One that still answers is
/// another daemon's: taking its path would leave it running unreachable, each thinking it owns
/// the camera. Anything else at the path is not replaced.
fn clear_stale_socket(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            anyhow::ensure!(
                UnixStream::connect(path).is_err(),
                "another daemon is serving {}; stop it first",
                path.display()
            );
            Ok(std::fs::remove_file(path)?)
        }
        Ok(_) => anyhow::bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(_) => Ok(()),
    }
}

/// Whether `caller` may ask about `user`, whose uid is `account` ([`Caller::may_ask_for`]).
fn may_ask(
    caller: &Caller,
    user: &str,
    account: Option<u32>,
    hush: &Hush,
    uid: u32,
) -> std::result::Result<(), Reply> {
    caller.may_ask_for(account).map_err(|why| {
        hush.warn(uid, "refused", || {
            format!(
                "uid {} (pid {}, effective uid {}) asked for {}: refused, {why}",
                caller.user.map_or("?".to_owned(), |u| u.to_string()),
                caller.peer.pid,
                caller.peer.uid,
                logged(user),
            )
        });
        verdict(Outcome::Ignore, why)
    })
}

/// A name from a request as the log shows it: quoted, since it is the caller's and may hold
/// anything (a newline, a forged log line) until the store's name rules have passed it, and cut
/// short (a 4 KiB name of escaped characters made a 10 KB line).
fn logged(user: &str) -> String {
    const SHOWN: usize = 64;
    if user.chars().count() <= SHOWN {
        format!("{user:?}")
    } else {
        let head: String = user.chars().take(SHOWN).collect();
        format!("{head:?}… ({} bytes)", user.len())
    }
}

pub struct Daemon {
    config: SystemConfig,
    engine: Engine,
    /// The warnings its clients can cause, each kind logged a few times a minute ([`Hush`]).
    hush: Hush,
    /// The source of the last attempt, closed after its verdict is sent.
    closing: Option<Box<dyn crate::camera::FrameSource>>,
    /// The config file as it was read: one changed since is not what the daemon applies.
    watch: Arc<ConfigWatch>,
    /// How its answers write the commands they suggest: made once, shared with the readers.
    commands: Arc<Commands>,
    /// The socket file it made, removed when it stops for a changed config as on a signal.
    bound: Option<Bound>,
    /// Why it stops after this answer, where the request was turned away for it: decided once,
    /// so a check that failed for a moment cannot tell the client "the daemon stops" and then
    /// not stop (final read s40 #1).
    stopping: Option<String>,
}

/// The config file, and how it was when the daemon read it.
struct ConfigWatch {
    path: std::path::PathBuf,
    read_as: Option<ConfigStamp>,
}

impl ConfigWatch {
    fn new(path: &Path) -> ConfigWatch {
        ConfigWatch {
            path: path.to_owned(),
            read_as: ConfigStamp::of(path),
        }
    }

    /// Whether the file is no longer the one read at start (edited, replaced, removed): an
    /// edit that made the config invalid, or stricter, went on unlocking with the old one
    /// while `unlock test` and `unlock list` refused the file (journey, session 32). A request
    /// that reaches the camera's turn is then ignored (the password decides), and the daemon
    /// stops after answering it; from facegate.socket, systemd starts it again on the new
    /// file. (What is answered as a request is read, from the store alone, still is.)
    fn changed(&self) -> bool {
        ConfigStamp::of(&self.path) != self.read_as
    }
}

/// What tells a file changed: where it is, its size and when it was last written. Not its
/// ctime: a hard link to it (where protected_hardlinks is off) or a metadata-only tool changes
/// that without changing a word of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConfigStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl ConfigStamp {
    /// None (read as changed) where the file is gone, or a user's file system now lies on its
    /// path: a look there could wait on their server for good (retest s41 N2).
    fn of(path: &Path) -> Option<ConfigStamp> {
        let absolute = std::path::absolute(path).ok()?;
        if !matches!(facegate_proto::mounts::users_mount_at(&absolute), Ok(None)) {
            return None;
        }
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(ConfigStamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
        })
    }
}

/// What a daemon serves that is no longer what it started on.
enum Outdated<'a> {
    Config(&'a Path),
    /// Moved or replaced; or, with the error, its path cannot be checked.
    Store(&'a Path, Option<std::io::Error>),
}

impl Outdated<'_> {
    /// Why a request is ignored, told to its client (the paths are root's).
    fn client_reason(&self) -> &'static str {
        match self {
            Outdated::Config(_) => {
                "face unlock's config changed since the daemon started: the daemon stops, to be \
                 started again on the new file"
            }
            Outdated::Store(_, None) => {
                "face unlock's store is not the folder the daemon started on (moved or \
                 replaced): the daemon stops, to be started again on the folder there now"
            }
            Outdated::Store(_, Some(_)) => {
                "face unlock's store cannot be checked to be the folder the daemon started on: \
                 the daemon stops, to be started again on the folder there now"
            }
        }
    }
}

impl std::fmt::Display for Outdated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outdated::Config(path) => write!(
                f,
                "the config {} changed since the daemon started",
                crate::shown::Shown(path)
            ),
            Outdated::Store(path, None) => write!(
                f,
                "the store {} is not the folder the daemon started on (moved or replaced)",
                crate::shown::Shown(path)
            ),
            Outdated::Store(path, Some(e)) => write!(
                f,
                "the store {} cannot be checked to be the folder the daemon started on ({e})",
                crate::shown::Shown(path)
            ),
        }
    }
}

impl Daemon {
    /// The config file edited or replaced, or the store folder moved away from its path: what
    /// `unlock list`, `enrol` and `reset` now work on is not what this daemon would unlock
    /// with.
    fn outdated(&self) -> Option<Outdated<'_>> {
        if self.watch.changed() {
            Some(Outdated::Config(&self.config.path))
        } else {
            match self.engine.store().data_dir().still_at_its_path() {
                Ok(true) => None,
                Ok(false) => Some(Outdated::Store(&self.config.store, None)),
                Err(e) => Some(Outdated::Store(&self.config.store, Some(e))),
            }
        }
    }

    /// Opens the root-owned store (checked with every folder above it) and loads the models.
    pub fn new(config: SystemConfig, models: &Models) -> anyhow::Result<Daemon> {
        if let Some(replay) = &config.replay {
            super::config::check_replay(replay)?;
        }
        let store = config.open_store()?;
        let engine = Engine::for_unlock(models, store, config.verify.clone())?;
        Ok(Daemon {
            watch: Arc::new(ConfigWatch::new(&config.path)),
            commands: Arc::new(config.commands()),
            config,
            engine,
            hush: Hush::default(),
            closing: None,
            bound: None,
            stopping: None,
        })
    }

    /// What its attempts are for: system unlock within the config's time-out and turn.
    fn purpose(&self) -> Purpose {
        Purpose::SystemUnlock {
            timeout: self.config.timeout,
            turn: self.config.turn,
        }
    }

    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// The listening socket: `passed` by systemd (socket activation), else a new one at the
    /// config's path (its folder created 0755; the socket 0666, since a lock screen running as
    /// the user connects too; what it may ask is checked per request). Either way in a place
    /// of root's alone ([`socket_place_is_roots`]).
    pub fn listener(&self, passed: Option<UnixListener>) -> anyhow::Result<Listening> {
        if let Some(listener) = passed {
            // The module connects to the config's path; a unit listening elsewhere would make
            // every unlock an unexplained Ignore.
            let at = listener.local_addr()?;
            let at = at.as_pathname();
            anyhow::ensure!(
                at == Some(self.config.socket.as_path()),
                "systemd passed a socket at {}, but the config's socket (where the PAM module \
                 connects) is {}: make facegate.socket's ListenStream and `socket =` the same",
                at.map_or("<unnamed>".into(), |p| p.display().to_string()),
                self.config.socket.display()
            );
            // Held to the rule of a socket the daemon binds itself: while facegate.socket is
            // stopped, another user could take a name in /tmp (red team s37 F2), or the owner
            // of a folder above it rename the socket's away (review s37 #5).
            socket_place_is_roots(&self.config.socket)?;
            warn_out_of_users_reach(&self.config.socket);
            return Ok(Listening {
                listener,
                bound: None,
            });
        }
        let path = &self.config.socket;
        // Root creates the folder, and nobody else may be able to swap it or what is in it: a
        // link put in the socket's place would make root bind (and open to everyone) a path
        // someone else chose.
        if let Some(dir) = path.parent() {
            super::config::check_parents(dir)?;
            // Made 0755 whatever root's umask: under 002 the folder made was refused on every
            // start, under 000 left writable by everyone, under 077 out of the users' reach
            // (red team s36 F2). One there already is left as it is.
            with_umask(0o022, || std::fs::create_dir_all(dir))?;
        }
        socket_place_is_roots(path)?;
        clear_stale_socket(path)?;
        // Made 0666 as it is created (through the umask), not chmodded by path afterwards.
        // Named: "path must be shorter than SUN_LEN" did not say which (red team s42 R3).
        let listener = with_umask(0o111, || UnixListener::bind(path)).map_err(|e| {
            // sun_path's 108 bytes, with the closing NUL.
            let long = match path.as_os_str().len() > 107 {
                true => "; a socket path holds at most 107 bytes",
                false => "",
            };
            anyhow::anyhow!(
                "cannot make the socket {}: {e} (`socket =` in the config{long})",
                crate::shown::Shown(path)
            )
        })?;
        // Once it is there: told before, it asked root to make / 0666 when `socket = "/"`,
        // which was then refused as no socket (red team s42 R3).
        warn_out_of_users_reach(path);
        let made = std::fs::symlink_metadata(path)?;
        Ok(Listening {
            listener,
            bound: Some(Bound {
                path: path.clone(),
                file: (made.dev(), made.ino()),
            }),
        })
    }

    /// Serves clients forever. Each connection's request line is read on its own thread, so
    /// connections that send nothing cost their 0.5 s side by side, not one after another; the
    /// requests read then wait their turn for the camera here. A client's problem never stops
    /// the daemon.
    pub fn serve(&mut self, listener: &UnixListener) {
        let (queue, requests) = crossbeam_channel::bounded::<Queued>(MAX_QUEUED);
        let accepting = self.hush.clone();
        // The engine's folder, not the path opened again: a store put in its place between
        // the start and here (the socket is up, so a test or an admin may already act) was
        // read by the readers, who answered "not enrolled" from it while the daemon, which
        // stops on a replaced store, never heard of the request (CI, session 40).
        let store = match self.engine.store().another_handle() {
            Ok(store) => Some(Arc::new(store)),
            Err(e) => {
                tracing::warn!(
                    "the store could not be opened for the readers ({e}): every request waits for the camera's turn to be answered"
                );
                None
            }
        };
        std::thread::scope(|s| {
            let commands = self.commands.clone();
            s.spawn(move || accept_clients(listener, &queue, accepting, store, commands));
            for Queued {
                mut stream,
                uid,
                request,
                asked,
                // Held to the end of the answer: the account's next attempt waits for none.
                _turn,
            } in requests
            {
                // To a client known to be gone, nothing is sent: its leaving is logged already,
                // and each leave also logged a broken pipe (review s36 #11).
                if let Some(verdict) = self.answer(request, &mut stream, uid, asked)
                    && let Err(e) = proto::send(&mut stream, &verdict)
                {
                    self.hush
                        .warn(uid, "verdict", || format!("client of uid {uid}: {e}"));
                }
                drop(stream);
                let stopping = self
                    .stopping
                    .take()
                    .or_else(|| self.outdated().map(|what| what.to_string()));
                if let Some(what) = stopping {
                    // Exits rather than reloads: the new file is checked as at any start, and
                    // nothing of the old one (its model, store or camera) lingers.
                    tracing::warn!(
                        "{what}: stopping (from \
                         facegate.socket, systemd starts it again on what is there now at the \
                         next request; started by hand, start it again: {})",
                        self.commands.daemon()
                    );
                    if let Some(bound) = &self.bound {
                        bound.remove();
                    }
                    std::process::exit(0);
                }
                self.closing = None;
            }
        });
    }

    /// `uid`: whom the caller counts as. `None`: the client has gone, and nothing is sent to
    /// it (its leaving is logged already).
    fn answer(
        &mut self,
        request: Request,
        stream: &mut UnixStream,
        uid: u32,
        asked: Instant,
    ) -> Option<Reply> {
        let Request::Authenticate { user } = request;
        self.authenticate(&user, stream, uid, asked)
    }

    /// Whether `user` may have an attempt now: asked again at its turn for the camera, since
    /// the store may have changed while the request waited, and this time with the engine's
    /// word too ([`gate::status_deep`]: images that do not all show one person, or none of which
    /// load, enrol nobody; damaged settings or a model that fails make face unlock
    /// unavailable). The account is looked up, and its home read, again too: one removed and
    /// made again while the request waited (`userdel -r`, `useradd -m`, the same uid and path)
    /// is told apart only by a fresh reading (final read s34). `uid`: whom the caller counts
    /// as, for the log's limit. The account judged, when there is one.
    fn check(&mut self, user: &str, uid: u32) -> std::result::Result<Option<Holder>, Reply> {
        let account = Holder::of(user);
        let answer = gate::status_deep(&mut self.engine, user, account.as_ref(), &self.commands);
        // Each kind limited on its own ([`gate::reply`]).
        let warn = |kind, line: String| {
            self.hush.warn(uid, kind, || line);
        };
        match gate::reply(user, answer, warn) {
            Some(refused) => Err(refused),
            None => Ok(account),
        }
    }

    /// One attempt for `user`, prompts streamed to `out`, within the time-out from `asked`
    /// (when the request came). The camera is opened only once the caller is allowed, the user
    /// enrolled and not locked out, and the attempt counts toward the lock-out only once the
    /// camera is open.
    fn authenticate(
        &mut self,
        user: &str,
        out: &mut UnixStream,
        uid: u32,
        asked: Instant,
    ) -> Option<Reply> {
        if let Some((why, reason)) = self
            .outdated()
            .map(|what| (what.to_string(), what.client_reason()))
        {
            self.stopping = Some(why);
            return Some(verdict(Outcome::Ignore, reason.into()));
        }
        let account = match self.check(user, uid) {
            Ok(account) => account,
            Err(v) => return Some(v),
        };
        // A client that gave up while its request waited behind another attempt (its deadline
        // passed, it was killed) must not cost the user a lock-out failure.
        if proto::socket::peer_has_left(out) {
            self.hush.warn(uid, "left", || {
                format!("{user}: the client left before its attempt; not counted")
            });
            return None;
        }
        // Each hang-up on the prompt turned the camera on and counted nothing: a caller who
        // did so a few times this minute gets it no more until the minute is out (red team s35
        // #2: forty a second blinked its light and told whether it was busy). One during the
        // attempt is logged as the same kind, and so counts here too.
        // Root's callers (login screens) are not held to it: nobody else can make them hang up,
        // and five cancels would turn face unlock off for every login screen (review s35 #8).
        if uid != 0 && self.hush.spent(uid, HUNG_UP) {
            self.hush.warn(uid, "hang-up limit", || {
                format!(
                    "{user}: the camera is not turned on: uid {uid}'s clients hung up (on the \
                     prompt or during the attempt) {} times within a minute",
                    super::hush::BURST
                )
            });
            return Some(verdict(
                Outcome::Ignore,
                "the client hung up too often in the last minute".into(),
            ));
        }
        // The camera is opened before the attempt counts: one that is unplugged, or held busy
        // by another program (anyone in the video group can), judges no frame, and must not
        // add failures toward the user's lock-out.
        let spec = match &self.config.replay {
            Some(path) => {
                // Again at each attempt, not only at start: in a sticky folder such as /tmp,
                // once root's file is gone another user may put theirs at its name, and it
                // was played for every account (red team s37 F1). Root's own file there
                // cannot be replaced while it stands, so what passes here is what plays.
                if let Err(e) = super::config::check_replay(path) {
                    self.hush
                        .warn(uid, "replay", || format!("replay {e}; not used"));
                    return Some(verdict(
                        Outcome::Ignore,
                        "the config's replay is not used for face unlock".into(),
                    ));
                }
                SourceSpec::Replay(path.clone())
            }
            None => {
                // Only a camera with a lens: a virtual one shows what a program writes.
                let refused = match camera::v4l2::query(self.config.camera) {
                    Ok(node) => node.not_a_lens(),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(why) = refused {
                    self.hush.warn(uid, "camera", || {
                        format!("camera {}: {why}; not used", self.config.camera)
                    });
                    return Some(verdict(
                        Outcome::Ignore,
                        format!(
                            "camera {} is not used for face unlock: {why}",
                            self.config.camera
                        ),
                    ));
                }
                SourceSpec::camera(self.config.camera)
            }
        };
        let opening = Instant::now();
        let mut source = match camera::open_with(&spec, ReplayOptions::default()) {
            Ok(s) => match &self.config.replay {
                Some(path) => Box::new(CheckedReplay {
                    inner: s,
                    path: path.clone(),
                }),
                None => s,
            },
            Err(e) => return Some(self.ignore(uid, user, &Error::from(e))),
        };
        // Timed here: taken at the attempt's start, it held the hang-up's moment and the
        // loading of the gallery and models too (review s35 #3).
        let camera = Opened {
            at: opening,
            took: opening.elapsed(),
        };
        let asking = Asking {
            caller: uid,
            account: account.as_ref().map(Holder::uid),
        };
        let reply = self.attempt_on(user, asking, out, asked, source.as_mut(), camera);
        // Closed once the verdict is sent: closing a wedged camera waits up to 2 s, and the
        // PAM client gives up 2 s after the time-out (read-through, session 29).
        self.closing = Some(source);
        reply
    }

    /// The attempt itself, on `source` opened as `camera` says: counted once the client has had
    /// its moment to hang up ([`authenticate`](Self::authenticate) has the rest). For `user`,
    /// as `asking`.
    fn attempt_on(
        &mut self,
        user: &str,
        asking: Asking,
        out: &mut UnixStream,
        asked: Instant,
        source: &mut dyn crate::camera::FrameSource,
        camera: Opened,
    ) -> Option<Reply> {
        // Queued behind another attempt (or a slow camera), the PAM module's clock ran on: an
        // attempt with too little of it left would count a failure the user had no fair chance
        // to avoid.
        let left = self.config.timeout.saturating_sub(asked.elapsed());
        if left < fair_attempt(self.config.timeout) {
            tracing::warn!("{user}: {left:.1?} left once the camera was open; not counted");
            return Some(verdict(
                Outcome::Ignore,
                "waited too long for the camera behind another attempt".into(),
            ));
        }
        // Said, and a moment given for the client to hang up, before the attempt counts: a PAM
        // application whose conversation cannot show it leaves at once (the challenge to come
        // would reach nobody), and that must cost the user nothing. Said after the attempt
        // began, the first frame was judged before the hang-up was seen, and the owner's
        // matching face counted as a failure (red team retest, session 28: N1).
        let _ = proto::send(
            out,
            &Reply::Prompt {
                text: format!("Looking for {user}…"),
            },
        );
        if proto::socket::peer_leaves_within(out, CLIENT_HANG_UP) {
            self.hush.warn(asking.caller, HUNG_UP, || {
                format!("{user}: the client hung up on the prompt; not counted")
            });
            return None;
        }
        let (rule, liveness) = self.engine.attempt_for(self.purpose());
        let mut attempt = match self.engine.begin_attempt_at(user, rule, liveness, asked) {
            Ok(a) => match asking.account {
                Some(uid) => a.for_account(uid),
                None => a,
            },
            Err(e @ Error::LockedOut { lock, .. }) => {
                // Started since the check (attempts elsewhere ran out): logged as the gate's
                // lock refusals are (final read s34).
                tracing::warn!("{}", gate::refused_locked(user, lock));
                return Some(verdict(Outcome::Refused, e.to_string()));
            }
            Err(e) => return Some(self.ignore(asking.caller, user, &e)),
        };
        let mut shown = String::new();
        let ran = self.engine.run_attempt(&mut attempt, source, |prompt| {
            // The client gone (PAM gave up, the process was killed): stop looking, and
            // free the camera for whoever waits. Looked at every frame, since a prompt that
            // does not change is not sent again, so no failed send would tell.
            let text = prompt.public_text();
            if text == shown {
                return !proto::socket::peer_has_left(out);
            }
            shown = text.clone();
            proto::send(out, &Reply::Prompt { text }).is_ok()
        });
        if let Ok(Ran::Done(o)) = &ran {
            log_timing(user, o, camera.at.duration_since(asked), camera.took);
        }
        match ran {
            Ok(Ran::Done(o)) if o.accepted => {
                Some(verdict(Outcome::Success, format!("{user} recognised")))
            }
            // The reason alone: the module says "Face unlock refused: " before it, on the
            // screen and in the log (both had it twice).
            Ok(Ran::Done(o)) => Some(verdict(
                Outcome::Refused,
                o.refusal
                    .map_or("not verified", |r| r.public_text())
                    .to_owned(),
            )),
            Ok(Ran::Left(ended)) => {
                // Said as the hang-up on the prompt is, and under its limit: the log had only a
                // broken pipe, and five such led to a lock-out with no failure before it
                // (red team s36 F4). As the engine settled it.
                let counted = match ended {
                    Ended::Refused => "a face was compared, so it counts as a failed attempt",
                    Ended::Unjudged => {
                        "no face was judged: not a failure, but one of the attempts that pause \
                         face unlock when five in a row see nobody"
                    }
                    other => other.as_str(),
                };
                self.hush.warn(asking.caller, HUNG_UP, || {
                    format!("{user}: the client left during the attempt; {counted}")
                });
                None
            }
            Err(e) => Some(self.ignore(asking.caller, user, &e)),
        }
    }

    /// The reply to an attempt that could not be made (`e`), logged under the limit on what
    /// the caller `uid` can have logged: a camera held busy failed every request, each a line
    /// (red team s35 #1).
    fn ignore(&self, uid: u32, user: &str, e: &Error) -> Reply {
        gate::unavailable(user, &e.to_string(), |line| {
            self.hush.warn(uid, "unavailable", || line);
        })
    }
}

/// The config's replay, checked again before each frame it gives
/// ([`super::config::check_replay_place`]): a clip shorter than the attempt is opened again by name
/// as it loops, and a folder's frames are read by name, so the check as the attempt began did
/// not hold to its end (final read s37 #7). A frame that fails it ends the attempt's frames.
struct CheckedReplay {
    inner: Box<dyn camera::FrameSource>,
    path: PathBuf,
}

impl CheckedReplay {
    fn checked(&self, frame: camera::Frame) -> Result<camera::Frame, camera::SourceError> {
        super::config::check_replay_place(&self.path).map_err(|e| {
            camera::SourceError::UnreadableClip {
                path: self.path.clone(),
                reason: format!("no longer root's own ({e})"),
            }
        })?;
        Ok(frame)
    }
}

impl camera::FrameSource for CheckedReplay {
    fn next_frame(&mut self) -> Result<camera::Frame, camera::SourceError> {
        let frame = self.inner.next_frame()?;
        self.checked(frame)
    }
    fn next_frame_within(&mut self, wait: Duration) -> Result<camera::Frame, camera::SourceError> {
        let frame = self.inner.next_frame_within(wait)?;
        self.checked(frame)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn nominal_fps(&self) -> Option<f32> {
        self.inner.nominal_fps()
    }
}

/// When the source began to open for an attempt, and how long it took.
#[derive(Clone, Copy)]
struct Opened {
    at: Instant,
    took: Duration,
}

/// Who an attempt is for: the uid of the caller (what it can have logged is limited by it) and
/// of the account, when there is one (on the audit line).
#[derive(Clone, Copy)]
struct Asking {
    caller: u32,
    account: Option<u32>,
}

/// The kind of the log's line for a client that hung up on the prompt ([`Hush`]): past its
/// limit, the camera is not turned on for that caller either.
const HUNG_UP: &str = "hung up";

/// How long a client is given to hang up on "Looking for…" before its attempt counts: the
/// PAM module does so within a millisecond when its conversation fails.
const CLIENT_HANG_UP: Duration = Duration::from_millis(50);

/// The least time an attempt is started with: 3 s (a match and a head turn take about 1.6 s),
/// or half a shorter time-out.
fn fair_attempt(timeout: Duration) -> Duration {
    (timeout / 2).min(Duration::from_secs(3))
}

/// One line per attempt on the daemon's log: where the time went (`make bench-unlock` reads it),
/// every time from the request: the camera began to open `waited` in (its turn, and the checks
/// at it), and took `opened`. (It gave the time from the camera's opening beside an end from
/// the request, which read as ending after it was over; and "-" for a match never seen;
/// journey s35.)
fn log_timing(user: &str, o: &crate::auth::attempt::Outcome, waited: Duration, opened: Duration) {
    let at = |what: &str, s: Option<f32>| {
        s.map_or(format!("no {what}"), |s| format!("{what} at {s:.3} s"))
    };
    let verdict = match (o.accepted, o.refusal) {
        (true, _) => "accepted".to_owned(),
        (false, Some(r)) => format!("refused ({})", r.text()),
        (false, None) => "refused".to_owned(),
    };
    tracing::info!(
        "attempt for {user}: {verdict} {:.3} s after its request (the camera began to open at \
         {:.3} s and took {:.3} s); {}, {}; {} frames, {} with a face",
        o.seconds,
        waited.as_secs_f64(),
        opened.as_secs_f64(),
        at("match", o.matched_s),
        at("turn seen", o.turned_s),
        o.frames,
        o.frames_with_face,
    );
}

/// Where the daemon listens: systemd's socket, or one it bound itself (`bound`), which is its
/// own to remove when it stops.
pub struct Listening {
    pub listener: UnixListener,
    bound: Option<Bound>,
}

/// A socket file the daemon made: its path, and the file's (device, inode) as made.
#[derive(Clone)]
struct Bound {
    path: PathBuf,
    file: (u64, u64),
}

impl Bound {
    /// Removes the socket file if it is still the one the daemon made; whether it did.
    fn remove(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.file)
            && std::fs::remove_file(&self.path).is_ok()
    }
}

/// Stops the daemon on SIGTERM or SIGINT (`systemctl stop`, Ctrl-C, `kill`) with a line on its
/// log, removing the socket file it made if that is still the one at the path: it stopped in
/// silence and left the file behind (journey s35 #8). An attempt under way is cut short; its
/// PAM client goes on to the password, and it counts as a failed attempt, as any attempt
/// killed before its end does.
fn stop_on_signals(bound: Option<Bound>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            let removed = bound.as_ref().filter(|b| b.remove());
            match removed {
                Some(b) => tracing::info!("stopping on {name}; removed {}", b.path.display()),
                None => tracing::info!("stopping on {name}"),
            }
            // At once, without running exit handlers: `exit` tore ONNX Runtime down under an
            // attempt still inferring, which then logged a damaged model ("run `make setup`")
            // and settled as refused (red team s36 F3). Cut here, it stays counted as begun, as
            // a killed attempt does. The log's lines are written unbuffered.
            // SAFETY: _exit(2) ends the process; nothing after it runs.
            unsafe { libc::_exit(0) };
        })?;
    Ok(())
}

/// The listening socket systemd passed (LISTEN_FDS=1 for this process), if any. Taken before
/// the daemon opens anything: were fd 3 closed, the daemon's own first file would be there.
fn systemd_socket() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds != 1 {
        return None;
    }
    // Owned only once it is known to be a socket: an fd 3 not open (LISTEN_FDS set by hand)
    // aborted the daemon when its OwnedFd was closed.
    // SAFETY: fd 3 is only looked at here; an fd that is not open fails fstat.
    let passed = unsafe { rustix::fd::BorrowedFd::borrow_raw(3) };
    if !rustix::fs::fstat(passed)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_socket())
    {
        // Whatever it is, the replay's decoder does not inherit it.
        let _ = rustix::io::fcntl_setfd(passed, rustix::io::FdFlags::CLOEXEC);
        tracing::warn!("LISTEN_FDS=1, but fd 3 is not a socket: ignored");
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
    let passed = systemd_socket();
    raise_priority();
    // Stamped before it is read: an edit while the models load is a change too.
    let watch = ConfigWatch::new(config_path);
    let mut config = SystemConfig::load(config_path)?;
    if let Some(s) = socket {
        anyhow::ensure!(
            s.is_absolute(),
            "--socket {}: give an absolute path",
            s.display()
        );
        config.socket = s.to_owned();
    }
    let mut daemon = Daemon::new(config, models)?;
    daemon.watch = Arc::new(watch);
    // Before anything is bound or ended: a second daemon on the same store stops here,
    // whatever socket it was given, and touches neither the first's socket nor its attempts.
    let Some(_attempts) = daemon.engine.store().hold_for_attempts()? else {
        anyhow::bail!(
            "another daemon is serving the store {} (perhaps on another --socket); stop it \
             first: two daemons on one store would each count the other's running attempts \
             as failed",
            crate::shown::Shown(&daemon.config().store)
        );
    };
    let Listening { listener, bound } = daemon.listener(passed)?;
    daemon.bound = bound.clone();
    daemon.engine.end_attempts_left_running()?;
    stop_on_signals(bound)?;
    let address = listener.local_addr()?;
    // The rule as applied, so a looser [verify] raised to the unlock floors is visible.
    tracing::info!(
        "listening on {}, store {}, source {}, unlock rule {}",
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
                .to_string()),
        daemon.engine.attempt_for(daemon.purpose()).0
    );
    if !daemon.config().raised.is_empty() {
        tracing::warn!(
            "{}: [verify] is looser than face unlock allows, which uses its least instead: {} \
             (measured in docs/unlock-defaults.md)",
            config_path.display(),
            daemon.config().raised.join(", ")
        );
    }
    daemon.serve(&listener);
    Ok(())
}

/// The daemon's nice value: ahead of every user's processes, whose own can only be raised.
const NICE: i32 = -10;

/// Runs the daemon at [`NICE`] unless it runs ahead of that already. Any local user can keep
/// the CPUs busy; at their priority, the owner's attempt judged too few frames to see the head
/// turn before its time-out, and five such refusals locked face unlock (red team, session 29:
/// R6-1). The service's `CPUWeight` does the same between cgroups, where systemd has the cpu
/// controller on; this holds without it. Best effort: a failure is logged.
///
/// Linux keeps a nice value per thread, and a thread takes its creator's: this runs first, on
/// the only thread, so the camera's, ONNX Runtime's and the clients' threads all start at it
/// (tests/pam_stack.rs reads every thread's).
fn raise_priority() {
    let now = rustix::process::getpriority_process(None).unwrap_or(0);
    if now <= NICE {
        return;
    }
    match rustix::process::setpriority_process(None, NICE) {
        Ok(()) => tracing::info!("running at nice {NICE}"),
        Err(e) => tracing::warn!("cannot run at nice {NICE} (still {now}): {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unlock::caller::testing;

    /// A socket folder others cannot enter is said, with its mode; one they can is not.
    #[test]
    fn a_socket_folder_closed_to_users_is_said() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        let socket = run.join("facegate.sock");
        let said = out_of_users_reach(&socket).expect("0700 is out of reach");
        println!("{said}");
        assert!(
            said.contains("is 0700") && said.contains("lock screen"),
            "{said}"
        );
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A socket systemd made 0600: in reach, but not to connect to.
        std::fs::write(&socket, b"").unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
        let said = out_of_users_reach(&socket);
        println!("{said:?}");
        // The folders above the temporary one are the machine's own: only where users can
        // enter them (/tmp is 1777) does the socket's own mode decide.
        if said
            .as_deref()
            .is_some_and(|s| s.contains("facegate.sock is 0600"))
        {
            std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
            assert_eq!(out_of_users_reach(&socket), None);
        } else {
            println!(
                "NOTICE: a folder above {} is closed to users",
                run.display()
            );
        }
    }

    /// A replay that stops being root's own mid-attempt gives no more frames: the check
    /// as the attempt began did not cover what is read by name after (final read s37 #7). Root
    /// only: the replay must be root's to pass at all.
    #[test]
    fn a_replay_that_stops_being_roots_gives_no_more_frames() {
        if !rustix::process::geteuid().is_root() {
            println!("NOTICE: not root; the replay's check is not exercised");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        for i in 0..2 {
            image::RgbImage::new(8, 8)
                .save(frames.join(format!("f{i}.png")))
                .unwrap();
        }
        let spec = SourceSpec::Replay(frames.clone());
        let options = ReplayOptions {
            paced: false,
            ..ReplayOptions::default()
        };
        let mut replay = CheckedReplay {
            inner: camera::open_with(&spec, options).unwrap(),
            path: frames.clone(),
        };
        assert!(camera::FrameSource::next_frame(&mut replay).is_ok());
        // As if root's folder were gone and another user's made at its name.
        std::os::unix::fs::chown(&frames, Some(65534), None).unwrap();
        let said = camera::FrameSource::next_frame(&mut replay)
            .unwrap_err()
            .to_string();
        println!("{said}");
        assert!(said.contains("no longer root's own"), "{said}");
    }

    /// A caller read as root while it was there, whose process exits before its request is
    /// judged: what was read under its pid may be another process's, so it is not queued.
    #[test]
    fn a_socket_still_served_is_not_taken_and_a_stale_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let serving = UnixListener::bind(&path).unwrap();
        let refused = clear_stale_socket(&path).unwrap_err().to_string();
        println!("{refused}");
        assert!(
            refused.starts_with("another daemon is serving"),
            "{refused}"
        );
        drop(serving);
        clear_stale_socket(&path).unwrap();
        assert!(!path.exists());
        std::fs::write(&path, "").unwrap();
        assert!(clear_stale_socket(&path).is_err(), "not a socket: kept");
    }

    #[test]
    fn a_name_is_logged_quoted_and_cut_short() {
        assert_eq!(logged("ada\nforged line"), "\"ada\\nforged line\"");
        let long = "\u{202e}".repeat(1300);
        let shown = logged(&long);
        println!("a 3900-byte name is logged in {} bytes", shown.len());
        assert!(
            shown.len() < 600 && shown.ends_with("… (3900 bytes)"),
            "{shown}"
        );
    }

    /// [`read_client`] for a root caller, with a daemon of its own and no store: how it ended,
    /// and the queue it would have put the request in.
    fn read_alone(
        stream: UnixStream,
        caller: Caller,
    ) -> (std::io::Result<()>, crossbeam_channel::Receiver<Queued>) {
        let (queue, queued) = crossbeam_channel::bounded(1);
        let daemon = Shared {
            queue: &queue,
            turns: &Turns::default(),
            hush: &Hush::default(),
            store: None,
            commands: &Commands::for_config(Path::new(facegate_proto::DEFAULT_CONFIG)),
        };
        let read = read_client(stream, &Client { caller, uid: 0 }, &daemon);
        (read, queued)
    }

    #[test]
    fn a_request_that_cannot_be_read_is_answered() {
        let long = format!(
            "{{\"authenticate\":{{\"user\":\"{}\"}}}}\n",
            "a".repeat(5000)
        );
        for (what, request) in [("too long", long.as_str()), ("not JSON", "hello\n")] {
            let (mut ours, theirs) = UnixStream::pair().unwrap();
            std::io::Write::write_all(&mut ours, request.as_bytes()).unwrap();
            let caller = Caller::of(&theirs, proto::socket::peer(&theirs).unwrap());
            let (read, _) = read_alone(theirs, caller);
            assert!(read.is_err(), "{what}");
            let reply: Option<Reply> =
                proto::receive(&mut BufReader::new(&ours), proto::MAX_REPLY_BYTES).unwrap();
            println!("{what}: {reply:?}");
            assert!(
                matches!(&reply, Some(Reply::Verdict { outcome: Outcome::Ignore, reason })
                    if reason.starts_with("the request could not be read")),
                "{what}: {reply:?}"
            );
        }
    }

    #[test]
    fn a_caller_that_exits_before_it_is_judged_is_not_queued() {
        if let Some(why) = super::super::remote::remote_origin(std::process::id() as i32) {
            // The remote-session check would answer first, for its own reason.
            println!("NOTICE: these tests run in a remote session ({why}); skipping");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let mut request = Vec::new();
        let ask = Request::Authenticate {
            user: "root".into(),
        };
        proto::send(&mut request, &ask).unwrap();
        let (child, stream) = testing::connect_and_exit(&listener, &path, &request);
        let mut caller = Caller::of(&stream, proto::socket::peer(&stream).unwrap());
        if !caller.has_exited() {
            println!("NOTICE: this kernel has no SO_PEERPIDFD (Linux 6.5+); skipping");
            return;
        }
        // As it was judged when it connected, alive.
        caller.user = Some(0);
        let (read, queued) = read_alone(stream, caller);
        read.unwrap();
        assert!(queued.try_recv().is_err(), "queued for the camera");
        child
            .client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let reply: Option<Reply> =
            proto::receive(&mut BufReader::new(&child.client), proto::MAX_REQUEST_BYTES).unwrap();
        println!("pid {} exited before it was judged: {reply:?}", child.pid);
        assert!(
            matches!(&reply, Some(Reply::Verdict { outcome: Outcome::Ignore, reason })
                if reason == "the caller's process exited"),
            "{reply:?}"
        );
    }
}
