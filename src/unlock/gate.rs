//! What the daemon answers without turning the camera on: an account that is not enrolled, an
//! enrolment made for another account of that name, a lock-out or a pause. Asked twice: as the
//! request is read, so that these answers come at once and never wait behind another account's
//! attempt (their delay told any local user when someone's attempt ran and how it ended, with
//! no attempt of their own: red team S26-2), and again when the request's turn for the camera
//! comes, since the store may have changed while it waited.

use facegate_proto::{Outcome, Reply};

use crate::store::{Gallery, ImageKind, Store};

/// Why `user`, whose account has uid `account` now (none: no such account), gets no attempt;
/// `None` when the camera is to be tried. `warn` gets what the daemon's log should say.
pub(super) fn refusal(
    store: &Store,
    user: &str,
    account: Option<u32>,
    warn: impl FnOnce(String),
) -> Option<Reply> {
    let gallery = Gallery::Person {
        name: user.to_owned(),
        kind: ImageKind::Verification,
    };
    // Any name the store refuses (a hostile one from a request) is not enrolled either. Only
    // listed, not read: this runs for every request, and the camera's turn loads the faces.
    if !store.has_faces(&gallery).unwrap_or(false) {
        return Some(not_enrolled(user));
    }
    if let Some(why) = super::account::mismatch(store, user, account) {
        warn(format!("{user}: face unlock not used: {why}"));
        return Some(verdict(
            Outcome::Ignore,
            format!("{user}'s face unlock enrolment is not used: {why}"),
        ));
    }
    crate::engine::attempts::lock_of(store, user).map(|lock| {
        let locked = crate::Error::LockedOut {
            person: user.to_owned(),
            lock,
        };
        verdict(Outcome::Refused, locked.to_string())
    })
}

pub(super) fn not_enrolled(user: &str) -> Reply {
    verdict(
        Outcome::Ignore,
        format!("{user} is not enrolled for face unlock"),
    )
}

pub(super) fn verdict(outcome: Outcome, reason: String) -> Reply {
    Reply::Verdict { outcome, reason }
}
