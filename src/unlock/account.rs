//! Which account an enrolment was made for: its uid, kept beside its faces when `facegate
//! unlock enrol` runs. Enrolments are found by account name, and a name outlives its account:
//! after `userdel alice; useradd alice`, the new alice must not be unlocked by the old alice's
//! face (red team, session 24). The daemon answers only when the name still belongs to the uid
//! enrolled; an enrolment without one (made before it was recorded) is refused. `unlock enrol`
//! adds only to an enrolment made for the same uid ([`may_add`], on the daemon's own rule): the
//! old faces must be removed first, not taken over by the new account. A uid given again to a
//! new account of the same name is not told apart (`useradd` often gives the freed uid again):
//! remove an account's enrolment with the account (`facegate unlock remove`). Telling them
//! apart by the home folder was tried and taken back (session 32): the packaged unit's
//! `ProtectHome=yes` hides /home from the daemon, and homes mounted at login or by autofs read
//! differently at the login screen.

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// The file in the person's folder.
const FILE: &str = "account.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct EnrolledFor {
    uid: Option<u32>,
}

/// Records that `user`'s enrolment is for the account with `uid`.
pub fn record(store: &Store, user: &str, uid: u32) -> Result<(), StoreError> {
    store.write_state(user, FILE, &EnrolledFor { uid: Some(uid) })
}

/// Why `user`'s enrolment does not answer for the account that now has the name (`now`: its
/// uid, none when there is no such account); None when it does.
pub fn mismatch(store: &Store, user: &str, now: Option<u32>) -> Option<String> {
    let enrolled = match store.read_state::<EnrolledFor>(user, FILE) {
        Ok(record) => record.uid,
        Err(e) => return Some(format!("the record of its account cannot be read ({e})")),
    };
    let remove = format!("remove it (`sudo facegate unlock remove {user}`)");
    match (enrolled, now) {
        (Some(was), Some(is)) if was == is => None,
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
