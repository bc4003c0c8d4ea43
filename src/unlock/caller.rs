//! Who is behind a connection to the daemon. The socket vouches for the effective uid of the
//! process that connected (SO_PEERCRED), and a setuid program (`su`, `sudo`, a setuid `pkexec`
//! helper) connects as root whoever runs it. Taken at its word, `su katie` run by Alice in a
//! session of hers that is not on screen would get an attempt for Katie's account while Katie
//! works at the desk, prompts in a terminal Katie never sees: a head that happens to turn the
//! asked way opens Katie's account to Alice, and her failures would count toward Katie's
//! lock-out. So the daemon judges a caller by the user who started its process, the real uid in
//! `/proc/PID/status`: root may ask for anyone (login screens, root's own programs), anyone else
//! only for their own account, setuid or not, and the readers each user may hold are counted
//! by that uid too ([`super::turns`]).
//!
//! The pid is the one the kernel recorded at connect. The process stays alive while it waits for
//! its verdict, and the effective uid read from `/proc` must be the one the socket vouched for,
//! so a pid reused by another process in between is not mistaken for the caller. A caller whose
//! process cannot be read asks for nobody: when in doubt, the password decides.

use std::path::Path;

use facegate_proto::socket::Peer;

/// A connection's caller: the socket's credentials and the user behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub peer: Peer,
    /// The real uid of the caller's process; `None` when it cannot be read (the process is in a
    /// pid namespace the daemon cannot see, or already gone).
    pub user: Option<u32>,
}

impl Caller {
    pub fn of(peer: Peer) -> Caller {
        Caller {
            peer,
            user: real_uid(Path::new("/proc"), peer),
        }
    }

    /// The uid the daemon counts this caller's connections under: the user behind it, or the
    /// socket's uid when that user cannot be read.
    pub fn counted_as(&self) -> u32 {
        self.user.unwrap_or(self.peer.uid)
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

/// The real uid of `peer`'s process, if its effective uid is still the one the socket recorded.
fn real_uid(procfs: &Path, peer: Peer) -> Option<u32> {
    if peer.pid <= 0 {
        return None;
    }
    let status = std::fs::read_to_string(procfs.join(peer.pid.to_string()).join("status")).ok()?;
    // "Uid:\treal\teffective\tsaved\tfilesystem"
    let mut ids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .map(|id| id.parse::<u32>().ok());
    let (real, effective) = (ids.next()??, ids.next()??);
    (effective == peer.uid).then_some(real)
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
        dir
    }

    fn caller(procfs: &Path, uid: u32, pid: i32) -> Caller {
        let peer = Peer { uid, pid };
        Caller {
            peer,
            user: real_uid(procfs, peer),
        }
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
        for c in [
            caller(procfs.path(), 0, 0),  // another pid namespace
            caller(procfs.path(), 0, 78), // gone
            // The pid now holds a process whose effective uid is not the one that connected.
            caller(procfs.path(), 1001, 77),
        ] {
            assert_eq!(c.user, None, "{c:?}");
            assert!(c.may_ask_for(Some(0)).is_err(), "{c:?}");
        }
        let garbled = procfs_with(5, "Uid:\tx\t0\t0\t0");
        assert_eq!(caller(garbled.path(), 0, 5).user, None);
    }

    #[test]
    fn this_process_reads_as_itself() {
        let me = Peer {
            uid: rustix::process::geteuid().as_raw(),
            pid: std::process::id() as i32,
        };
        assert_eq!(
            Caller::of(me).user,
            Some(rustix::process::getuid().as_raw())
        );
    }
}
