//! How much of the unlock daemon one caller may hold. The daemon has one camera and reads
//! request lines on a thread per connection; without limits per caller, one local user could
//! take every reader with idle connections, or fill the camera's queue with attempts of their
//! own, and so delay everyone else's face unlock until its deadline.
//!
//! - A caller that is not root has at most [`MAX_READERS_PER_UID`] connections being read.
//!   Root's connections are setuid programs (`sudo`, `su`) whose PAM module writes its request
//!   as it connects, so they share only the overall limit.
//! - An account has at most one attempt waiting or running: a second is answered at once, and
//!   its password prompt comes without waiting behind the first. One face cannot answer two
//!   prompts at the same moment anyway.
//!
//! Each turn is a guard: dropping it (the connection read, the attempt answered, a thread that
//! could not start) gives the place back, so no path can leak one.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Connections being read at once, at most, from all callers together.
pub const MAX_READERS: usize = 64;
/// Connections being read at once from one caller that is not root.
pub const MAX_READERS_PER_UID: usize = 4;

/// Why a connection was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    #[error("{MAX_READERS} clients are already being read")]
    Readers,
    #[error("uid {0} already has {MAX_READERS_PER_UID} connections being read")]
    Uid(u32),
}

#[derive(Default)]
struct Held {
    readers: usize,
    readers_by_uid: HashMap<u32, usize>,
    accounts: HashSet<String>,
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
            let mine = held.readers_by_uid.entry(uid).or_default();
            if *mine >= MAX_READERS_PER_UID {
                return Err(Full::Uid(uid));
            }
            *mine += 1;
        }
        held.readers += 1;
        Ok(ReaderTurn {
            turns: self.clone(),
            uid,
        })
    }

    /// `account`'s one place in the camera's queue, or `None` while another attempt for it
    /// waits or runs.
    pub fn account(&self, account: &str) -> Option<AccountTurn> {
        self.held()
            .accounts
            .insert(account.to_owned())
            .then(|| AccountTurn {
                turns: self.clone(),
                account: account.to_owned(),
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
        let mut held = self.turns.held();
        held.readers -= 1;
        if self.uid != 0
            && let Some(mine) = held.readers_by_uid.get_mut(&self.uid)
        {
            *mine -= 1;
            if *mine == 0 {
                held.readers_by_uid.remove(&self.uid);
            }
        }
    }
}

/// An attempt waiting for the camera or running; its account is free again on drop.
pub struct AccountTurn {
    turns: Turns,
    account: String,
}

impl Drop for AccountTurn {
    fn drop(&mut self) {
        self.turns.held().accounts.remove(&self.account);
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
        assert_eq!(turns.held().readers, 0);
        assert!(turns.held().readers_by_uid.is_empty());
        assert!(turns.reader(1001).is_ok());
    }

    #[test]
    fn one_attempt_per_account_until_it_is_answered() {
        let turns = Turns::default();
        let katie = turns.account("katie").unwrap();
        assert!(turns.account("katie").is_none());
        let _bob = turns.account("bob").unwrap();
        drop(katie);
        assert!(turns.account("katie").is_some());
    }
}
