//! Who is behind a connection to the daemon. The socket vouches for the effective uid of the
//! process that connected (SO_PEERCRED), and a setuid program (`su`, `sudo`, a setuid `pkexec`
//! helper) connects as root whoever runs it. Taken at its word, `su katie` run by Alice in a
//! session of hers that is not on screen would get an attempt for Katie's account while Katie
//! works at the desk, prompts in a terminal Katie never sees: a head that happens to turn the
//! asked way opens Katie's account to Alice, and her failures would count toward Katie's
//! lock-out. So the daemon judges a caller by the user behind it: root may ask for anyone (login
//! screens, root's own programs), anyone else only for their own account, setuid or not, and
//! the readers each user may hold are counted by that uid too ([`super::turns`]).
//!
//! The user behind a connection:
//! - a caller whose effective uid is not root is that user: only root's word is questioned, so
//!   nothing read from `/proc` can raise a user's caller to root;
//! - a root caller is the real uid of its process (`/proc/PID/status`), which `su`, `sudo`,
//!   `doas` and the setuid polkit helper keep as the invoker's while PAM runs;
//! - a process that is root through and through, in a service systemd starts for each
//!   connection to a socket (`Accept=yes`; polkit 127's agent helper, which `pkexec` and `run0`
//!   use), is whoever connected to that socket: systemd ends the instance's name with the
//!   connector's uid (`polkit-agent-helper@3-1234-1000.service`, or with the socket's cookie,
//!   `…@3-4411-1234_77-1000.service`);
//! - a root caller that cannot be read, or has exited, is nobody; such callers share the
//!   readers of one user.
//!
//! The pid is the one the kernel recorded at connect, and a pid can come to name another process
//! once its own has exited. So the daemon takes a pidfd of the caller from the socket
//! (SO_PEERPIDFD), which names that one process for ever, and trusts what it read under the pid
//! (here, and the remote-session check of [`super::remote`]) only while the pidfd says the
//! caller has not exited. Where the kernel has no SO_PEERPIDFD (before 6.5), the effective uid
//! read from `/proc` must at least be the one the socket vouched for. A caller whose process
//! cannot be read asks for nobody: when in doubt, the password decides.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use facegate_proto::socket::{self, Peer};

use super::account::Holder;
use super::procfs;

/// A connection's caller: the socket's credentials and the user behind them.
#[derive(Debug)]
pub struct Caller {
    pub peer: Peer,
    /// The user behind the caller; `None` when it cannot be told (the process is in a pid
    /// namespace the daemon cannot see, already gone, or a service for a connection systemd
    /// could not identify).
    pub user: Option<u32>,
    /// The caller's process as it connected, where the kernel can name it so.
    process: Option<OwnedFd>,
    /// The kernel could not name the caller's process when asked: it had already exited.
    gone_at_connect: bool,
    /// For a caller in a service started per connection: the process that connected to it.
    connected: Option<Connected>,
}

/// The process that connected to the per-connection service a root caller runs in, as systemd
/// names it in the service's instance. polkit's agent helper runs as such a service, a system
/// service wherever `run0` or `pkexec` was typed: it is the connecting process (the text agent
/// in an SSH session, say) whose login says whether the request comes from this desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connected {
    pub pid: i32,
    /// The id of the process's pidfd (newer systemd writes it; names the process for ever).
    pub pidfd_id: Option<u64>,
    pub uid: u32,
}

/// What unseen callers are counted as: not root, so they share the capped readers of users.
const UNSEEN: u32 = u32::MAX;

impl Caller {
    /// The caller at the other end of `stream`, whose credentials are `peer`.
    pub fn of(stream: &UnixStream, peer: Peer) -> Caller {
        // Taken before anything is read under the pid, so that what is read can be checked. An
        // error (the peer has exited, most likely) is taken as the caller gone: fail closed.
        let process = socket::peer_process(stream)
            .inspect_err(|e| tracing::debug!("no pidfd for pid {}: {e}", peer.pid));
        let (user, connected) = user_behind(Path::new("/proc"), peer);
        let mut caller = Caller {
            peer,
            user,
            gone_at_connect: process.is_err(),
            process: process.ok().flatten(),
            connected,
        };
        if peer.uid == 0 && caller.has_exited() {
            // Read under a pid that may no longer be the caller's. (A caller that is not root
            // is the socket's uid, whatever /proc says.)
            caller.user = None;
        }
        caller
    }

    /// Whether the caller's process has exited, so that its pid may now name another process
    /// and what is read under it is not the caller's. Never true where the kernel cannot tell
    /// (no SO_PEERPIDFD).
    pub fn has_exited(&self) -> bool {
        self.gone_at_connect || self.process.as_ref().is_some_and(socket::has_exited)
    }

    /// The uid the daemon counts this caller's connections under: the user behind it, or, when
    /// that cannot be read, one uid for all such callers, capped like any user's.
    pub fn counted_as(&self) -> u32 {
        self.user.unwrap_or(UNSEEN)
    }

    /// Why the request counts as made from another machine ([`super::remote`]), judged by the
    /// caller's process or, for a per-connection service, by the process that connected to it
    /// (whose own service would otherwise read as local). A connecting process that cannot be
    /// read, or is not the one systemd named, counts as remote: the password decides.
    pub fn remote_origin(&self) -> Option<String> {
        let Some(c) = self.connected else {
            return super::remote::remote_origin(self.peer.pid);
        };
        // Held while its /proc is read, so that a pid that comes to name another process
        // meanwhile is noticed.
        let process = match c.open(Path::new("/proc")) {
            Ok(fd) => fd,
            Err(why) => return Some(format!("the process that connected ({}) {why}", c.pid)),
        };
        let why = super::remote::remote_origin(c.pid);
        if socket::has_exited(&process) {
            return Some(format!("the process that connected ({}) exited", c.pid));
        }
        why.map(|why| format!("for process {}: {why}", c.pid))
    }

    /// The account `user` names, as this caller may have it looked up: any name for root;
    /// for anyone else its own account, by its uid, when `user` is that account's name; none
    /// for a caller that cannot be seen (which [`Caller::may_ask_for`] refuses whatever the
    /// name). Any string a user sent was looked up in the user database (reaching LDAP or
    /// sssd) before it was refused (red team s35); another name for the same uid is refused
    /// too. One passwd lookup either way.
    pub fn account(&self, user: &str) -> Option<Holder> {
        match self.user {
            Some(0) => Holder::of(user),
            None => None,
            Some(uid) => Holder::with_uid(uid).filter(|own| own.name() == user),
        }
    }

    /// Whether this caller may ask for the account whose uid is `account` (`None`: no such
    /// account): root for anyone, anyone else for their own account only.
    pub fn may_ask_for(&self, account: Option<u32>) -> Result<(), String> {
        match self.user {
            Some(0) => Ok(()),
            Some(user) if account == Some(user) => Ok(()),
            Some(_) => Err("only root or the account's own user may ask for it".into()),
            None => Err(format!(
                "the caller's process ({}) cannot be seen",
                self.peer.pid
            )),
        }
    }
}

/// The user behind the caller, and the process that connected to its service if it is one.
fn user_behind(procfs: &Path, peer: Peer) -> (Option<u32>, Option<Connected>) {
    if peer.uid != 0 {
        return (Some(peer.uid), None);
    }
    let Some(real) = real_uid(procfs, peer) else {
        return (None, None);
    };
    if real != 0 {
        return (Some(real), None);
    }
    // Per-connection services are system units; a name below a user's own manager is that
    // user's choice, so it names nobody.
    let Some(components) = procfs::cgroup_components_under(procfs, peer.pid, Some("system.slice"))
    else {
        return (None, None);
    };
    match connector(&components) {
        Connector::None => (Some(0), None),
        Connector::Process(c) => (Some(c.uid), Some(c)),
        Connector::Unknown => (None, None),
    }
}

impl Connected {
    /// A pidfd of the process, if it is still the one systemd named: the pidfd's id where
    /// systemd gave one, else at least the same real uid.
    fn open(&self, procfs: &Path) -> Result<OwnedFd, &'static str> {
        let pid = rustix::process::Pid::from_raw(self.pid).ok_or("is not a process")?;
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|_| "has exited")?;
        let same = match self.pidfd_id {
            Some(id) => rustix::fs::fstat(&fd).is_ok_and(|st| st.st_ino == id),
            None => uids(procfs, self.pid).is_some_and(|(real, _)| real == self.uid),
        };
        same.then_some(fd)
            .ok_or("is no longer the process systemd named")
    }
}

/// The real uid of `peer`'s process, if its effective uid is still the one the socket recorded.
fn real_uid(procfs: &Path, peer: Peer) -> Option<u32> {
    let (real, effective) = uids(procfs, peer.pid)?;
    (effective == peer.uid).then_some(real)
}

/// The real and effective uid of process `pid`, from `/proc/PID/status`.
fn uids(procfs: &Path, pid: i32) -> Option<(u32, u32)> {
    let status = procfs::read(procfs, pid, "status")?;
    // "Uid:\treal\teffective\tsaved\tfilesystem"
    let mut ids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .map(|id| id.parse::<u32>().ok());
    Some((ids.next()??, ids.next()??))
}

/// Who a process acts for, from its control groups.
#[derive(Debug, PartialEq, Eq)]
enum Connector {
    /// Not in a service started per connection to a Unix socket.
    None,
    /// In such a service, started for a connection from this process.
    Process(Connected),
    /// In such a service, for a connection systemd could not identify (another namespace).
    Unknown,
}

/// Reads the instance name of a per-connection service among the control-group `components`
/// (the innermost, if several): `N-PID-UID` and `N-unknown` (systemd before the socket cookie),
/// `N-COOKIE-PID-UID`, `N-COOKIE-PID_PIDFDID-UID` and `N-COOKIE-unknown`. systemd writes these
/// numbers without leading zeros, which tells them from an instance that only looks numeric
/// (`backup@2024-06-01.service`); per connection over IP the instance holds addresses.
fn connector(components: &[String]) -> Connector {
    let number = |f: &str| {
        !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) && (f == "0" || !f.starts_with('0'))
    };
    // "PID" or "PID_PIDFDID".
    let pid = |f: &str| f.split('_').count() <= 2 && f.split('_').all(number);
    let instances = components
        .iter()
        .filter_map(|unit| unit.strip_suffix(".service")?.split_once('@'));
    let mut found = Connector::None;
    for (_, instance) in instances {
        let fields: Vec<&str> = instance.split('-').collect();
        let (p, uid) = match fields.as_slice() {
            // Nothing to parse: unknown, below.
            [n, "unknown"] if number(n) => ("", ""),
            [n, cookie, "unknown"] if number(n) && number(cookie) => ("", ""),
            [n, p, uid] if number(n) && pid(p) && number(uid) => (*p, *uid),
            [n, cookie, p, uid] if number(n) && number(cookie) && pid(p) && number(uid) => {
                (*p, *uid)
            }
            // Shaped like a per-connection instance (numbers at both ends) but in no form known
            // here (a systemd that adds a field): unknown, never "no connector", which would
            // make the caller root and judge it by the service's own control group.
            [n, .., last] if number(n) && number(last) => ("", ""),
            _ => continue,
        };
        // Numbers too large for what they name are no process: unknown, as from another
        // namespace (not "no connector", which would make the caller root).
        let (pid, pidfd_id) = p.split_once('_').map_or((p, None), |(p, id)| (p, Some(id)));
        found = match (
            pid.parse(),
            pidfd_id.map(str::parse).transpose(),
            uid.parse(),
        ) {
            (Ok(pid), Ok(pidfd_id), Ok(uid)) => {
                Connector::Process(Connected { pid, pidfd_id, uid })
            }
            _ => Connector::Unknown,
        };
    }
    found
}

/// The uid of account `user`, from the system's user database (the owner of a subordinate
/// range; a request's account is an [`super::account::Holder`]).
pub(super) fn uid_of(user: &str) -> Option<u32> {
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procfs_with(pid: i32, uid_line: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(pid.to_string());
        std::fs::create_dir(&p).unwrap();
        std::fs::write(
            p.join("status"),
            format!(
                "Name:\tsu\nUmask:\t0022\nState:\tS (sleeping)\n{uid_line}\nGid:\t0\t0\t0\t0\n"
            ),
        )
        .unwrap();
        std::fs::write(
            p.join("cgroup"),
            "0::/user.slice/user-1001.slice/session-2.scope\n",
        )
        .unwrap();
        dir
    }

    fn caller(procfs: &Path, uid: u32, pid: i32) -> Caller {
        let peer = Peer { uid, pid };
        let (user, connected) = user_behind(procfs, peer);
        Caller {
            peer,
            user,
            process: None,
            gone_at_connect: false,
            connected,
        }
    }

    fn connected(pid: i32, pidfd_id: Option<u64>, uid: u32) -> Connector {
        Connector::Process(Connected { pid, pidfd_id, uid })
    }

    #[test]
    fn a_setuid_program_is_its_user() {
        // `su katie` typed by uid 1001: effective root, real 1001.
        let procfs = procfs_with(4242, "Uid:\t1001\t0\t0\t0");
        let su = caller(procfs.path(), 0, 4242);
        assert_eq!(su.user, Some(1001));
        assert_eq!(su.counted_as(), 1001);
        assert!(su.may_ask_for(Some(1001)).is_ok(), "her own account");
        assert!(su.may_ask_for(Some(1002)).is_err(), "another account");
        assert!(su.may_ask_for(None).is_err());
    }

    /// A caller who is not root has only its own account's name looked up (uid 1 is `daemon`
    /// on Debian and most systems; read from the user database, not assumed).
    #[test]
    fn only_a_callers_own_name_is_looked_up() {
        let Some(own) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(1))
            .ok()
            .flatten()
        else {
            println!("NOTICE: no account with uid 1 here; skipping");
            return;
        };
        let procfs = procfs_with(4243, "Uid:\t1\t1\t1\t1");
        let user = caller(procfs.path(), 1, 4243);
        assert!(user.account(&own.name).is_some());
        assert!(user.account("root").is_none());
        assert!(user.account(&"x".repeat(4000)).is_none());
        let procfs = procfs_with(78, "Uid:\t0\t0\t0\t0");
        assert!(
            caller(procfs.path(), 0, 78).account(&own.name).is_some(),
            "root"
        );
    }

    #[test]
    fn root_may_ask_for_anyone() {
        let procfs = procfs_with(77, "Uid:\t0\t0\t0\t0");
        let login = caller(procfs.path(), 0, 77);
        assert!(login.may_ask_for(Some(1002)).is_ok());
        assert!(
            login.may_ask_for(None).is_ok(),
            "the store says who is enrolled"
        );
    }

    #[test]
    fn a_caller_that_cannot_be_read_asks_for_nobody() {
        let procfs = procfs_with(77, "Uid:\t0\t0\t0\t0");
        // The pid now holds a process whose effective uid is not the root that connected.
        let reused = procfs_with(77, "Uid:\t1001\t1001\t1001\t1001");
        for c in [
            caller(procfs.path(), 0, 0),  // another pid namespace
            caller(procfs.path(), 0, 78), // gone
            caller(reused.path(), 0, 77),
        ] {
            assert_eq!(c.user, None, "{c:?}");
            assert!(c.may_ask_for(Some(0)).is_err(), "{c:?}");
        }
        let garbled = procfs_with(5, "Uid:\tx\t0\t0\t0");
        assert_eq!(caller(garbled.path(), 0, 5).user, None);
    }

    #[test]
    fn only_a_root_caller_is_questioned() {
        // A process that is root only in its real uid (a root daemon acting as Alice) connects
        // as Alice, and stays Alice: /proc never raises a caller to root.
        let procfs = procfs_with(9, "Uid:\t0\t1001\t0\t1001");
        let c = caller(procfs.path(), 1001, 9);
        assert_eq!(c.user, Some(1001));
        assert!(c.may_ask_for(Some(1002)).is_err());
    }

    fn components(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_service_started_per_connection_acts_for_its_connector() {
        let slice = "/system.slice/system-polkit\\x2dagent\\x2dhelper.slice";
        for (unit, expected) in [
            // systemd before the socket cookie, with it, and with the pidfd's id.
            (
                "polkit-agent-helper@3-1234-1000.service",
                connected(1234, None, 1000),
            ),
            (
                "polkit-agent-helper@3-4411-1234-1000.service",
                connected(1234, None, 1000),
            ),
            (
                "polkit-agent-helper@3-4411-1234_77-1000.service",
                connected(1234, Some(77), 1000),
            ),
            (
                "polkit-agent-helper@3-4411-1234_77-0.service",
                connected(1234, Some(77), 0),
            ),
            // A pid too large for one: unknown, never "no connector" (which is root).
            ("x@3-4411-99999999999-1000.service", Connector::Unknown),
            ("x@3-4411-1234_1_2-1000.service", Connector::Unknown),
            ("x@3-4411-1234-77-1000.service", Connector::Unknown),
            // A connection from another namespace, before and after the cookie.
            ("polkit-agent-helper@3-unknown.service", Connector::Unknown),
            (
                "polkit-agent-helper@3-4411-unknown.service",
                Connector::Unknown,
            ),
            // A uid too large for one: not a uid, and not nobody's either.
            ("x@3-4411-1234-99999999999.service", Connector::Unknown),
            // Over IP, instances that only look numeric, ordinary ones.
            (
                "telnet@3-4411-10.0.0.1:23-10.0.0.2:5555.service",
                Connector::None,
            ),
            ("backup@2024-06-01.service", Connector::None),
            ("getty@tty1.service", Connector::None),
            ("user@1000.service", Connector::None),
            ("gdm.service", Connector::None),
        ] {
            let path = format!("{slice}/{unit}");
            assert_eq!(connector(&components(&path)), expected, "{unit}");
        }
        assert_eq!(connector(&[]), Connector::None);
        // A helper in a group of its own below its service is still in that service.
        let nested = components("/system.slice/x@3-1234-1000.service/worker");
        assert_eq!(connector(&nested), connected(1234, None, 1000));
    }

    #[test]
    fn a_unit_name_below_a_users_own_manager_names_nobody() {
        let procfs = procfs_with(32, "Uid:\t0\t0\t0\t0");
        std::fs::write(
            procfs.path().join("32/cgroup"),
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x@3-4411-1234-1001.service\n",
        )
        .unwrap();
        let helper = caller(procfs.path(), 0, 32);
        assert_eq!(helper.user, Some(0), "root, judged as root");
        assert!(helper.connected.is_none());
    }

    #[test]
    fn a_root_helper_started_for_alice_is_alice() {
        let procfs = procfs_with(31, "Uid:\t0\t0\t0\t0");
        let cgroup = procfs.path().join("31/cgroup");
        std::fs::write(
            &cgroup,
            "0::/system.slice/system-polkit\\x2dagent\\x2dhelper.slice/polkit-agent-helper@3-4411-1234_77-1001.service\n",
        )
        .unwrap();
        let helper = caller(procfs.path(), 0, 31);
        assert_eq!(helper.user, Some(1001));
        assert_eq!(
            helper.connected.map(|c| c.pid),
            Some(1234),
            "judged remote or not by the process that connected, not by the system service"
        );
        assert!(helper.may_ask_for(Some(1002)).is_err(), "Katie's account");
        assert!(helper.may_ask_for(Some(1001)).is_ok(), "her own");
        std::fs::write(
            &cgroup,
            "0::/system.slice/polkit-agent-helper@3-4411-unknown.service\n",
        )
        .unwrap();
        assert_eq!(caller(procfs.path(), 0, 31).user, None);
        std::fs::remove_file(&cgroup).unwrap();
        assert_eq!(caller(procfs.path(), 0, 31).user, None, "unreadable");
    }

    /// The process systemd names as a service's connector is trusted only while it is that
    /// process: the pidfd id where systemd gives one, else the real uid.
    #[test]
    fn a_connector_is_the_process_systemd_named_until_it_exits() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let uid = rustix::process::getuid().as_raw();
        let proc = Path::new("/proc");
        let fd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).unwrap(),
            rustix::process::PidfdFlags::empty(),
        )
        .unwrap();
        let id = rustix::fs::fstat(&fd).unwrap().st_ino;
        let named = |pidfd_id, uid| Connected { pid, pidfd_id, uid }.open(proc);
        assert!(named(None, uid).is_ok());
        assert!(named(None, uid + 1).is_err(), "another user's process");
        assert!(named(Some(id), uid).is_ok());
        assert!(
            named(Some(id + 1), uid).is_err(),
            "another process of that pid"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let gone = named(None, uid).unwrap_err();
        println!("a connector that exited: {gone}");
        assert!(named(Some(id), uid).is_err());
    }

    #[test]
    fn a_connected_process_reads_as_itself_until_it_exits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let _mine = UnixStream::connect(&path).unwrap();
        let (stream, _) = listener.accept().unwrap();
        if socket::peer_process(&stream).unwrap().is_none() {
            println!("NOTICE: this kernel has no SO_PEERPIDFD (Linux 6.5+); skipping");
            return;
        }
        let me = Caller::of(&stream, socket::peer(&stream).unwrap());
        assert_eq!(me.user, Some(rustix::process::getuid().as_raw()));
        assert!(!me.has_exited());

        // A child connects a socket this process also holds, then exits: its connection stays
        // open, and its pid still reads in /proc (a zombie until reaped) and, once reaped, could
        // name anyone. Nothing is taken from that pid when the caller is root.
        let (child, stream) = testing::connect_and_exit(&listener, &path, b"");
        let peer = socket::peer(&stream).unwrap();
        assert_eq!(peer.pid, child.pid);
        let gone = Caller::of(&stream, peer);
        println!("a caller that exited after connecting: {gone:?}");
        assert!(gone.has_exited());
        if peer.uid == 0 {
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
            assert!(status.contains("Uid:\t0\t0"), "{status}");
            assert_eq!(gone.user, None);
            assert!(gone.may_ask_for(Some(0)).is_err());
        } else {
            assert_eq!(
                gone.user,
                Some(peer.uid),
                "the socket's uid, whatever /proc says"
            );
        }
    }
}

/// A caller that connects, then exits while its connection stays open: what the daemon must not
/// judge by its pid. For the tests of this module and of the daemon.
#[cfg(test)]
pub(super) mod testing {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::Path;

    /// A child process, a zombie until this is dropped.
    pub struct Exited {
        pub pid: i32,
        /// The child's end of the connection, kept open in this process so that the connection
        /// outlives the child.
        pub client: UnixStream,
    }

    impl Drop for Exited {
        fn drop(&mut self) {
            // SAFETY: reaps our own child.
            unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
        }
    }

    /// Forks a child that connects a socket (held by this process too) to `path`, writes
    /// `request`, and exits; returns once it has exited (not reaped), with the accepted end.
    pub fn connect_and_exit(
        listener: &UnixListener,
        path: &Path,
        request: &[u8],
    ) -> (Exited, UnixStream) {
        let (addr, len) = facegate_proto::socket::unix_address(path).unwrap();
        // SAFETY: plain socket(2), checked, then owned.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0);
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the child calls only connect(2), write(2) and _exit(2), which are
        // async-signal-safe, on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                let fd = socket.as_raw_fd();
                let ok = libc::connect(fd, (&raw const addr).cast(), len) == 0
                    && libc::write(fd, request.as_ptr().cast(), request.len())
                        == request.len() as isize;
                libc::_exit(if ok { 0 } else { 1 });
            }
        }
        assert!(pid > 0);
        let exited = Exited {
            pid,
            client: UnixStream::from(socket),
        };
        // Waits for the exit without reaping (WNOWAIT): the pid stays the child's meanwhile.
        // SAFETY: siginfo_t is plain data; waitid on our own child.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        assert_eq!(r, 0);
        assert_eq!(
            unsafe { info.si_status() },
            0,
            "the child could not connect"
        );
        let (stream, _) = listener.accept().unwrap();
        (exited, stream)
    }
}
