//! Subordinate uids (`/etc/subuid`): the ranges root hands users for rootless containers. A
//! process in such a container connects as a uid of its owner's range, so one user with a range
//! would count as thousands of users in the daemon's reader limits ([`super::turns`]) and could
//! take every reader kept for people who are not root. A subordinate uid is counted as the
//! user who owns its range (as one [`SUBORDINATE`] caller, capped like any user, when the owner
//! is root or cannot be looked up): no account unlocks as a subordinate uid. A uid in a range
//! that names an account (directories hand out uids of 100000 and up, as `useradd` does
//! ranges) is that account (red team, session 29: R6-2: one was counted as the range's owner
//! and turned away by her connections). Whether the caller is in a container does not decide
//! it: the owner can make a setuid program of any uid in her range and run it outside.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The uid subordinate uids are counted as when their owner is root or unknown (next to
/// `caller::UNSEEN`, `u32::MAX`).
pub const SUBORDINATE: u32 = u32::MAX - 1;

/// The file is root's and small; anything past this is not read (a range past it is then not
/// grouped, which only loosens the limit back to what it was without this file).
const MAX_BYTES: u64 = 1 << 20;

/// How many uids' account lookups are kept: a whole range's worth, since its owner can connect
/// as any of its 65,536 uids, and each lookup is made on the thread that accepts connections
/// (a directory may take a while). Past it, all are looked up afresh.
const ACCOUNTS_KEPT: usize = 1 << 17;
/// How long a lookup stands: an account made later, or a directory that did not answer, is
/// seen within a minute, not only once /etc/subuid changes.
const ACCOUNT_LOOKED: std::time::Duration = std::time::Duration::from_secs(60);

/// `/etc/subuid`'s ranges, read again when the file changes.
#[derive(Debug)]
pub struct Subordinates {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
    /// (first uid, how many, counted as).
    ranges: Vec<(u32, u32, u32)>,
    /// Whether a uid in a range names an account, and when that was looked up (a directory
    /// may be slow): again after [`ACCOUNT_LOOKED`], or when the file changes.
    accounts: HashMap<u32, (bool, std::time::Instant)>,
}

impl Subordinates {
    pub fn new(path: &Path) -> Subordinates {
        Subordinates {
            path: path.to_owned(),
            seen: None,
            ranges: Vec::new(),
            accounts: HashMap::new(),
        }
    }

    /// The uid `uid`'s connections are counted as: the owner of its range for a subordinate uid
    /// (or [`SUBORDINATE`]), itself otherwise (root and the daemon's own stand-ins always).
    pub fn counted_as(&mut self, uid: u32) -> u32 {
        if uid == 0 || uid >= SUBORDINATE {
            return uid;
        }
        self.refresh();
        let Some(&(_, _, owner)) = self.ranges.iter().find(|&&(start, count, _)| {
            uid >= start && u64::from(uid) < u64::from(start) + u64::from(count)
        }) else {
            return uid;
        };
        let account = match self.accounts.get(&uid) {
            Some(&(account, at)) if at.elapsed() < ACCOUNT_LOOKED => account,
            _ => {
                if self.accounts.len() >= ACCOUNTS_KEPT {
                    self.accounts.clear();
                }
                let account = names_an_account(uid);
                self.accounts
                    .insert(uid, (account, std::time::Instant::now()));
                account
            }
        };
        if account { uid } else { owner }
    }

    /// Reads the file again if its time or size changed (one stat a connection).
    fn refresh(&mut self) {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        if stamp == self.seen {
            return;
        }
        self.seen = stamp;
        self.accounts.clear();
        self.ranges = match std::fs::File::open(&self.path) {
            Ok(file) => {
                let mut text = String::new();
                // Not UTF-8, or unreadable: no ranges, as without the file.
                let _ = file.take(MAX_BYTES).read_to_string(&mut text);
                parse(&text)
            }
            Err(_) => Vec::new(),
        };
    }
}

/// Whether `uid` is an account's (the password database, directories included); not when it
/// cannot be looked up.
fn names_an_account(uid: u32) -> bool {
    matches!(
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
        Ok(Some(_))
    )
}

/// `owner:start:count` lines (subuid(5)), the owner a name or a uid; anything else is skipped.
/// Names are looked up here, once each time the file changes, not per connection.
fn parse(text: &str) -> Vec<(u32, u32, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(':');
            let (owner, start, count) = (fields.next()?, fields.next()?, fields.next()?);
            let (start, count) = (start.parse().ok()?, count.parse().ok()?);
            let owner = owner
                .parse::<u32>()
                .ok()
                .or_else(|| super::caller::uid_of(owner))
                .filter(|&uid| uid != 0 && uid < SUBORDINATE)
                .unwrap_or(SUBORDINATE);
            (fields.next().is_none() && count > 0).then_some((start, count, owner))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_uids_count_as_their_owner_and_the_file_is_read_again_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("facegate-subuid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("subuid");
        let mut subs = Subordinates::new(&file);
        assert_eq!(subs.counted_as(100_000), 100_000, "no file: no ranges");
        std::fs::write(
            &file,
            "1000:100000:65536\n# a comment\nbob:x:5\nno-such-user-here:4294967000:100\n\
             carol:300000:0\nroot:400000:10\n",
        )
        .unwrap();
        assert_eq!(subs.counted_as(100_000), 1000, "counted as its owner");
        assert_eq!(subs.counted_as(165_535), 1000);
        assert_eq!(subs.counted_as(165_536), 165_536, "past the range");
        assert_eq!(subs.counted_as(1000), 1000);
        assert_eq!(
            subs.counted_as(4_294_967_050),
            SUBORDINATE,
            "an unknown owner"
        );
        assert_eq!(
            subs.counted_as(u32::MAX),
            u32::MAX,
            "the daemon's own stand-in"
        );
        assert_eq!(subs.counted_as(300_000), 300_000, "an empty range");
        assert_eq!(
            subs.counted_as(400_005),
            SUBORDINATE,
            "root's range is not root"
        );
        assert_eq!(subs.counted_as(0), 0, "root stays root");
        // A range over an account's uid (nobody's, 65534, in every Debian): it is itself, the
        // uids around it the owner's.
        let nobody = nix::unistd::User::from_name("nobody")
            .unwrap()
            .unwrap()
            .uid
            .as_raw();
        std::fs::write(&file, format!("1002:{}:10\n", nobody - 5)).unwrap();
        assert_eq!(subs.counted_as(nobody), nobody, "an account");
        assert_eq!(subs.counted_as(nobody - 1), 1002);
        std::fs::write(&file, "1001:200000:10\n").unwrap();
        assert_eq!(subs.counted_as(100_000), 100_000, "read again");
        assert_eq!(subs.counted_as(200_009), 1001);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
