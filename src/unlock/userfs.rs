//! File systems other users serve, kept out of root's reach: a FUSE mount of theirs
//! (`allow_other`), whose server can leave root's read unanswered, and root's `unlock enrol`
//! then sleeps until the user lets it go (red team s38 F2). Root's enrolment sets every one
//! aside in a mount namespace of its own ([`keep_users_mounts_out`]), told from the kernel's
//! mount table and reached without a name ever looked up inside one (a `stat` of such a mount's
//! root already waits on its server); a path that lay on one is then refused by name.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use facegate_proto::mounts::{self, Mount};

/// A mount whose file system a user other than root serves ([`Mount::user_served`]).
type Served = Mount;

/// The most mounts set aside before giving up (each takes a read of the table).
const MAX_SET_ASIDE: usize = 256;

/// The file systems users serve that this thread set aside ([`keep_users_mounts_out`]), or,
/// with no namespace of its own, that are there: a path that lay on one is refused by name
/// ([`UsersMounts::refusal`]), not read from the folder beneath it.
#[derive(Debug, Default)]
pub struct UsersMounts {
    mounts: Vec<Served>,
    /// Whether they were set aside: where they are still there, a folder with one inside is
    /// refused too, as listing it would walk into the mount.
    aside: bool,
}

/// Keeps every file system a user serves out of what the calling thread (and the threads it
/// starts later) can reach: in a mount namespace of its own ([`private_mounts`]), those there
/// now are set aside, and none mounted later comes in. Checking paths against the mount table
/// alone left two ways in: a mount made after the check, and one already there, moved into a
/// checked folder by renaming the folder it is in (review s39 M1). Called before any other
/// thread starts, as root.
///
/// Err, for the caller to refuse on (fails closed), where that cannot be done and a user could
/// mount one: the kernel refuses a namespace (a container without CAP_SYS_ADMIN) and
/// `/dev/fuse` exists, or a mount cannot be reached without looking inside another's.
pub fn keep_users_mounts_out() -> Result<UsersMounts, String> {
    if let Err(e) = private_mounts() {
        if mounts::users_can_mount() {
            return Err(format!(
                "a mount namespace of its own cannot be made ({e}), and without one a file \
                 system a user mounts (/dev/fuse is there) could leave root's read unanswered"
            ));
        }
        // No user can mount one: those there (if any) are refused by path.
        return Ok(UsersMounts {
            mounts: mounts::users_served()?,
            aside: false,
        });
    }
    let mounts = set_aside_where(Mount::user_served)?;
    Ok(UsersMounts {
        mounts,
        aside: true,
    })
}

fn read_table() -> Result<Vec<Mount>, String> {
    mounts::read().map_err(|e| mounts::unreadable(&e))
}

/// Detaches from the calling thread's mount namespace every mount the table shows that
/// `chosen` picks, until none is left: the ones detached. Each is reached from `/` one name at
/// a time, no link followed, and detached through its descriptor as soon as the walk stands on
/// any chosen mount, so no name is ever looked up inside one: a user who renames folders or
/// plants links between the table's read and the walk can send it elsewhere, never through
/// their server (final read s39 F1: a walk by path did).
fn set_aside_where(chosen: impl Fn(&Served) -> bool) -> Result<Vec<Served>, String> {
    let mut aside = Vec::new();
    for _ in 0..MAX_SET_ASIDE {
        let left: Vec<Served> = read_table()?.into_iter().filter(&chosen).collect();
        let Some(first) = left.first() else {
            return Ok(aside);
        };
        let ids: std::collections::HashSet<u64> = left.iter().map(|m| m.id).collect();
        let reached = left.iter().find_map(|m| stand_on(&m.point, &ids));
        let Some((fd, id)) = reached else {
            return Err(format!(
                "a {} file system {}, at {}, cannot be set aside: its path leads elsewhere",
                first.fstype,
                first.served_by(),
                crate::shown::Shown(&first.point)
            ));
        };
        let handle = format!(
            "/proc/thread-self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        );
        rustix::mount::unmount(handle.as_str(), rustix::mount::UnmountFlags::DETACH)
            .map_err(|e| format!("a file system a user serves cannot be set aside ({e})"))?;
        aside.extend(left.into_iter().find(|m| m.id == id));
    }
    Err(format!(
        "more than {MAX_SET_ASIDE} file systems users serve are mounted; none was read"
    ))
}

/// Walks `point` from `/` one name at a time (no link followed, each opened O_PATH, which asks
/// no server anything) until it stands on a mount whose id is in `ids`: that descriptor and
/// the id. None where the path leads to none (a link, a name gone).
fn stand_on(
    point: &Path,
    ids: &std::collections::HashSet<u64>,
) -> Option<(std::os::fd::OwnedFd, u64)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut at = rustix::fs::open("/", flags | OFlags::DIRECTORY, Mode::empty()).ok()?;
    for part in point.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    }) {
        at = rustix::fs::openat(&at, part, flags, Mode::empty()).ok()?;
        let id = mounts::mount_id(std::os::fd::AsFd::as_fd(&at))?;
        if ids.contains(&id) {
            return Some((at, id));
        }
    }
    None
}

impl UsersMounts {
    /// Why the first of `paths` that lay on one of these file systems is refused: its links
    /// followed by name one by one. None where none did. A folder with one inside is read
    /// where it was set aside, as the mount is no longer there to walk into
    /// ([`UsersMounts::notes`] names it), and refused where it is still there.
    pub fn refusal<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Option<String> {
        paths.into_iter().find_map(|path| {
            let (mount, reach) = reaches(path, &self.mounts)?;
            if reach == Reach::Inside && self.aside {
                return None;
            }
            Some(format!(
                "{} is on a {} file system that {} (mounted at {}), which root does not read \
                 (it could leave the read unanswered for good); copy the photos to a folder on \
                 a local disk",
                crate::shown::Shown(path),
                mount.fstype,
                mount.served_by(),
                crate::shown::Shown(&mount.point)
            ))
        })
    }

    /// A note for each of `paths` that is a folder with one of these file systems inside it,
    /// set aside: read without it, which the user may not expect (what they see there is not
    /// read).
    pub fn notes<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Vec<String> {
        paths
            .into_iter()
            .filter(|_| self.aside)
            .filter_map(|path| match reaches(path, &self.mounts)? {
                (mount, Reach::Inside) => Some(format!(
                    "{} (a {} file system that {}) was not read: root does not read one",
                    crate::shown::Shown(&mount.point),
                    mount.fstype,
                    mount.served_by()
                )),
                (_, Reach::On) => None,
            })
            .collect()
    }
}

/// How a path reaches a mount: through it, or as a folder it lies inside.
#[derive(Debug, PartialEq)]
enum Reach {
    On,
    Inside,
}

/// Gives the calling thread a mount namespace of its own into which no mount made elsewhere
/// propagates: a FUSE file system a user mounts over a folder afterwards is mounted where this
/// thread does not look. Only the calling thread moves (and the threads it starts later), so it
/// is called before any other starts.
fn private_mounts() -> std::io::Result<()> {
    use rustix::mount::MountPropagationFlags;
    // SAFETY: the function is unsafe for UnshareFlags::FILES (threads left with file descriptor
    // tables apart); NEWNS unshares the mount namespace and the working folder alone.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )?;
    Ok(())
}

/// The mount of `served` that `path` reaches, its links followed by name one by one (each folder
/// on the way compared with the mounts before it is looked at), or that lies inside it.
fn reaches<'a>(path: &Path, served: &'a [Served]) -> Option<(&'a Served, Reach)> {
    let absolute = match path.is_absolute() {
        true => path.to_owned(),
        false => std::env::current_dir().ok()?.join(path),
    };
    let mut todo: VecDeque<OsString> = parts(&absolute);
    let mut at = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&part);
        if let Some(mount) = served.iter().find(|m| m.point == next) {
            return Some((mount, Reach::On));
        }
        match std::fs::read_link(&next) {
            // Past 40 links the open that follows fails on its own (ELOOP).
            Ok(target) if links < 40 => {
                links += 1;
                if target.is_absolute() {
                    at = PathBuf::from("/");
                }
                for p in parts(&target).into_iter().rev() {
                    todo.push_front(p);
                }
            }
            _ => at = next,
        }
    }
    // A folder with such a mount inside it: listing it would walk into the mount.
    served
        .iter()
        .find(|m| m.point.starts_with(&at))
        .map(|m| (m, Reach::Inside))
}

/// `path`'s named parts, `.` left out.
fn parts(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use facegate_proto::mounts::MOUNT_TABLE;

    /// A tmpfs mounted as root on a new folder `name` in `dir`, for the namespace tests (FUSE
    /// is not needed to show where a mount is seen); None, said, where not root.
    fn tmpfs(dir: &Path, name: &str) -> Option<PathBuf> {
        if !rustix::process::geteuid().is_root() {
            println!("skipped: mounting needs root");
            return None;
        }
        let point = dir.join(name);
        std::fs::create_dir(&point).unwrap();
        rustix::mount::mount(
            "facegate-test",
            &point,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .unwrap();
        Some(point)
    }

    fn unmount(point: &Path) {
        let _ = rustix::mount::unmount(point, rustix::mount::UnmountFlags::DETACH);
    }

    /// Whether the mount table `table` has a mount at `point`.
    fn seen(table: &[u8], point: &Path) -> bool {
        mounts::parse(table).iter().any(|m| m.point == point)
    }

    /// A mount made outside after private_mounts is not seen inside it: one a user makes
    /// between the check and root's read lands where root does not look. Its effect is shown
    /// on a tmpfs (mounting needs root; FUSE is not needed to show where a mount is seen).
    /// The tmpfs is unmounted before any assertion.
    #[test]
    fn a_mount_made_after_private_mounts_is_not_seen() {
        if !rustix::process::geteuid().is_root() {
            println!("skipped: mounting needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (entered, has_entered) = std::sync::mpsc::channel();
        let (mounted, has_mounted) = std::sync::mpsc::channel::<()>();
        // A thread of its own: only the thread that calls it moves.
        let inside = std::thread::spawn(move || {
            private_mounts().unwrap();
            entered.send(()).unwrap();
            has_mounted.recv().unwrap();
            std::fs::read(MOUNT_TABLE).unwrap()
        });
        has_entered.recv().unwrap();
        let later = tmpfs(dir.path(), "later").unwrap();
        let outside = std::fs::read(MOUNT_TABLE).unwrap();
        mounted.send(()).unwrap();
        let inside = inside.join().unwrap();
        unmount(&later);
        println!(
            "{} seen outside: {}, inside: {}",
            later.display(),
            seen(&outside, &later),
            seen(&inside, &later)
        );
        assert!(seen(&outside, &later));
        assert!(!seen(&inside, &later));
    }

    /// Mounts there before the namespace was made are set aside inside it (a mount inside
    /// another too), and stay outside: one already there could be moved into a checked folder
    /// by renaming the folder it is in. Shown on tmpfs, as above.
    #[test]
    fn mounts_there_before_are_set_aside_inside_only() {
        let dir = tempfile::tempdir().unwrap();
        let Some(outer) = tmpfs(dir.path(), "outer") else {
            return;
        };
        let inner = tmpfs(&outer, "inner").unwrap();
        let under = dir.path().to_owned();
        let (inside, aside) = std::thread::spawn(move || {
            private_mounts().unwrap();
            let aside = set_aside_where(|m| m.point.starts_with(&under)).unwrap();
            (std::fs::read(MOUNT_TABLE).unwrap(), aside)
        })
        .join()
        .unwrap();
        println!("set aside: {aside:?}");
        let outside = std::fs::read(MOUNT_TABLE).unwrap();
        unmount(&outer);
        for p in [&outer, &inner] {
            println!(
                "{}: outside {}, inside {}",
                p.display(),
                seen(&outside, p),
                seen(&inside, p)
            );
            assert!(seen(&outside, p) && !seen(&inside, p));
        }
        // The outer taken with the inner inside it, in one round.
        assert_eq!(aside.len(), 1);
        assert_eq!(aside[0].point, outer);
    }

    /// The walk to a mount never follows a link: one planted on the way, after the table was
    /// read, could lead it through a user's server.
    #[test]
    fn the_walk_to_a_mount_follows_no_link() {
        let dir = tempfile::tempdir().unwrap();
        let Some(mount) = tmpfs(dir.path(), "m") else {
            return;
        };
        std::os::unix::fs::symlink(&mount, dir.path().join("link")).unwrap();
        let id = mounts::parse(&std::fs::read(MOUNT_TABLE).unwrap())
            .into_iter()
            .find(|m| m.point == mount)
            .map(|m| m.id)
            .unwrap();
        let ids = std::collections::HashSet::from([id]);
        let by_name = stand_on(&mount.join("x"), &ids).map(|(_, id)| id);
        let by_link = stand_on(&dir.path().join("link/x"), &ids).map(|(_, id)| id);
        unmount(&mount);
        assert_eq!(
            by_name,
            Some(id),
            "it stands on the mount, before looking inside"
        );
        assert_eq!(by_link, None, "the link is not followed");
    }

    /// A photo on a user's mount is refused whether or not it was set aside; a folder with one
    /// inside is read (with a note) only where it was, as listing it would walk into the mount
    /// where it is still there (no namespace could be made, and no `/dev/fuse`).
    #[test]
    fn a_folder_with_a_mount_inside_is_refused_only_where_it_is_still_there() {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("mnt");
        let users = |aside| UsersMounts {
            mounts: vec![Served {
                id: 90,
                point: point.clone(),
                fstype: "fuse.test".into(),
                user_id: Some(1001),
            }],
            aside,
        };
        for aside in [true, false] {
            let mounts = users(aside);
            assert!(mounts.refusal([point.join("x.png").as_path()]).is_some());
            assert_eq!(
                mounts.refusal([dir.path()]).is_some(),
                !aside,
                "aside {aside}"
            );
            assert_eq!(mounts.notes([dir.path()]).len(), usize::from(aside));
        }
    }

    /// A link into a user's mount, and a `..` out of a folder, are followed by name to the
    /// mount; a path elsewhere does not reach it, and neither does one beside its name.
    #[test]
    fn a_path_is_followed_to_a_served_mount_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mount = root.join("mnt");
        std::fs::create_dir_all(root.join("home/ann")).unwrap();
        let served = [Served {
            id: 90,
            point: mount.clone(),
            fstype: "fuse.test".into(),
            user_id: Some(1001),
        }];
        std::os::unix::fs::symlink(mount.join("facegate"), root.join("home/ann/store")).unwrap();
        std::os::unix::fs::symlink("../../mnt", root.join("home/ann/rel")).unwrap();
        for reached in [
            root.join("home/ann/store/users"),
            root.join("home/ann/rel/x.png"),
            root.join("home/ann/../../mnt/x.png"),
            mount.clone(),
        ] {
            assert_eq!(
                reaches(&reached, &served),
                Some((&served[0], Reach::On)),
                "{reached:?}"
            );
        }
        // A folder the mount is in: listing it would walk into the mount.
        assert_eq!(reaches(root, &served), Some((&served[0], Reach::Inside)));
        for apart in [root.join("home/ann/photos/x.png"), root.join("mntx/a.png")] {
            assert_eq!(reaches(&apart, &served), None, "{apart:?}");
        }
    }
}
