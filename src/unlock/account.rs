//! Which account an enrolment was made for: its uid, and its home folder as it was, kept beside
//! its faces when `facegate unlock enrol` runs. Enrolments are found by account name, and a name
//! outlives its account: after `userdel alice; useradd alice`, the new alice must not be
//! unlocked by the old alice's face (red team, session 24). `useradd` gives the freed uid again
//! as often as not (the journey of session 32 got 1002 back, and the old face then unlocked the
//! new account), so the uid alone does not tell the two apart: the home folder does, when the
//! account had one at enrolment (`userdel -r` removes it, `useradd -m` makes a new one, born
//! later, under another inode as a rule). The daemon answers only when the name still belongs
//! to the uid enrolled and, where one was recorded, to the same home folder; an enrolment
//! without a uid (made before it was recorded) is refused. `unlock enrol` adds only to an
//! enrolment that answers for the account ([`may_add`], on the daemon's own rule): the old
//! faces must be removed first, not taken over by the new account. Still not told apart: a
//! new account given the old uid whose old home folder was kept, or that had none at
//! enrolment; remove an account's enrolment with the account (`facegate unlock remove`).

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// The file in the person's folder.
const FILE: &str = "account.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct EnrolledFor {
    uid: Option<u32>,
    /// The account's home folder when enrolled, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home: Option<Home>,
}

/// A home folder, told apart from one made again at the same path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Home {
    path: std::path::PathBuf,
    /// Its entry's inode in the folder above it.
    ino: u64,
    /// When it was made (seconds, nanoseconds), where the file system says.
    born: Option<(i64, u32)>,
}

impl Home {
    /// The same folder: the same entry, made at the same time where both readings say when.
    fn same_as(&self, now: &Home) -> bool {
        self.path == now.path
            && self.ino == now.ino
            && match (self.born, now.born) {
                (Some(was), Some(is)) => was == is,
                _ => true,
            }
    }
}

/// The home folder of the account with `uid`, when it has one that exists now (a folder, not a
/// link). Its inode is read from the folder above it, not from the folder itself: a home that
/// is mounted at login (ecryptfs, systemd-homed, pam_mount) is the root of another file system
/// while mounted, and the login screen sees it unmounted. When it was made is taken only where
/// nothing is mounted on it.
fn home_of(uid: u32) -> Option<Home> {
    use rustix::fs::{AtFlags, CWD, StatxFlags};
    use std::os::unix::fs::DirEntryExt;
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
    let (above, name) = (user.dir.parent()?, user.dir.file_name()?);
    let entry = std::fs::read_dir(above)
        .ok()?
        .flatten()
        .find(|e| e.file_name() == name)?;
    if !entry.file_type().ok()?.is_dir() {
        return None;
    }
    let st = rustix::fs::statx(
        CWD,
        &user.dir,
        AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::BASIC_STATS | StatxFlags::BTIME,
    )
    .ok();
    let born = st
        .filter(|st| st.stx_ino == entry.ino() && st.stx_mask & StatxFlags::BTIME.bits() != 0)
        .map(|st| (st.stx_btime.tv_sec, st.stx_btime.tv_nsec));
    Some(Home {
        path: user.dir.clone(),
        ino: entry.ino(),
        born,
    })
}

/// Records that `user`'s enrolment is for the account with `uid`, as its home folder is now.
pub fn record(store: &Store, user: &str, uid: u32) -> Result<(), StoreError> {
    let record = EnrolledFor {
        uid: Some(uid),
        home: home_of(uid),
    };
    store.write_state(user, FILE, &record)
}

/// Why `user`'s enrolment does not answer for the account that now has the name (`now`: its
/// uid, none when there is no such account); None when it does.
pub fn mismatch(store: &Store, user: &str, now: Option<u32>) -> Option<String> {
    let record = match store.read_state::<EnrolledFor>(user, FILE) {
        Ok(record) => record,
        Err(e) => return Some(format!("the record of its account cannot be read ({e})")),
    };
    let remove = format!("remove it (`sudo facegate unlock remove {user}`)");
    match (record.uid, now) {
        (Some(was), Some(is)) if was == is => match record.home {
            Some(home) if !home_of(is).is_some_and(|now| home.same_as(&now)) => Some(format!(
                "{user}'s home folder {} is not the one it had when enrolled (the account was \
                 made again with the same uid, or its home was made again or moved): {remove}, \
                 then enrol {user} again",
                crate::shown::Shown(&home.path)
            )),
            _ => None,
        },
        (Some(was), Some(is)) => Some(format!(
            "it was enrolled for uid {was}, and {user} is now uid {is} (another account of the \
             same name): {remove}, then enrol the new account"
        )),
        (Some(was), None) => Some(format!(
            "it was enrolled for uid {was}, and {user} is no longer an account: {remove}"
        )),
        (None, _) => Some(format!(
            "it does not record which account it was made for: {remove}, then enrol {user} again"
        )),
    }
}

/// Whether `unlock enrol` may add faces to `user`'s existing enrolment for the account `uid`:
/// only when it was made for that uid. Made for another, or not saying (made before the uid was
/// recorded, perhaps for an account of that name since deleted), the faces added would be
/// recorded as this account's, and the old ones with them (design review, session 29: R2):
/// the enrolment is removed first. Why not, when not.
pub fn may_add(store: &Store, user: &str, uid: u32) -> Result<(), String> {
    match mismatch(store, user, Some(uid)) {
        None => Ok(()),
        Some(why) => Err(format!("{user}'s enrolment cannot be added to: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_home_made_again_is_told_apart_and_a_mounted_one_is_not() {
        let home = |ino, born| Home {
            path: "/home/alice".into(),
            ino,
            born,
        };
        let enrolled = home(7, Some((1_796_586_437, 195_389_660)));
        // Made again in the same second, under the same inode: its birth differs.
        assert!(!enrolled.same_as(&home(7, Some((1_796_586_437, 299_389_665)))));
        assert!(!enrolled.same_as(&home(8, Some((1_796_586_437, 195_389_660)))));
        // Seen with something mounted on it (no birth read): the entry decides.
        assert!(enrolled.same_as(&home(7, None)));
        assert!(home(7, None).same_as(&enrolled));
        // Where it is matters too.
        let moved = Home {
            path: "/srv/alice".into(),
            ..enrolled.clone()
        };
        assert!(!enrolled.same_as(&moved));
    }

    /// A real folder, read as the daemon reads a home: its entry's inode and when it was made.
    #[test]
    fn root_has_a_home_that_reads_the_same_twice() {
        let (Some(a), Some(b)) = (home_of(0), home_of(0)) else {
            println!("NOTICE: root has no home folder here; skipping");
            return;
        };
        println!("root's home: {a:?}");
        assert!(a.same_as(&b));
    }
}
