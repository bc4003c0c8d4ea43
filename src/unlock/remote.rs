//! Whether the program asking the daemon for face unlock was started from another machine.
//!
//! The PAM module already refuses when PAM_RHOST names another host, but only sshd and login
//! set it: `sudo`, `su` and `pkexec` typed in an SSH session leave it empty. Someone with the
//! user's SSH key but not their password would then get "turn your head LEFT" in their own
//! terminal while the camera watches whoever sits at the desk. So the daemon looks at the
//! caller itself, from the pid the socket vouches for (SO_PEERCRED; what is read under it is
//! trusted only while the caller has not exited, see [`super::caller`]), in two ways:
//!
//! - its control group: the SSH server's own service (sshd without PAM sessions), or a logind
//!   session (`session-N.scope`) that logind records as `REMOTE=1`. A process cannot move itself
//!   out of these, so this also holds for one that left its parent chain;
//! - its ancestry, and that of its session's leader: a remote-login server (sshd and its
//!   per-session processes, telnetd, xrdp, mosh-server, dropbear, tinysshd, a VNC server's own
//!   desktop, a web terminal) above it.
//!
//! What this cannot see: where logind does not run (or sshd's sessions do not register with
//! it), a process that leaves both its parent chain and its session (`setsid -f sudo …`); and
//! anywhere, a process of the same account started outside the SSH login on its behalf
//! (`systemd-run --user`, a tmux server started at the desk and attached to over SSH). On Linux
//! one account is one security domain; this stops the ordinary `ssh` + `sudo`, and the password
//! stays the fallback whatever it decides. A caller whose own process cannot be read is treated
//! as remote: when in doubt, the password decides.

use std::path::Path;

use super::procfs;

/// A remote-login server: the names its processes show (`/proc/PID/comm`, at most 15 bytes, or
/// the executable's file name), the server's and the per-session processes it runs the user's
/// shell under; and the systemd units it runs as, by the name before `.service` or `@` (an
/// instance per connection: `ssh@0-….service`). Both checks read this one table, so a server
/// added for one is there for the other.
struct Server {
    programs: &'static [&'static str],
    units: &'static [&'static str],
}

const REMOTE_SERVERS: &[Server] = &[
    Server {
        programs: &["sshd", "sshd-session", "sshd-auth"],
        units: &["ssh", "sshd"],
    },
    Server {
        programs: &["dropbear"],
        units: &["dropbear"],
    },
    Server {
        programs: &["tinysshd"],
        units: &["tinysshd"],
    },
    // Runs in the SSH login that started it; no unit of its own.
    Server {
        programs: &["mosh-server"],
        units: &[],
    },
    Server {
        programs: &["telnetd", "in.telnetd"],
        units: &["telnet", "telnetd"],
    },
    Server {
        programs: &["rlogind", "in.rlogind"],
        units: &["rlogin"],
    },
    Server {
        programs: &["xrdp", "xrdp-sesman", "xrdp-chansrv"],
        units: &["xrdp", "xrdp-sesman"],
    },
    // VNC servers that start a desktop of their own (not those that share the one on screen).
    Server {
        programs: &["vncsession", "Xvnc", "Xtigervnc", "Xtightvnc"],
        units: &["vncserver", "vncsession"],
    },
    // Terminals served over the web.
    Server {
        programs: &["ttyd"],
        units: &["ttyd"],
    },
    Server {
        programs: &["shellinaboxd"],
        units: &["shellinabox", "shellinaboxd"],
    },
    Server {
        programs: &["gotty"],
        units: &["gotty"],
    },
];

/// Whether `name` is a remote-login server's program.
fn is_server_program(name: &str) -> bool {
    REMOTE_SERVERS.iter().any(|s| s.programs.contains(&name))
}

/// Whether the cgroup component `part` is a remote-login server's service (or an instance of it).
fn is_server_unit(part: &str) -> bool {
    let Some(stem) = part.strip_suffix(".service") else {
        return false;
    };
    let stem = stem.split_once('@').map_or(stem, |(template, _)| template);
    REMOTE_SERVERS.iter().any(|s| s.units.contains(&stem))
}

/// More ancestors than any real process tree has: a bound on a loop over data that can change
/// while it is read.
const MAX_ANCESTORS: usize = 128;

/// Why the process `pid` counts as remote, or None when it is local.
pub fn remote_origin(pid: i32) -> Option<String> {
    remote_origin_in(Path::new("/proc"), Path::new("/run/systemd/sessions"), pid)
}

fn remote_origin_in(procfs: &Path, sessions: &Path, pid: i32) -> Option<String> {
    if procfs::read(procfs, pid, "stat").is_none() {
        return Some(format!("the caller (process {pid}) cannot be seen"));
    }
    if let Some(why) = remote_cgroup(procfs, sessions, pid) {
        return Some(why);
    }
    // From the caller, and from the leader of its session: a process left behind by a subshell
    // (`(sudo … &)`) has a new parent but keeps its session.
    let leader = stat_field(procfs, pid, 3).filter(|&l| l != pid);
    [Some(pid), leader]
        .into_iter()
        .flatten()
        .find_map(|start| remote_ancestor(procfs, start))
}

/// A remote-login server among `pid` and the processes above it.
fn remote_ancestor(procfs: &Path, pid: i32) -> Option<String> {
    let mut p = pid;
    for _ in 0..MAX_ANCESTORS {
        if p <= 1 {
            return None;
        }
        if let Some(name) = program_names(procfs, p)
            .into_iter()
            .find(|n| is_server_program(n))
        {
            return Some(format!("started under {name} (process {p})"));
        }
        p = stat_field(procfs, p, 1)?;
    }
    None
}

/// The process's short name and its executable's file name (either may be missing).
fn program_names(procfs: &Path, pid: i32) -> Vec<String> {
    let comm = procfs::read(procfs, pid, "comm").map(|c| c.trim_end_matches('\n').to_owned());
    comm.into_iter()
        .chain(procfs::exe_name(procfs, pid))
        .collect()
}

/// A numeric field of `/proc/PID/stat` counted after the process name (1: the parent, 3: the
/// session leader), read after the last ')' since the name may itself hold spaces and brackets.
fn stat_field(procfs: &Path, pid: i32, field: usize) -> Option<i32> {
    let stat = procfs::read(procfs, pid, "stat")?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(field)?.parse().ok()
}

/// Why the process's control group says it came from another machine: it sits in a remote-login
/// server's own service (sshd without PAM sessions keeps its users there), or in a logind
/// session that logind records as remote. A process cannot leave its cgroup for another
/// system one, so this holds for callers that left their parent chain (`setsid`).
fn remote_cgroup(procfs: &Path, sessions: &Path, pid: i32) -> Option<String> {
    let parts = procfs::cgroup_components(procfs, pid)?;
    if let Some(unit) = parts.iter().find(|p| is_server_unit(p)) {
        // The name can be one the user chose (a cgroup of their own under a server's name):
        // escaped before it reaches the log.
        return Some(format!(
            "its process runs in {}",
            crate::shown::Shown(Path::new(unit))
        ));
    }
    let id = parts
        .iter()
        .find_map(|part| part.strip_prefix("session-")?.strip_suffix(".scope"))
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))?;
    let record = std::fs::read_to_string(sessions.join(id)).ok()?;
    let value = |key: &str| {
        record
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    };
    (value("REMOTE") == Some("1")).then(|| match value("REMOTE_HOST") {
        Some(host) if !host.is_empty() => format!("login session {id} is remote (from {host})"),
        _ => format!("login session {id} is remote"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake /proc: `tree` lists (pid, parent, comm, cgroup); each process leads its own
    /// session unless [`SESSIONS`] says otherwise.
    fn procfs(tree: &[(i32, i32, &str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (pid, ppid, comm, cgroup) in tree {
            let sid = SESSIONS
                .iter()
                .find(|(p, _)| p == pid)
                .map_or(*pid, |(_, s)| *s);
            let dir = root.path().join(pid.to_string());
            fs::create_dir(&dir).unwrap();
            fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            // A name with a space and a bracket, as a process may choose.
            fs::write(
                dir.join("stat"),
                format!("{pid} ({comm} x) S {ppid} {pid} {sid} 0 -1"),
            )
            .unwrap();
            fs::write(dir.join("cgroup"), format!("0::{cgroup}\n")).unwrap();
        }
        root
    }

    /// (pid, session leader) of the processes that do not lead their own session.
    const SESSIONS: &[(i32, i32)] = &[(902, 901), (903, 901)];

    #[test]
    fn sudo_under_an_ssh_login_is_remote_and_at_the_desk_is_not() {
        let sessions = tempfile::tempdir().unwrap();
        fs::write(sessions.path().join("3"), "UID=1000\nREMOTE=0\n").unwrap();
        let desk = "/user.slice/user-1000.slice/session-3.scope";
        let terminal = "/user.slice/user-1000.slice/user@1000.service/app.slice/vte.scope";
        let ssh_session = "/user.slice/user-1000.slice/session-7.scope";
        let tree = procfs(&[
            (1, 0, "systemd", "/init.scope"),
            (400, 1, "sshd", "/system.slice/ssh.service"),
            (
                900,
                400,
                "sshd-session",
                "/user.slice/user-1000.slice/session-7.scope",
            ),
            (
                901,
                900,
                "bash",
                "/user.slice/user-1000.slice/session-7.scope",
            ),
            (902, 901, "sudo", ssh_session),
            // `(sudo … &)`: its subshell gone, it belongs to pid 1 but keeps its session.
            (903, 1, "sudo", ssh_session),
            // sshd without PAM sessions: its users stay in its own service.
            (950, 1, "sudo", "/system.slice/ssh.service"),
            (
                960,
                1,
                "sudo",
                "/system.slice/system-ssh.slice/ssh@0-192.0.2.1:22-203.0.113.9:50022.service",
            ),
            (961, 1, "sudo", "/system.slice/xrdp-sesman.service"),
            (
                962,
                1,
                "sudo",
                "/user.slice/user-1000.slice/user@1000.service/app.slice/ssh-agent.service",
            ),
            (500, 1, "gnome-terminal-", terminal),
            (501, 500, "bash", terminal),
            (502, 501, "sudo", terminal),
            (600, 1, "gdm-session-wor", desk),
        ]);
        let origin = |pid| remote_origin_in(tree.path(), sessions.path(), pid);
        assert_eq!(
            origin(902).as_deref(),
            Some("started under sshd-session (process 900)")
        );
        assert_eq!(
            origin(903).as_deref(),
            Some("started under sshd-session (process 900)"),
            "orphaned, found from its session's leader"
        );
        assert_eq!(
            origin(950).as_deref(),
            Some("its process runs in ssh.service")
        );
        assert_eq!(origin(502), None, "a terminal at the desk");
        assert_eq!(
            origin(960).as_deref(),
            Some("its process runs in ssh@0-192.0.2.1:22-203.0.113.9:50022.service"),
            "socket-activated sshd, one instance per connection, `setsid` out of its tree"
        );
        assert_eq!(
            origin(961).as_deref(),
            Some("its process runs in xrdp-sesman.service")
        );
        assert_eq!(origin(962), None, "the user's own ssh-agent is no server");
        assert_eq!(origin(600), None, "the lock screen, in local session 3");
        assert!(origin(4242).unwrap().contains("cannot be seen"));
    }

    #[test]
    fn a_session_logind_records_as_remote_is_remote_whatever_the_ancestry() {
        let sessions = tempfile::tempdir().unwrap();
        fs::write(
            sessions.path().join("7"),
            "UID=1000\nREMOTE=1\nREMOTE_HOST=203.0.113.9\n",
        )
        .unwrap();
        let tree = procfs(&[
            (1, 0, "systemd", "/init.scope"),
            (70, 1, "sudo", "/user.slice/user-1000.slice/session-7.scope"),
            // A made-up session name in a cgroup the user may create is not read as a path.
            (
                71,
                1,
                "sudo",
                "/user.slice/user-1000.slice/session-..%2f7.scope",
            ),
        ]);
        assert_eq!(
            remote_origin_in(tree.path(), sessions.path(), 70).as_deref(),
            Some("login session 7 is remote (from 203.0.113.9)")
        );
        assert_eq!(remote_origin_in(tree.path(), sessions.path(), 71), None);
    }
}
