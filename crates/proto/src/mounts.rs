//! The kernel's mount table, read without looking at any path: what is mounted where, and which
//! file systems a user serves. A FUSE file system a user mounts reports whatever owner and mode
//! its server likes (uid 0 included), and its server can leave any look at it unanswered, so
//! face unlock tells such a mount from the table alone, never by a `stat` of the path (red team
//! s38 F2, s41 F1). One parser for the daemon, root's `unlock` commands and the PAM module.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The mounts the calling thread sees (`/proc/self` is the process's first thread): a mount
/// namespace made by one thread is that thread's alone (final read s39 F12).
pub const MOUNT_TABLE: &str = "/proc/thread-self/mountinfo";

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// The table's mount id, as `/proc/PID/fdinfo` gives a file's.
    pub id: u64,
    /// Where it is mounted, its `\040`-style escapes undone.
    pub point: PathBuf,
    pub fstype: String,
    /// The uid its options name (`user_id=`, FUSE's): who serves it.
    pub user_id: Option<u32>,
}

impl Mount {
    /// A FUSE file system not root's (`fuse`, `fuseblk` or `fuse.NAME`; one without `user_id=`
    /// is taken as a user's): its server, a user's program, answers every look at it.
    pub fn user_served(&self) -> bool {
        let fuse =
            matches!(self.fstype.as_str(), "fuse" | "fuseblk") || self.fstype.starts_with("fuse.");
        fuse && self.user_id != Some(0)
    }

    /// "uid 1001 serves", or "a user serves".
    pub fn served_by(&self) -> String {
        self.user_id.map_or("a user serves".to_owned(), |uid| {
            format!("uid {uid} serves")
        })
    }
}

/// Every mount of a mount table ([`MOUNT_TABLE`]'s text).
pub fn parse(table: &[u8]) -> Vec<Mount> {
    table
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let dash = fields.iter().position(|f| *f == b"-")?;
            let id = std::str::from_utf8(fields.first()?).ok()?.parse().ok()?;
            let point = PathBuf::from(OsString::from_vec(unescape(fields.get(4)?)));
            let fstype = String::from_utf8_lossy(fields.get(dash + 1)?).into_owned();
            let options = String::from_utf8_lossy(fields.get(dash + 3).unwrap_or(&&b""[..]));
            let user_id = options
                .split(',')
                .find_map(|o| o.strip_prefix("user_id="))
                .and_then(|u| u.parse().ok());
            Some(Mount {
                id,
                point,
                fstype,
                user_id,
            })
        })
        .collect()
}

/// The calling thread's mounts ([`MOUNT_TABLE`]).
pub fn read() -> std::io::Result<Vec<Mount>> {
    std::fs::read(MOUNT_TABLE).map(|table| parse(&table))
}

/// The file systems users serve, for a check of root's paths: from the table, or, where it
/// cannot be read, none if no user can mount one (no `/dev/fuse`), else the reason to refuse.
pub fn users_served() -> Result<Vec<Mount>, String> {
    match read() {
        Ok(all) => Ok(all.into_iter().filter(Mount::user_served).collect()),
        Err(_) if !users_can_mount() => Ok(Vec::new()),
        Err(e) => Err(unreadable(&e)),
    }
}

/// The file system a user serves that `path` (absolute, no `..`, no link on the way: as
/// [`crate::trust::check_parents`] leaves it) lies on, at it or above it; told from the table
/// alone, before anything there is looked at. Err where that cannot be told.
pub fn users_mount_at(path: &Path) -> Result<Option<Mount>, String> {
    Ok(users_served()?
        .into_iter()
        .find(|m| path.starts_with(&m.point)))
}

/// The mount id of the file `fd` is open on, from the thread's fdinfo (procfs: no file
/// system's server is asked).
pub fn mount_id(fd: std::os::fd::BorrowedFd<'_>) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let info =
        std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The file system a user serves that `fd` is open on, if it is one: its mount id looked up in
/// a read of the table made after the open. A path checked against the table and then opened
/// could have had a mount put on it between the two (retest s41 N1: root was unlocked so, 8
/// daemon starts in 2,157); the mount an open descriptor is on cannot change. A mount no longer
/// in the table was detached after the open (`umount -l`), its server still answering: taken as
/// a user's, as nothing tells otherwise (retest s41 N3). Err where that cannot be told.
pub fn users_mount_of(fd: std::os::fd::BorrowedFd<'_>) -> Result<Option<NotRoots>, String> {
    let Some(id) = mount_id(fd) else {
        return match users_can_mount() {
            true => Err("the mount of an open file cannot be read from \
                         /proc/thread-self/fdinfo, so whether it is on a file system a user \
                         serves cannot be told"
                .to_owned()),
            false => Ok(None),
        };
    };
    let table = read().map_err(|e| unreadable(&e))?;
    Ok(match table.into_iter().find(|m| m.id == id) {
        Some(mount) => mount.user_served().then_some(NotRoots::Users(mount)),
        // In a chroot whose top is not a mount point, the table shows none of the mount it
        // lies on: the file on `/`'s own mount is where its path says (final read s41 #2).
        None if root_mount_id() == Some(id) => None,
        None => Some(NotRoots::Detached),
    })
}

/// The mount id of `/` as this process sees it (opened O_PATH: nothing is asked of a server).
fn root_mount_id() -> Option<u64> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    let root = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open("/")
        .ok()?;
    mount_id(root.as_fd())
}

/// Why an open file is not taken to be on a file system root can trust.
#[derive(Debug, Clone, PartialEq)]
pub enum NotRoots {
    /// A user serves it.
    Users(Mount),
    /// Its mount has left the table since it was opened.
    Detached,
}

/// Whether a user could mount a file system of theirs here: `/dev/fuse` is there. Where it is
/// not, a table that cannot be read (no /proc) hides none.
pub fn users_can_mount() -> bool {
    Path::new("/dev/fuse").exists()
}

/// Why nothing can be told where the table cannot be read.
pub fn unreadable(e: &std::io::Error) -> String {
    format!(
        "the mount table ({MOUNT_TABLE}) cannot be read ({e}), so whether a path is on a file \
         system a user serves cannot be told"
    )
}

/// A mount point as the table writes it: a space, tab, newline or backslash as `\040` and so
/// on, in octal.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n\
        40 22 0:41 / /home/al\\040ice rw,nosuid - fuse.sshfs host: rw,user_id=1001,group_id=1001\n\
        41 22 0:42 / /home/b\\134x rw - tmpfs tmpfs rw\n\
        42 22 0:43 / /mnt/roots rw - fuse.rclone r: rw,user_id=0,group_id=0\n\
        43 22 0:44 / /sys/fs/fuse/connections rw - fusectl fusectl rw\n\
        44 22 0:45 / /mnt/x rw - fuse x rw\n";

    #[test]
    fn points_are_unescaped_and_users_fuse_mounts_told() {
        let all = parse(TABLE);
        let points: Vec<&Path> = all.iter().map(|m| m.point.as_path()).collect();
        assert_eq!(
            points,
            [
                Path::new("/"),
                "/home/al ice".as_ref(),
                "/home/b\\x".as_ref(),
                "/mnt/roots".as_ref(),
                "/sys/fs/fuse/connections".as_ref(),
                "/mnt/x".as_ref()
            ]
        );
        let served: Vec<u64> = all
            .iter()
            .filter(|m| m.user_served())
            .map(|m| m.id)
            .collect();
        // Root's rclone and the fusectl control file system are not users'; one with no
        // user_id is.
        assert_eq!(served, [40, 44]);
        assert_eq!(all[1].served_by(), "uid 1001 serves");
        assert_eq!(all[5].served_by(), "a user serves");
        assert_eq!(unescape(b"a\\134b\\011"), b"a\\b\t");
        assert_eq!(unescape(b"a\\9"), b"a\\9");
        let here = read().unwrap();
        assert!(here.iter().any(|m| m.point == Path::new("/")));
    }

    /// An open file's mount is read from procfs, and is one of the table's.
    #[test]
    fn an_open_files_mount_is_in_the_table() {
        use std::os::fd::AsFd;
        let file = std::fs::File::open("/proc/self/mountinfo").unwrap();
        let id = mount_id(file.as_fd()).unwrap();
        assert!(
            read()
                .unwrap()
                .iter()
                .any(|m| m.id == id && m.fstype == "proc")
        );
        assert_eq!(users_mount_of(file.as_fd()).unwrap(), None);
    }
}
