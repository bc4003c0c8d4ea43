//! Which account an enrolment was made for: its uid, and its home folder as it was, kept beside
//! its faces when `facegate unlock enrol` runs. Enrolments are found by account name, and a name
//! outlives its account: after `userdel alice; useradd alice`, the new alice must not be
//! unlocked by the old alice's face (red team, session 24). The daemon answers only when the
//! name still belongs to the uid enrolled; an enrolment without one (made before it was
//! recorded) is refused. `unlock enrol` adds only to an enrolment made for the same uid
//! ([`may_add`], on the daemon's own rule): the old faces must be removed first, not taken over
//! by the new account.
//!
//! `useradd` gives a freed uid out again as often as not (the journey of session 32 got 1002
//! back, and the old face unlocked the new account), so the home folder tells the two apart
//! where it can: `userdel -r` leaves the folder gone, and `useradd -m` makes one with another
//! inode, birth time or inode generation. A home with something mounted on it (ecryptfs,
//! pam_mount) is read beneath the mount, never entered. It is evidence only where it can be
//! read as it was ([`Reading`]): homes mounted on demand (autofs) or hidden from the daemon
//! decide nothing, so those setups are not refused for a reason that is not there (the strict
//! check of session 32 refused everyone under the packaged unit's `ProtectHome=yes`, and was
//! taken back). Still not told apart: a new account given the old uid that keeps the old
//! home; remove an account's enrolment with the account (`facegate unlock remove`).

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::Commands;
use crate::store::{Store, StoreError};

/// The file in the person's folder.
const FILE: &str = "account.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct EnrolledFor {
    uid: Option<u32>,
    /// The account's home folder when enrolled, where it could be read ([`read_home`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home: Option<Home>,
    /// The path it was read at: a home moved since to where nothing can be told is not shown
    /// to be the one enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home_path: Option<PathBuf>,
    /// The accounts root named as the same person's (`--same-person-as`), each with the uid its
    /// enrolment was for then: one made again since is not the account that was named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    same_person: Vec<Linked>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Linked {
    account: String,
    uid: u32,
    /// The home its enrolment recorded then: an account removed and enrolled again under the
    /// same name and uid (another person) is not the one named (red team s33 F2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home: Option<Home>,
}

impl Linked {
    /// Whether `record`, the named account's enrolment now, is the one that was named.
    fn names(&self, account: &str, record: &EnrolledFor) -> bool {
        let same_home = match (self.home, record.home) {
            (Some(then), Some(now)) => !then.differs_from(&now),
            (None, _) => true,
            // Recorded then, none now: not the enrolment that was named.
            (Some(_), None) => false,
        };
        self.account == account && Some(self.uid) == record.uid && same_home
    }
}

/// A home folder, told apart from one made again at the same path: its inode, when it was
/// made (seconds and nanoseconds since 1970) and its inode's generation, where the file system
/// says. ext4 hands a freed inode out again at once, so the inode alone tells nothing there;
/// the generation changes with each reuse, also where no birth time is kept (ext4 with
/// 128-byte inodes; review s33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Home {
    ino: u64,
    born: Option<(u64, u32)>,
    #[serde(default)]
    generation: Option<u32>,
    /// The folder above it (device, inode): where that folder shows nothing later, whether it
    /// is the same folder emptied (the home is gone) or another put in its place to hide homes
    /// (`ProtectHome=yes`: nothing can be told). Not part of the home's identity.
    #[serde(default)]
    above: Option<(u64, u64)>,
}

impl Home {
    /// A folder known by its inode alone (under a mount, where nothing else can be read).
    fn inode(ino: u64) -> Home {
        Home {
            ino,
            born: None,
            generation: None,
            above: None,
        }
    }

    /// Another folder: another inode, or another birth or generation where both readings
    /// have it. A home moved with `usermod -m` on the same file system is the same folder.
    fn differs_from(&self, now: &Home) -> bool {
        fn both_differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        self.ino != now.ino
            || both_differ(self.born, now.born)
            || both_differ(self.generation, now.generation)
    }
}

/// What an account's home folder says of the account now.
#[derive(Debug)]
enum Reading {
    /// A folder on the file system of the folder above it.
    Folder(Home),
    /// Nothing at the path, or something other than a folder, among other homes: the folder
    /// enrolled is gone (`userdel -r`, then `useradd` without `-m`).
    Gone,
    /// Nothing can be told: the folder above cannot be read, homes are mounted there on
    /// demand (autofs), or the home cannot be opened.
    Unknown,
    /// The folder above shows nothing (device, inode): emptied, when it is the one the home
    /// was in, or another hiding homes from the daemon, as `ProtectHome=yes` does.
    Emptied((u64, u64)),
    /// Something is mounted on it (ecryptfs and pam_mount mount over the home at login) and no
    /// copy of the mount could be made to read beneath it: the inode of the folder under the
    /// mount, from the entry in the folder above, where listed. Only that can be compared
    /// without going into what is mounted.
    Mounted(Option<u64>),
}

/// The folder at `path`, read as [`Reading`]: opened without following a link, and read on
/// the opened folder. The folder above is followed (`/home` may be a link to `/var/home`), and
/// looked up once: all that is asked of it is asked of that one folder (review s33 #6).
fn read_home(path: &Path) -> Reading {
    use rustix::fs::{Mode, OFlags};
    use rustix::mount::OpenTreeFlags;
    const AUTOFS_SUPER_MAGIC: i64 = 0x0187;
    let (Some(above), Some(name)) = (path.parent(), path.file_name()) else {
        return Reading::Unknown;
    };
    let folder_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(above_fd) = rustix::fs::open(above, folder_flags, Mode::empty()) else {
        return Reading::Unknown;
    };
    let Ok(above_stat) = rustix::fs::fstat(&above_fd) else {
        return Reading::Unknown;
    };
    let above_id = (above_stat.st_dev, above_stat.st_ino);
    // `f_type` is an i64 here and narrower on other targets.
    #[allow(clippy::useless_conversion)]
    let automounted = rustix::fs::fstatfs(&above_fd).map_or(true, |fs| {
        i64::try_from(fs.f_type).is_ok_and(|t| t == AUTOFS_SUPER_MAGIC)
    });
    if automounted {
        return Reading::Unknown;
    }
    match shows_nothing(&above_fd) {
        Some(false) => {}
        Some(true) => return Reading::Emptied(above_id),
        None => return Reading::Unknown,
    }
    let flags = folder_flags | OFlags::NOFOLLOW;
    // Beneath whatever is mounted on it: opened in a detached copy of the mount the folder
    // above is on, made without the mounts under it (open_tree without AT_RECURSIVE), so
    // ecryptfs or pam_mount over the home reads as the folder under them, and a user's FUSE
    // mount there is never entered (it could hold the daemon's thread). No race with a mount
    // made meanwhile, and no mount table to read (review s33).
    let beneath = rustix::mount::open_tree(
        &above_fd,
        "",
        OpenTreeFlags::AT_EMPTY_PATH
            | OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    );
    let opened = match beneath {
        Ok(tree) => rustix::fs::openat(&tree, name, flags, Mode::empty()),
        // No copy of the mount may be made here (no CAP_SYS_ADMIN, an old kernel): the mount
        // table says whether something is mounted on it, and then only the inode under it is
        // read, from the folder above's entry (on overlayfs without xino, not the inode a
        // stat gives: such a home is refused as another).
        Err(_) if mounted_on(above, path) => return Reading::Mounted(entry_ino(&above_fd, name)),
        Err(_) => rustix::fs::openat(&above_fd, name, flags, Mode::empty()),
    };
    let folder = match opened {
        Ok(fd) => std::fs::File::from(fd),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
            return Reading::Gone;
        }
        Err(_) => return Reading::Unknown,
    };
    let Ok(meta) = folder.metadata() else {
        return Reading::Unknown;
    };
    use std::os::unix::fs::MetadataExt;
    if meta.dev() != above_stat.st_dev {
        return Reading::Unknown;
    }
    let born = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| (d.as_secs(), d.subsec_nanos()));
    Reading::Folder(Home {
        ino: meta.ino(),
        born,
        generation: generation(&folder),
        above: Some(above_id),
    })
}

/// Whether the folder open as `above` lists nothing (`.` and `..` aside); None when it cannot
/// be listed. An entry that cannot be read is something listed: the home is then read as it
/// would be, not taken as unknown (review s34: that accepted what the reading could refuse).
fn shows_nothing(above: &rustix::fd::OwnedFd) -> Option<bool> {
    for entry in rustix::fs::Dir::read_from(above).ok()? {
        let Ok(entry) = entry else {
            return Some(false);
        };
        if !matches!(entry.file_name().to_bytes(), b"." | b"..") {
            return Some(false);
        }
    }
    Some(true)
}

/// The inode the entry `name` of the folder open as `above` gives (`d_ino`), where it is listed.
fn entry_ino(above: &rustix::fd::OwnedFd, name: &std::ffi::OsStr) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    rustix::fs::Dir::read_from(above)
        .ok()?
        .map_while(Result::ok)
        .find(|entry| entry.file_name().to_bytes() == name.as_bytes())
        .map(|entry| entry.ino())
}

/// Whether something is mounted on `path` (in the folder `above`), or it cannot be told: asked
/// of the mount table, never of the path, since opening or even stat-ing a mount point goes into
/// what is mounted there, and a user's own FUSE mount on their home could hold the daemon's
/// thread there for as long as they like (review s33).
fn mounted_on(above: &Path, path: &Path) -> bool {
    let (Ok(above), Some(name)) = (std::fs::canonicalize(above), path.file_name()) else {
        return true;
    };
    let Ok(table) = facegate_proto::mounts::read() else {
        return true;
    };
    let path = above.join(name);
    table.iter().any(|m| m.point == path)
}

/// The generation of the inode open as `folder` (`FS_IOC_GETVERSION`), where the file system
/// keeps one (ext4, XFS, btrfs).
fn generation(folder: &std::fs::File) -> Option<u32> {
    use rustix::ioctl::{Getter, ioctl, opcode};
    const GETVERSION: rustix::ioctl::Opcode = opcode::read::<std::ffi::c_long>(b'v', 1);
    // SAFETY: FS_IOC_GETVERSION is `_IOR('v', 1, long)`, and every file system that answers it
    // writes the generation as an `int` (put_user of `i_generation` to an `int __user *`).
    let got = unsafe { ioctl(folder, Getter::<GETVERSION, std::ffi::c_int>::new()) };
    got.ok().map(|g| g as u32)
}

/// The account that has a name now, as the user database says: its uid and home folder, looked
/// up once, and the folder read at most once however often it is asked about: each check of a
/// request (as it is read, at its turn for the camera) asks one passwd entry and reads one
/// home, where each asked two lookups (review s33 #3, #5).
#[derive(Debug)]
pub struct Holder {
    uid: u32,
    name: String,
    dir: PathBuf,
    home: OnceCell<Reading>,
}

impl Holder {
    /// The account named `user`, None when there is none (or the user database cannot say).
    pub fn of(user: &str) -> Option<Holder> {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(Holder::from_entry)
    }

    /// The account whose uid is `uid`, looked up by it.
    pub fn with_uid(uid: u32) -> Option<Holder> {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(Holder::from_entry)
    }

    fn from_entry(account: nix::unistd::User) -> Holder {
        Holder {
            uid: account.uid.as_raw(),
            name: account.name,
            dir: account.dir,
            home: OnceCell::new(),
        }
    }

    /// An account with `uid` whose home folder is `dir` (the tests' accounts).
    #[cfg(test)]
    pub(crate) fn at(uid: u32, dir: PathBuf) -> Holder {
        Holder {
            uid,
            name: String::new(),
            dir,
            home: OnceCell::new(),
        }
    }

    /// Its name in the user database.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    fn home(&self) -> &Reading {
        self.home.get_or_init(|| read_home(&self.dir))
    }
}

/// `user`'s record (the default where there is none yet).
fn read(store: &Store, user: &str) -> Result<EnrolledFor, StoreError> {
    store.read_state(user, FILE)
}

/// What [`record`] wrote that root is to be told.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Accounts named as the same person's that could not be linked: their record cannot be
    /// read, or does not say which account it was made for.
    pub unlinked: Vec<String>,
    /// Why the check of a new account given the uid is off, where it is ([`Records::unguarded`]).
    pub unguarded: Option<&'static str>,
}

/// Records that `user`'s enrolment is for `account`, as its home folder is now, and that it
/// is one person's with the enrolled accounts `same_person` (kept with those named before:
/// [`may_add`] let no other account's enrolment be added to).
pub fn record(
    store: &Store,
    user: &str,
    account: &Holder,
    same_person: &[String],
) -> Result<Recorded, StoreError> {
    let mut unlinked = Vec::new();
    // A home that cannot be read now (mounted in the session that enrols, say) keeps the one
    // recorded before: written over with nothing, the check was gone for good (review s33).
    let home_now = match account.home() {
        Reading::Folder(home) => Some((*home, account.dir.clone())),
        _ => None,
    };
    // Read and written under the store's lock: two enrolments at once each wrote over the
    // other's links (red team s35). The named records too: one read before it could be removed,
    // its links dropped, before this link to it was written (review s35 #11).
    let (before, now, unguarded) = store.update_state(user, FILE, |record: &mut EnrolledFor| {
        let before = record.home;
        for named in same_person {
            match read(store, named) {
                // Named again: the enrolment it names now.
                Ok(EnrolledFor {
                    uid: Some(uid),
                    home,
                    ..
                }) => {
                    record.same_person.retain(|l| &l.account != named);
                    record.same_person.push(Linked {
                        account: named.clone(),
                        uid,
                        home,
                    });
                }
                _ => unlinked.push(named.clone()),
            }
        }
        // A link made while the enrolment it names had no home takes the home that enrolment
        // has now, so that one made again after it is told apart from here on (review s33
        // #16). Since `pin_links_to` pins such links when the named enrolment first gets its
        // home, this finds only links written before it did.
        for link in record.same_person.iter_mut().filter(|l| l.home.is_none()) {
            if let Ok(named) = read(store, &link.account)
                && link.names(&link.account, &named)
            {
                link.home = named.home;
            }
        }
        if let Some((home, path)) = &home_now {
            record.home = Some(*home);
            record.home_path = Some(path.clone());
        }
        record.uid = Some(account.uid);
        (before, record.home, record.unguarded())
    })?;
    if let (None, Some(home)) = (before, now)
        && let Err(e) = pin_links_to(store, user, account.uid, home)
    {
        // The enrolment is kept; only a link stays unpinned until it is written again.
        tracing::warn!("{user}: links to it could not all be pinned to its home: {e}");
    }
    Ok(Recorded {
        unlinked,
        unguarded,
    })
}

/// Links other enrolments made to `user`'s while it had no home, pinned to the home it has
/// now, its first: one made again after it is then not the one they named, whichever record
/// names it (review s34: only the naming record's own next enrolment pinned them).
fn pin_links_to(store: &Store, user: &str, uid: u32, home: Home) -> Result<(), StoreError> {
    let unpinned = |l: &Linked| l.account == user && l.uid == uid && l.home.is_none();
    edit_links(store, user, |links| {
        let mut pinned = false;
        for link in links.iter_mut().filter(|l| unpinned(l)) {
            link.home = Some(home);
            pinned = true;
        }
        pinned
    })?;
    Ok(())
}

/// Drops every other enrolment's link to `user`, whose enrolment is removed: the accounts
/// that named it as the same person's. A link left behind named whatever was enrolled next
/// under that name and uid (an unpinned one always did), so a later enrolment of `user` was
/// one person's with them without anyone saying so again (final read s34).
pub fn unlink(store: &Store, user: &str) -> Result<Vec<String>, StoreError> {
    edit_links(store, user, |links| {
        let before = links.len();
        links.retain(|l| l.account != user);
        links.len() != before
    })
}

/// Runs `edit` on the links of every enrolment but `user`'s; returns those it says it changed.
/// A record that does not parse is left as it is (the gate does not use it: [`mismatch`]); a
/// disk error stops the pass, for the command to say.
fn edit_links(
    store: &Store,
    user: &str,
    mut edit: impl FnMut(&mut Vec<Linked>) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut edited = Vec::new();
    for other in store.people()?.into_iter().filter(|o| o != user) {
        // Each under the store's lock, as read (red team s35: two enrolments at once).
        match store.edit_state(&other, FILE, |record: &mut EnrolledFor| {
            edit(&mut record.same_person)
        }) {
            Ok(true) => edited.push(other),
            Ok(false) | Err(StoreError::Corrupt { .. } | StoreError::UnknownPerson(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(edited)
}

/// Every enrolled account's record, read once for a command that asks about each of them
/// (`unlock list` read every record again for each account: review s33 #7).
pub struct Records(BTreeMap<String, EnrolledFor>);

impl Records {
    /// The records that can be read; one that cannot is as if absent (the gate says it is not
    /// used, [`mismatch`]).
    pub fn load(store: &Store) -> Records {
        let people = store.people().unwrap_or_default();
        let read = people
            .into_iter()
            .filter_map(|user| read(store, &user).ok().map(|record| (user, record)));
        Records(read.collect())
    }

    /// The enrolled accounts named as one person's with `user`, by either enrolment, as long as
    /// the account named is still the one enrolled then: adding to either later needs no
    /// `--same-person-as` again (it did, and the refusal advised removing an image that was
    /// not odd; journey s32 #8).
    pub fn one_person_with(&self, user: &str) -> Vec<String> {
        // `record` names `account`, whose enrolment is `theirs` now.
        let names = |record: &EnrolledFor, account: &str, theirs: &EnrolledFor| {
            record.same_person.iter().any(|l| l.names(account, theirs))
        };
        let none = EnrolledFor::default();
        let mine = self.0.get(user).unwrap_or(&none);
        self.0
            .iter()
            .filter(|(other, theirs)| {
                *other != user && (names(mine, other, theirs) || names(theirs, user, mine))
            })
            .map(|(other, _)| other.clone())
            .collect()
    }

    /// Whether `user`'s enrolment records which account it is for: only such an enrolment can
    /// be named as one person's with another ([`record`]).
    pub fn for_an_account(&self, user: &str) -> bool {
        self.0.get(user).is_some_and(|r| r.uid.is_some())
    }

    /// What root is told of `user`'s enrolment when it records which account it is for but no
    /// home folder ([`EnrolledFor::unguarded`]).
    pub fn unguarded(&self, user: &str) -> Option<&'static str> {
        self.0.get(user)?.unguarded()
    }
}

impl EnrolledFor {
    /// Why a new account given its uid would not be told apart, when no home folder is
    /// recorded (an account enrolled before its first login, as with pam_mkhomedir, unlocked
    /// the next holder of its uid in silence; journey s33). None when a home is recorded, or no
    /// uid (then [`mismatch`] says it is not used).
    fn unguarded(&self) -> Option<&'static str> {
        (self.uid.is_some() && self.home.is_none()).then_some(
            "no home folder is recorded for it (none could be read as a plain folder when it \
             was enrolled: missing, mounted or hidden), so a new account given its uid would \
             not be told apart; add an image once the home is there, and remove the enrolment \
             with the account",
        )
    }
}

/// Why `user`'s enrolment does not answer for the account that now has the name (`now`; none
/// when there is no such account); None when it does. `commands`: how the remedy is written.
pub fn mismatch(
    store: &Store,
    user: &str,
    now: Option<&Holder>,
    commands: &Commands,
) -> Option<String> {
    let record = match read(store, user) {
        Ok(record) => record,
        Err(e) => return Some(format!("the record of its account cannot be read ({e})")),
    };
    let again = commands.re_enrol(user);
    match (record.uid, now.map(|holder| (holder.uid, holder))) {
        (Some(was), Some((is, holder))) if was == is => {
            // No home recorded: nothing to tell by ([`Records::unguarded`] says so to root).
            let enrolled = record.home?;
            let moved = record
                .home_path
                .as_ref()
                .is_some_and(|path| *path != holder.dir);
            let what = match *holder.home() {
                Reading::Folder(now) if enrolled.differs_from(&now) => {
                    "is not the one it had when enrolled"
                }
                Reading::Gone => "is gone since it was enrolled",
                // The only home in its folder, removed (not a folder put there to hide homes).
                Reading::Emptied(above) if enrolled.above == Some(above) => {
                    "is gone since it was enrolled"
                }
                Reading::Mounted(Some(ino)) if enrolled.differs_from(&Home::inode(ino)) => {
                    "is not the one it had when enrolled (read under what is mounted on it)"
                }
                // A home moved somewhere nothing can be told of (`/`, a mount): the folder
                // enrolled is not shown to be there (red team s33 F1).
                Reading::Unknown | Reading::Mounted(_) | Reading::Emptied(_) if moved => {
                    "is now another path, which cannot be read as the folder it had"
                }
                _ => return None,
            };
            Some(format!(
                "{user}'s home folder {what} (the account was made again with the same uid, or \
                 its home was made again, moved or copied): {again}"
            ))
        }
        (Some(was), Some((is, _))) => Some(format!(
            "it was enrolled for uid {was}, and {user} is now uid {is} (another account of the \
             same name): {again}"
        )),
        (Some(was), None) => Some(format!(
            "it was enrolled for uid {was}, and {user} is no longer an account: remove it ({})",
            commands.unlock(&["remove", user])
        )),
        (None, _) => Some(format!(
            "it does not record which account it was made for: {again}"
        )),
    }
}

/// Whether `unlock enrol` may add faces to `user`'s existing enrolment for `account`: only
/// when it was made for that account. Made for another, or not saying (made before the uid was
/// recorded, perhaps for an account of that name since deleted), the faces added would be
/// recorded as this account's, and the old ones with them (design review, session 29: R2):
/// the enrolment is removed first. Why not, when not.
pub fn may_add(
    store: &Store,
    user: &str,
    account: &Holder,
    commands: &Commands,
) -> Result<(), String> {
    match mismatch(store, user, Some(account), commands) {
        None => Ok(()),
        Some(why) => Err(format!("{user}'s enrolment cannot be added to: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder made again where one was removed is told apart, as `userdel -r` and
    /// `useradd -m` leave it; one renamed (`usermod -m`) is not; nothing, or a link, where the
    /// folder was is gone; a folder above that shows nothing tells nothing.
    #[test]
    fn a_home_made_again_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let folder = |path: &Path| match read_home(path) {
            Reading::Folder(home) => home,
            other => panic!("{}: {other:?}", path.display()),
        };
        std::fs::create_dir(dir.path().join("bob")).unwrap();
        let home = dir.path().join("alice");
        std::fs::create_dir(&home).unwrap();
        let enrolled = folder(&home);
        println!("enrolled: {enrolled:?}");
        assert!(!enrolled.differs_from(&folder(&home)));

        let moved = dir.path().join("alice-moved");
        std::fs::rename(&home, &moved).unwrap();
        assert!(!enrolled.differs_from(&folder(&moved)));
        assert!(matches!(read_home(&home), Reading::Gone));

        std::fs::remove_dir(&moved).unwrap();
        std::fs::create_dir(&home).unwrap();
        let again = folder(&home);
        println!("made again: {again:?}");
        assert!(
            enrolled.differs_from(&again),
            "neither its inode, its birth nor its generation tells it apart here"
        );
        // Where no birth is kept, the generation alone tells; where neither is, nothing does.
        let unborn = |h: Home| Home { born: None, ..h };
        assert!(unborn(enrolled).differs_from(&unborn(again)));
        let bare = |h: Home| Home {
            generation: None,
            ..unborn(h)
        };
        // (ext4 often hands the inode out again, but not always.)
        assert_eq!(
            bare(enrolled).differs_from(&bare(again)),
            enrolled.ino != again.ino
        );

        std::fs::remove_dir(&home).unwrap();
        std::os::unix::fs::symlink(dir.path().join("bob"), &home).unwrap();
        assert!(matches!(read_home(&home), Reading::Gone), "a link");

        // Emptied: the folder the home was in, which tells it gone; another folder showing
        // nothing (as `ProtectHome=yes` puts one there) does not match it.
        std::fs::remove_file(&home).unwrap();
        std::fs::remove_dir(dir.path().join("bob")).unwrap();
        let emptied = read_home(&home);
        println!("emptied: {emptied:?}");
        assert!(matches!(emptied, Reading::Emptied(above) if again.above == Some(above)));
    }

    /// A link names the enrolment it was made with: the same name and uid enrolled again with
    /// another home (another person) is not it (red team s33 F2).
    #[test]
    fn a_link_names_the_enrolment_it_was_made_with() {
        let home = |ino| Home {
            ino,
            born: None,
            generation: Some(7),
            above: None,
        };
        let record = |home| EnrolledFor {
            uid: Some(1001),
            home,
            home_path: None,
            same_person: Vec::new(),
        };
        let link = Linked {
            account: "ann".into(),
            uid: 1001,
            home: Some(home(5)),
        };
        assert!(link.names("ann", &record(Some(home(5)))));
        assert!(!link.names("bob", &record(Some(home(5)))));
        assert!(!link.names("ann", &record(Some(home(6)))), "enrolled again");
        assert!(
            !link.names("ann", &record(None)),
            "enrolled again, no home now"
        );
        let other_uid = EnrolledFor {
            uid: Some(1002),
            ..record(Some(home(5)))
        };
        assert!(!link.names("ann", &other_uid));
        let homeless = Linked { home: None, ..link };
        assert!(
            homeless.names("ann", &record(Some(home(6)))),
            "nothing to tell by"
        );
    }

    /// Links are kept by the record that names them: one to an enrolment that cannot say
    /// which account it is for is not made, and said; one made while the named enrolment had
    /// no home takes its home once it has one, so that a new enrolment of that name after it
    /// is not the one named (review s33 #4, #16; review s34 #3).
    #[test]
    fn links_are_made_to_accounts_that_can_be_told() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let homes = dir.path().join("homes");
        for user in ["ann", "bob", "cat"] {
            store.add_person(user).unwrap();
            std::fs::create_dir_all(homes.join(user)).unwrap();
        }
        let at = |uid, user: &str| Holder::at(uid, homes.join(user));
        // Bob enrolled before his home was there: recorded without one, and said so.
        let bob = record(
            &store,
            "bob",
            &Holder::at(1002, dir.path().join("gone/bob")),
            &[],
        );
        assert!(bob.unwrap().unguarded.is_some());
        let ann = record(
            &store,
            "ann",
            &at(1001, "ann"),
            &["bob".into(), "cat".into()],
        );
        let ann = ann.unwrap();
        println!("{ann:?}");
        assert_eq!(ann.unlinked, ["cat"], "cat's enrolment names no account");
        assert_eq!(ann.unguarded, None);
        let linked = |user| Records::load(&store).one_person_with(user);
        assert_eq!(linked("ann"), ["bob"]);
        assert_eq!(linked("bob"), ["ann"]);
        assert!(linked("cat").is_empty());

        // Bob's home is there now, and Bob's enrolment pins Ann's link to it (Ann does not
        // enrol again).
        record(&store, "bob", &at(1002, "bob"), &[]).unwrap();
        assert_eq!(linked("ann"), ["bob"]);
        // Bob removed with his home, and another person enrolled as bob with a new one: not
        // the account Ann's enrolment named.
        std::fs::remove_dir(homes.join("bob")).unwrap();
        std::fs::create_dir(homes.join("bob")).unwrap();
        record(&store, "bob", &at(1002, "bob"), &[]).unwrap();
        assert!(linked("ann").is_empty(), "{:?}", linked("ann"));
    }

    /// The folder above a home, read through its handle: empty or not, and the inode its entry
    /// for a name gives (the fallback without `CAP_SYS_ADMIN` compares it; s34 "Left").
    #[test]
    fn the_folder_above_is_read_through_its_handle() {
        use rustix::fs::{Mode, OFlags};
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            rustix::fs::open(dir.path(), flags, Mode::empty()).unwrap()
        };
        assert_eq!(shows_nothing(&open()), Some(true), "empty");
        assert_eq!(entry_ino(&open(), std::ffi::OsStr::new("ann")), None);
        std::fs::create_dir(dir.path().join("ann")).unwrap();
        std::fs::create_dir(dir.path().join("bob")).unwrap();
        assert_eq!(shows_nothing(&open()), Some(false));
        let ino = std::fs::metadata(dir.path().join("bob")).unwrap().ino();
        assert_eq!(entry_ino(&open(), std::ffi::OsStr::new("bob")), Some(ino));
        assert_eq!(entry_ino(&open(), std::ffi::OsStr::new("cat")), None);
    }

    /// Removing an enrolment drops the links other enrolments made to it: an unpinned link
    /// named whatever was enrolled next under that name and uid (final read s34).
    #[test]
    fn removing_an_enrolment_drops_the_links_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let ann_home = dir.path().join("homes/ann");
        std::fs::create_dir_all(&ann_home).unwrap();
        // Bob has no home yet, so Ann's link to him is not pinned to one.
        let bob = || Holder::at(1002, dir.path().join("homes/bob"));
        for user in ["ann", "bob", "cat"] {
            store.add_person(user).unwrap();
        }
        record(&store, "bob", &bob(), &[]).unwrap();
        record(&store, "ann", &Holder::at(1001, ann_home), &["bob".into()]).unwrap();
        let linked = |user| Records::load(&store).one_person_with(user);
        assert_eq!(linked("ann"), ["bob"]);

        store.remove_person("bob").unwrap();
        assert_eq!(unlink(&store, "bob").unwrap(), ["ann"]);
        assert!(unlink(&store, "bob").unwrap().is_empty(), "dropped once");
        // Cat's folder, which has no record, is not given one.
        let cats = dir.path().join("store/users/cat").join(FILE);
        assert!(!cats.exists(), "{}", cats.display());
        // Another person enrolled as bob, same uid, still no home: not Ann's.
        store.add_person("bob").unwrap();
        record(&store, "bob", &bob(), &[]).unwrap();
        assert!(linked("ann").is_empty(), "{:?}", linked("ann"));
        assert!(linked("bob").is_empty(), "{:?}", linked("bob"));
    }

    /// One account's home folder is read once however often it is asked (as a request is
    /// read and at its camera's turn), and a new lookup reads it again.
    #[test]
    fn an_account_is_judged_on_one_reading_of_its_home() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let commands = Commands::for_config(Path::new(facegate_proto::DEFAULT_CONFIG));
        let home = dir.path().join("homes/ann");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir(dir.path().join("homes/bob")).unwrap();
        store.add_person("ann").unwrap();
        record(&store, "ann", &Holder::at(1001, home.clone()), &[]).unwrap();
        let asked = Holder::at(1001, home.clone());
        assert_eq!(mismatch(&store, "ann", Some(&asked), &commands), None);
        std::fs::remove_dir(&home).unwrap();
        assert_eq!(mismatch(&store, "ann", Some(&asked), &commands), None);
        let why = mismatch(&store, "ann", Some(&Holder::at(1001, home)), &commands);
        println!("{why:?}");
        assert!(why.is_some_and(|w| w.contains("is gone since it was enrolled")));
    }

    /// Something mounted on the home, even a folder of the same file system bound there, is
    /// not what is read: the folder under it is (a user's FUSE mount is never entered).
    #[test]
    fn a_home_with_something_mounted_on_it_reads_as_the_folder_under_it() {
        if !rustix::process::geteuid().is_root() {
            println!("NOTICE: not root; skipping the mounted-home check");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (bob, alice) = (dir.path().join("bob"), dir.path().join("alice"));
        std::fs::create_dir(&bob).unwrap();
        std::fs::create_dir(&alice).unwrap();
        let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        let own = ino(&alice);
        assert_ne!(own, ino(&bob));
        let bound = std::process::Command::new("mount")
            .arg("--bind")
            .args([&bob, &alice])
            .status();
        if !bound.as_ref().is_ok_and(|s| s.success()) {
            println!("NOTICE: cannot mount here ({bound:?}); skipping the mounted-home check");
            return;
        }
        let reading = read_home(&alice);
        let unmounted = std::process::Command::new("umount").arg(&alice).status();
        println!("alice with bob's folder bound on it: {reading:?}");
        assert!(unmounted.is_ok_and(|s| s.success()));
        // Alice's own folder under the mount, not Bob's bound on it: read whole beneath the
        // mount, or by its inode alone where no copy of the mount can be made.
        let under = match reading {
            Reading::Folder(home) => Some(home.ino),
            Reading::Mounted(ino) => ino,
            _ => None,
        };
        assert_eq!(under, Some(own), "{reading:?}");
        assert!(matches!(read_home(&alice), Reading::Folder(_)));
    }
}
