//! What the daemon answers without turning the camera on: an account that is not enrolled, an
//! enrolment made for another account of that name, a lock-out or a pause. Asked twice: as the
//! request is read, so that these answers come at once and never wait behind another account's
//! attempt (their delay told any local user when someone's attempt ran and how it ended, with
//! no attempt of their own: red team S26-2), and again when the request's turn for the camera
//! comes, since the store and the account may have changed while it waited (each check looks
//! the account up, and reads its home, once). That second time the engine is
//! asked too ([`status_deep`]): images that no longer load or show one person make the
//! enrolment not used, and a model or settings that fail make face unlock unavailable; the
//! same check and words as `unlock list`.

use facegate_proto::{Outcome, Reply};

use super::account::Holder;
use super::config::Commands;
use crate::store::{Gallery, ImageKind, Store};

/// Whether `user`'s face unlock answers now, and if not, the first reason: the one order
/// of checks for the daemon and for `unlock list`, so the listing says what a login would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No verification image (or a name the store refuses).
    NotEnrolled,
    /// Their folder cannot be listed (a link, its permissions): why.
    Unreadable(String),
    /// Enrolled for another account of that name, or for one not recorded, or with images
    /// that no longer load or show one person: why.
    NotUsed(String),
    /// Nothing wrong with the enrolment, but a decision cannot be made now (a model, the
    /// config's settings, a disk error): why.
    Unavailable(String),
    Locked(crate::auth::lockout::Lock),
    Ready,
}

/// [`Answer`] for `user`, whose account is `account` now (none: no such account), with its
/// remedies written as `commands`.
pub fn status(store: &Store, user: &str, account: Option<&Holder>, commands: &Commands) -> Answer {
    let gallery = Gallery::Person {
        name: user.to_owned(),
        kind: ImageKind::Verification,
    };
    // Any name the store refuses (a hostile one from a request) is not enrolled either. Only
    // listed, not read: this runs for every request, and the camera's turn loads the faces.
    match store.has_faces(&gallery) {
        Ok(true) => {}
        Ok(false)
        | Err(crate::store::StoreError::UnknownPerson(_))
        | Err(crate::store::StoreError::InvalidName { .. }) => return Answer::NotEnrolled,
        Err(e) => return Answer::Unreadable(crate::shown::Reason(&e).to_string()),
    }
    if let Some(why) = super::account::mismatch(store, user, account, commands) {
        return Answer::NotUsed(why);
    }
    // A record that cannot be read locks (fail closed), logged by [`reply`] under its limit,
    // not on each request by `lock_of` (red team s35 #1); `unlock reset` lifts it whatever
    // the damage.
    match crate::engine::attempts::read_lock(store, user) {
        Ok(Some(lock)) => Answer::Locked(lock),
        Ok(None) => Answer::Ready,
        Err(_) => Answer::Locked(crate::auth::lockout::Lock::Unreadable),
    }
}

/// [`status`], and where it says ready, whether `engine` (over the same store, with the
/// daemon's settings) can hold the account's images for a decision: they load, and they show
/// one person under the model in force. The daemon asks it when a request's turn for the
/// camera comes, and `unlock list` for each account, so the listing says what a login gets
/// (it said "ready" while the daemon passed every login to the password; design review s31
/// A2), in the same words (the daemon said "not enrolled" for an account listed with four
/// images that no longer show one person, and logged nothing; design review s32 D2). The
/// gate as a request is read stays [`status`], a listing: it runs for every request.
pub fn status_deep(
    engine: &mut crate::engine::Engine,
    user: &str,
    account: Option<&Holder>,
    commands: &Commands,
) -> Answer {
    let again = || commands.re_enrol(user);
    match status(engine.store(), user, account, commands) {
        Answer::Ready => match engine.ensure_enrolled(user) {
            Ok(()) => Answer::Ready,
            // Listed, so there are images: none of them loads.
            Err(crate::Error::NoVerificationImages(_)) => Answer::NotUsed(format!(
                "none of their images can be read (damaged, or not root's; {})",
                again()
            )),
            // The desk's advice (delete the odd ones) has no command here.
            Err(crate::Error::NotOnePerson(e)) => Answer::NotUsed(format!(
                "their {} images do not all show one person under the config's model ({})",
                e.images,
                again()
            )),
            // Removed between the listing and the load.
            Err(crate::Error::Store(crate::store::StoreError::UnknownPerson(_))) => {
                Answer::NotEnrolled
            }
            Err(e) => Answer::Unavailable(crate::shown::Reason(&e).to_string()),
        },
        other => other,
    }
}

/// Why `user`, whose account is `account` now (none: no such account), gets no attempt
/// by [`status`] (as a request is read); `None` when it may wait for the camera. `warn` gets
/// what the daemon's log should say, and its kind ([`reply`]).
pub(super) fn refusal(
    store: &Store,
    user: &str,
    account: Option<&Holder>,
    commands: &Commands,
    warn: impl FnOnce(&'static str, String),
) -> Option<Reply> {
    reply(user, status(store, user, account, commands), warn)
}

/// The daemon's reply for `answer`, `None` when the camera is to be tried: one wording for
/// either check. `warn` gets the log's line with its kind, each kind limited on its own (the
/// limit of a caller's "not used" lines must not hold back a model failure, or the lines of a
/// lock-out the reason for an enrolment not used).
pub(super) fn reply(
    user: &str,
    answer: Answer,
    warn: impl FnOnce(&'static str, String),
) -> Option<Reply> {
    match answer {
        Answer::Ready => None,
        Answer::NotEnrolled => Some(not_enrolled(user)),
        Answer::Unreadable(why) => {
            warn(
                "not used",
                format!("{user}: face unlock enrolment cannot be read: {why}"),
            );
            Some(verdict(
                Outcome::Ignore,
                format!("{user}'s face unlock enrolment cannot be read"),
            ))
        }
        Answer::NotUsed(why) => {
            warn("not used", format!("{user}: face unlock not used: {why}"));
            Some(verdict(
                Outcome::Ignore,
                format!("{user}'s face unlock enrolment is not used: {why}"),
            ))
        }
        Answer::Unavailable(why) => Some(unavailable(user, &why, |line| warn("unavailable", line))),
        Answer::Locked(lock) => {
            // On the log too: a request turned away by a lock left no trace anywhere (journey
            // s34), though whoever keeps trying during one is who a log is for.
            warn("locked", refused_locked(user, lock));
            let locked = crate::Error::LockedOut {
                person: user.to_owned(),
                lock,
            };
            Some(verdict(Outcome::Refused, locked.to_string()))
        }
    }
}

/// The log's line for a request a lock or pause turned away before any attempt: the one
/// wording, where the gate finds the lock and where an attempt's start does.
pub(super) fn refused_locked(user: &str, lock: crate::auth::lockout::Lock) -> String {
    format!(
        "{user}: refused without an attempt: face verification is {}",
        lock.brief()
    )
}

fn not_enrolled(user: &str) -> Reply {
    verdict(
        Outcome::Ignore,
        format!("{user} is not enrolled for face unlock"),
    )
}

/// Face unlock cannot run for `user` now, for a reason that is not their enrolment's: the
/// password decides, and root's log says why.
pub(super) fn unavailable(user: &str, why: &str, warn: impl FnOnce(String)) -> Reply {
    warn(format!("face unlock for {user} could not run: {why}"));
    verdict(Outcome::Ignore, format!("face unlock unavailable: {why}"))
}

pub(super) fn verdict(outcome: Outcome, reason: String) -> Reply {
    Reply::Verdict { outcome, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::lockout::{self, Lock};

    fn a_face(store: &Store, user: &str) {
        use crate::store::test_faces::{face, photo};
        let gallery = Gallery::Person {
            name: user.to_owned(),
            kind: ImageKind::Verification,
        };
        store
            .save_face(&gallery, &photo(90), &face(), None)
            .unwrap();
    }

    /// Each answer's log line comes with its own kind, limited apart: a lock-out's lines once
    /// held back a "not used" line (pam_stack caught it; s34 "Left").
    #[test]
    fn each_answer_is_logged_under_its_own_kind() {
        let answers = [
            (Answer::NotUsed("why".into()), "not used"),
            (Answer::Unreadable("why".into()), "not used"),
            (Answer::Unavailable("why".into()), "unavailable"),
            (Answer::Locked(Lock::Unreadable), "locked"),
        ];
        for (answer, kind) in answers {
            let mut logged = None;
            let said = format!("{answer:?}");
            assert!(reply("ann", answer, |k, line| logged = Some((k, line))).is_some());
            let (k, line) = logged.unwrap_or_else(|| panic!("{said}: nothing logged"));
            assert_eq!(k, kind, "{said}: {line}");
            assert!(line.contains("ann"), "{line}");
        }
        let mut logged = false;
        assert!(reply("ann", Answer::Ready, |_, _| logged = true).is_none());
        assert!(reply("ann", Answer::NotEnrolled, |_, _| logged = true).is_some());
        assert!(!logged, "not enrolled is not logged");
    }

    #[test]
    fn the_listing_and_the_daemon_answer_in_one_order() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        let commands = Commands::for_config(std::path::Path::new(facegate_proto::DEFAULT_CONFIG));
        // Accounts whose home cannot be read: only their uids tell.
        let account = |uid| Holder::at(uid, root.path().join("no-such-folder/ann"));
        store.add_person("ann").unwrap();
        for user in ["ann", "bob", "../ann", ""] {
            assert_eq!(
                status(&store, user, Some(&account(1000)), &commands),
                Answer::NotEnrolled,
                "{user:?}"
            );
        }
        a_face(&store, "ann");
        // Not recorded for any account: not used, whichever account asks.
        assert!(matches!(
            status(&store, "ann", Some(&account(1000)), &commands),
            Answer::NotUsed(_)
        ));
        crate::unlock::account::record(&store, "ann", &account(1000), &[]).unwrap();
        assert_eq!(
            status(&store, "ann", Some(&account(1000)), &commands),
            Answer::Ready
        );
        assert!(matches!(
            status(&store, "ann", Some(&account(1001)), &commands),
            Answer::NotUsed(_)
        ));
        assert!(matches!(
            status(&store, "ann", None, &commands),
            Answer::NotUsed(_)
        ));
        // A lock-out record that cannot be read locks; another account's enrolment is still
        // named first, as the daemon refuses it before it reads the lock.
        store
            .write_state("ann", lockout::STATE_FILE, &"not a lock-out record")
            .unwrap();
        assert_eq!(
            status(&store, "ann", Some(&account(1000)), &commands),
            Answer::Locked(Lock::Unreadable)
        );
        assert!(matches!(
            status(&store, "ann", Some(&account(1001)), &commands),
            Answer::NotUsed(_)
        ));
        let mut warned = None;
        let reply = refusal(&store, "ann", Some(&account(1000)), &commands, |kind, w| {
            warned = Some(format!("{kind}: {w}"))
        });
        assert!(
            matches!(&reply, Some(Reply::Verdict { outcome: Outcome::Refused, reason })
                if reason.contains("locked out")),
            "{reply:?}"
        );
        // On the log too (a refusal by a lock left no trace: journey s34), limited apart from
        // the lines of enrolments not used (it held back the reason for one).
        assert!(
            warned
                .as_ref()
                .is_some_and(|w| w.starts_with("locked: ann: refused without an attempt")),
            "{warned:?}"
        );

        // A folder that cannot be listed is said so, not "not enrolled".
        store.add_person("cat").unwrap();
        let folder = root.path().join("users/cat/verification");
        let _ = std::fs::remove_dir(&folder);
        std::os::unix::fs::symlink(root.path().join("users/ann/verification"), &folder).unwrap();
        let answer = status(&store, "cat", Some(&account(1000)), &commands);
        println!("{answer:?}");
        assert!(matches!(answer, Answer::Unreadable(_)), "{answer:?}");
    }
}
