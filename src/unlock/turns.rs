//! How much of the unlock daemon one caller may hold. The daemon has one camera and reads
//! request lines on a thread per connection; without limits per caller, one local user could
//! take every reader with idle connections, or fill the camera's queue with attempts of their
//! own, and so delay everyone else's face unlock until its deadline.
//!
//! - A caller that is not root (counted as the user who started it, [`super::caller`], so a
//!   `su` or `sudo` counts as whoever typed it) has at most [`MAX_READERS_PER_UID`] connections
//!   being read, and all such callers together at most [`MAX_NON_ROOT_READERS`], so the
//!   readers kept for root's connections (login screens and root's own programs, whose PAM
//!   module writes its request as it connects) are never taken. Subordinate uids (rootless
//!   containers, `/etc/subuid`; [`super::subids`]) count as the user who owns their range, so
//!   one user's range cannot take the readers of everyone else who is not root; callers the daemon cannot
//!   identify count as one such user too.
//! - An account has at most one attempt waiting or running: a second is answered at once, and
//!   its password prompt comes without waiting behind the first. One face cannot answer two
//!   prompts at the same moment anyway. A place whose client has gone (a `sudo` interrupted
//!   while it waited) is taken over by the next request for the account, instead of turning
//!   that away until the dead one reaches the camera. The dead request stays in the camera's
//!   queue until then, so an account has at most one such request waiting: otherwise a user
//!   who asked and hung up, again and again, would fill the queue with dead requests of their
//!   own account, and everyone else would be told the daemon is busy.
//!
//! Each turn is a guard: dropping it (the connection read, the attempt answered, a thread that
//! could not start) gives the place back, so no path can leak one.

use std::collections::{HashMap, HashSet};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};

use facegate_proto::socket::peer_has_left;

/// Connections being read at once, at most, from all callers together.
pub const MAX_READERS: usize = 64;
/// Connections being read at once from callers that are not root, together.
pub const MAX_NON_ROOT_READERS: usize = 48;
/// Connections being read at once from one caller that is not root.
pub const MAX_READERS_PER_UID: usize = 4;

/// An account as the queue knows it: by uid, so that names the user database reads alike
/// ("alice", "ALICE" in a case-insensitive directory) hold one place; by the name asked for
/// when no account has it (root may ask about any name, and is answered "not enrolled").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    Uid(u32),
    Unknown(String),
}

/// Why a connection was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    #[error("{MAX_READERS} clients are already being read")]
    Readers,
    #[error("{MAX_NON_ROOT_READERS} clients that are not root are already being read")]
    NonRoot,
    #[error("uid {0} already has {MAX_READERS_PER_UID} connections being read")]
    Uid(u32),
}

/// An account's place: which request holds it, and that request's connection.
struct Holder {
    id: u64,
    /// A second handle on the holder's connection, to see whether its client is still there;
    /// `None` if the handle could not be made (the place is then never taken over).
    client: Option<UnixStream>,
}

#[derive(Default)]
struct Held {
    readers: usize,
    non_root_readers: usize,
    readers_by_uid: HashMap<u32, usize>,
    accounts: HashMap<Account, Holder>,
    /// Accounts with a request whose place was taken over still in the camera's queue (at
    /// most one each).
    superseded: HashSet<Account>,
    next_id: u64,
}

/// The places taken now; cloned into every reader thread.
#[derive(Clone, Default)]
pub struct Turns(Arc<Mutex<Held>>);

impl Turns {
    fn held(&self) -> MutexGuard<'_, Held> {
        // Nothing panics while holding it, and counts are still right if something did.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reader's place for a connection from `uid`.
    pub fn reader(&self, uid: u32) -> Result<ReaderTurn, Full> {
        let mut held = self.held();
        if held.readers >= MAX_READERS {
            return Err(Full::Readers);
        }
        if uid != 0 {
            if held.non_root_readers >= MAX_NON_ROOT_READERS {
                return Err(Full::NonRoot);
            }
            let mine = held.readers_by_uid.entry(uid).or_default();
            if *mine >= MAX_READERS_PER_UID {
                return Err(Full::Uid(uid));
            }
            *mine += 1;
            held.non_root_readers += 1;
        }
        held.readers += 1;
        Ok(ReaderTurn {
            turns: self.clone(),
            uid,
        })
    }

    /// `account`'s one place in the camera's queue for the request read from `client`, or
    /// `None` while another attempt for it waits or runs with its client still there, or while
    /// a request for it that was taken over has not left the queue yet.
    pub fn account(&self, account: Account, client: &UnixStream) -> Option<AccountTurn> {
        let mut held = self.held();
        if let Some(holder) = held.accounts.get(&account) {
            let gone = holder.client.as_ref().is_some_and(peer_has_left);
            if !gone || held.superseded.contains(&account) {
                return None;
            }
            held.superseded.insert(account.clone());
        }
        held.next_id += 1;
        let id = held.next_id;
        let client = client.try_clone().ok();
        held.accounts.insert(account.clone(), Holder { id, client });
        Some(AccountTurn {
            turns: self.clone(),
            account,
            id,
        })
    }
}

/// A connection being read; its place is given back on drop.
pub struct ReaderTurn {
    turns: Turns,
    uid: u32,
}

impl Drop for ReaderTurn {
    fn drop(&mut self) {
        let mut guard = self.turns.held();
        let held = &mut *guard;
        held.readers -= 1;
        if self.uid != 0
            && let Some(mine) = held.readers_by_uid.get_mut(&self.uid)
        {
            held.non_root_readers -= 1;
            *mine -= 1;
            if *mine == 0 {
                held.readers_by_uid.remove(&self.uid);
            }
        }
    }
}

/// An attempt waiting for the camera or running; its account is free again on drop, unless
/// a later request has taken the place over.
pub struct AccountTurn {
    turns: Turns,
    account: Account,
    id: u64,
}

impl Drop for AccountTurn {
    fn drop(&mut self) {
        let mut held = self.turns.held();
        if held
            .accounts
            .get(&self.account)
            .is_some_and(|h| h.id == self.id)
        {
            held.accounts.remove(&self.account);
        } else {
            // Taken over: the one dead request of its account has left the queue.
            held.superseded.remove(&self.account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_cannot_take_every_reader() {
        let turns = Turns::default();
        let theirs: Vec<_> = (0..MAX_READERS_PER_UID)
            .map(|_| turns.reader(1001).unwrap())
            .collect();
        assert_eq!(turns.reader(1001).err(), Some(Full::Uid(1001)));
        // Another user and root are still read.
        let other = turns.reader(1002).unwrap();
        let root: Vec<_> = (0..MAX_READERS - MAX_READERS_PER_UID - 1)
            .map(|_| turns.reader(0).unwrap())
            .collect();
        assert_eq!(turns.reader(0).err(), Some(Full::Readers));
        drop((theirs, other, root));
        let held = turns.held();
        assert_eq!((held.readers, held.non_root_readers), (0, 0));
        assert!(held.readers_by_uid.is_empty());
        drop(held);
        assert!(turns.reader(1001).is_ok());
    }

    #[test]
    fn many_uids_of_one_user_leave_root_its_readers() {
        let turns = Turns::default();
        // A subordinate uid range: 100000, 100001, ... each with its 4.
        let mut theirs = Vec::new();
        for uid in 100_000.. {
            match turns.reader(uid) {
                Ok(r) => theirs.push(r),
                Err(Full::Uid(_)) => continue,
                Err(full) => {
                    assert_eq!(full, Full::NonRoot);
                    break;
                }
            }
            if theirs.len() > MAX_READERS {
                panic!("no limit");
            }
        }
        assert_eq!(theirs.len(), MAX_NON_ROOT_READERS);
        let root: Vec<_> = (0..MAX_READERS - MAX_NON_ROOT_READERS)
            .map(|_| turns.reader(0).unwrap())
            .collect();
        assert_eq!(root.len(), 16);
    }

    #[test]
    fn one_attempt_per_account_until_it_is_answered() {
        let turns = Turns::default();
        let (katie_client, _katie_here) = UnixStream::pair().unwrap();
        let (again, _again_here) = UnixStream::pair().unwrap();
        let katie = turns
            .account(Account::Unknown("katie".into()), &katie_client)
            .unwrap();
        assert!(
            turns
                .account(Account::Unknown("katie".into()), &again)
                .is_none()
        );
        let (bob_client, _bob_here) = UnixStream::pair().unwrap();
        let _bob = turns
            .account(Account::Unknown("bob".into()), &bob_client)
            .unwrap();
        drop(katie);
        assert!(
            turns
                .account(Account::Unknown("katie".into()), &again)
                .is_some()
        );
    }

    #[test]
    fn a_place_whose_client_has_gone_is_taken_over() {
        let turns = Turns::default();
        let (dead, client_end) = UnixStream::pair().unwrap();
        let first = turns
            .account(Account::Unknown("katie".into()), &dead)
            .unwrap();
        drop(client_end); // the interrupted sudo
        let (retry, _retry_here) = UnixStream::pair().unwrap();
        let second = turns
            .account(Account::Unknown("katie".into()), &retry)
            .expect("the retry takes the place");
        // The dead request, answered later, does not free the retry's place.
        drop(first);
        let (third, _third_here) = UnixStream::pair().unwrap();
        assert!(
            turns
                .account(Account::Unknown("katie".into()), &third)
                .is_none()
        );
        drop(second);
        assert!(
            turns
                .account(Account::Unknown("katie".into()), &third)
                .is_some()
        );
    }

    /// Asking and hanging up, again and again: each takeover would leave one more dead request
    /// in the camera's queue (8 places for everyone) until it reached the camera.
    #[test]
    fn an_account_has_at_most_one_dead_request_waiting() {
        let turns = Turns::default();
        let katie = || Account::Unknown("katie".into());
        let (first, first_end) = UnixStream::pair().unwrap();
        let first = turns.account(katie(), &first).unwrap();
        drop(first_end);
        let (second, second_end) = UnixStream::pair().unwrap();
        let second = turns.account(katie(), &second).expect("taken over once");
        drop(second_end);
        let (third, _third_here) = UnixStream::pair().unwrap();
        assert!(
            turns.account(katie(), &third).is_none(),
            "a second dead request would wait in the queue"
        );
        // The first dead request leaves the queue (answered "the client left"): the next
        // request may take the second's place.
        drop(first);
        let third = turns.account(katie(), &third).expect("taken over again");
        drop((second, third));
        let held = turns.held();
        assert!(held.accounts.is_empty() && held.superseded.is_empty());
    }
}
