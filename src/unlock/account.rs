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
//! where it can: `userdel -r` and `useradd -m` leave a folder made later, under another inode
//! or another birth time. It is evidence only where it can be read as it was: a plain folder on
//! the file system above it, at enrolment and now. A home that is mounted (autofs, pam_mount,
//! systemd-homed), hidden from the daemon, or missing decides nothing, so those setups are not
//! refused for a reason that is not there (the strict check of session 32 refused everyone
//! under the packaged unit's `ProtectHome=yes`, and was taken back). Still not told apart: a
//! new account given the old uid with no home made again; remove an account's enrolment with
//! the account (`facegate unlock remove`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::Commands;
use crate::store::{Store, StoreError};

/// The file in the person's folder.
const FILE: &str = "account.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct EnrolledFor {
    uid: Option<u32>,
    /// The account's home folder when enrolled, where it could be read ([`home_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home: Option<Home>,
    /// The accounts root named as the same person's (`--same-person-as`), each with the uid its
    /// enrolment was for then: one made again since is not the account that was named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    same_person: Vec<Linked>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Linked {
    account: String,
    uid: u32,
}

/// A home folder, told apart from one made again at the same path: its inode, and when it
/// was made (seconds and nanoseconds since 1970) where the file system says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Home {
    ino: u64,
    born: Option<(u64, u32)>,
}

impl Home {
    /// Another folder: another inode, or made at another time where both readings say when.
    /// A home moved with `usermod -m` on the same file system is the same folder.
    fn differs_from(&self, now: &Home) -> bool {
        self.ino != now.ino || matches!((self.born, now.born), (Some(a), Some(b)) if a != b)
    }
}

/// The folder at `path` as evidence of an account's identity: a folder (not a link) on the
/// same file system as the folder above it. Nothing when it is missing, unreadable or mounted:
/// a home mounted at login reads as one folder while mounted and another at the login screen.
fn home_at(path: &Path) -> Option<Home> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    let above = std::fs::symlink_metadata(path.parent()?).ok()?;
    if !meta.is_dir() || meta.dev() != above.dev() {
        return None;
    }
    let born = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| (d.as_secs(), d.subsec_nanos()));
    Some(Home {
        ino: meta.ino(),
        born,
    })
}

/// [`home_at`] for the home folder of account `user` with uid `uid`, from the user database.
fn home_of(user: &str, uid: u32) -> Option<Home> {
    let account = nix::unistd::User::from_name(user).ok()??;
    (account.uid.as_raw() == uid).then(|| home_at(&account.dir))?
}

/// Records that `user`'s enrolment is for the account with `uid`, as its home folder is now,
/// and that it is one person's with the enrolled accounts `same_person` (kept with those named
/// before: [`may_add`] let no other account's enrolment be added to).
pub fn record(
    store: &Store,
    user: &str,
    uid: u32,
    same_person: &[String],
) -> Result<(), StoreError> {
    let mut linked = store.read_state::<EnrolledFor>(user, FILE)?.same_person;
    for account in same_person {
        if let Some(uid) = enrolled_uid(store, account)
            && !linked.iter().any(|l| &l.account == account)
        {
            linked.push(Linked {
                account: account.clone(),
                uid,
            });
        }
    }
    let record = EnrolledFor {
        uid: Some(uid),
        home: home_of(user, uid),
        same_person: linked,
    };
    store.write_state(user, FILE, &record)
}

/// The uid `account`'s enrolment was made for, if it says.
fn enrolled_uid(store: &Store, account: &str) -> Option<u32> {
    store.read_state::<EnrolledFor>(account, FILE).ok()?.uid
}

/// The enrolled accounts named as one person's with `user`, by either enrolment, as long as
/// the account named is still the one enrolled then: adding to either later needs no
/// `--same-person-as` again (it did, and the refusal advised removing an image that was not
/// odd; journey s32 #8).
pub fn one_person_with(store: &Store, user: &str) -> Vec<String> {
    let read = |account: &str| store.read_state::<EnrolledFor>(account, FILE).ok();
    let names = |record: &EnrolledFor, account: &str, uid: Option<u32>| {
        record
            .same_person
            .iter()
            .any(|l| l.account == account && Some(l.uid) == uid)
    };
    let mine = read(user).unwrap_or_default();
    let others = store.people().unwrap_or_default();
    others
        .into_iter()
        .filter(|other| other != user)
        .filter(|other| {
            read(other).is_some_and(|theirs| {
                names(&mine, other, theirs.uid) || names(&theirs, user, mine.uid)
            })
        })
        .collect()
}

/// Why `user`'s enrolment does not answer for the account that now has the name (`now`: its
/// uid, none when there is no such account); None when it does. `commands`: how the remedy is
/// written.
pub fn mismatch(
    store: &Store,
    user: &str,
    now: Option<u32>,
    commands: &Commands,
) -> Option<String> {
    let record = match store.read_state::<EnrolledFor>(user, FILE) {
        Ok(record) => record,
        Err(e) => return Some(format!("the record of its account cannot be read ({e})")),
    };
    let remove = format!("remove it ({})", commands.unlock(&["remove", user]));
    match (record.uid, now) {
        (Some(was), Some(is)) if was == is => {
            let made_again = record
                .home
                .zip(home_of(user, is))
                .is_some_and(|(was, is)| was.differs_from(&is));
            made_again.then(|| {
                format!(
                    "{user}'s home folder is not the one it had when enrolled (the account was \
                     made again with the same uid, or its home was made again or copied): \
                     {remove}, then enrol {user} again"
                )
            })
        }
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
pub fn may_add(store: &Store, user: &str, uid: u32, commands: &Commands) -> Result<(), String> {
    match mismatch(store, user, Some(uid), commands) {
        None => Ok(()),
        Some(why) => Err(format!("{user}'s enrolment cannot be added to: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder made again where one was removed is told apart, as `userdel -r` and
    /// `useradd -m` leave it; one renamed (`usermod -m`) is not; a link or nothing decides nothing.
    #[test]
    fn a_home_made_again_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("alice");
        std::fs::create_dir(&home).unwrap();
        let enrolled = home_at(&home).expect("a plain folder is read");
        println!("enrolled: {enrolled:?}");
        assert!(!enrolled.differs_from(&home_at(&home).unwrap()));

        let moved = dir.path().join("alice-moved");
        std::fs::rename(&home, &moved).unwrap();
        assert!(!enrolled.differs_from(&home_at(&moved).unwrap()));
        assert!(home_at(&home).is_none(), "missing");

        std::fs::remove_dir(&moved).unwrap();
        std::fs::create_dir(&home).unwrap();
        let again = home_at(&home).unwrap();
        println!("made again: {again:?}");
        assert!(
            enrolled.differs_from(&again),
            "neither its inode nor its birth time tells it apart on this file system"
        );

        std::fs::remove_dir(&home).unwrap();
        std::os::unix::fs::symlink(dir.path(), &home).unwrap();
        assert!(home_at(&home).is_none(), "a link");
    }
}
