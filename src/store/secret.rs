//! Encryption at rest for what identifies a person numerically (embeddings, trained heads):
//! AES-256-GCM with a key kept in the desktop keyring (Secret Service) where one answers, else in
//! a 0600 key file in the data dir.
//!
//! A key file next to the data only protects against other local users (as the 0600 files
//! already do) and against copies of the data folder made without it; the keyring also protects
//! against a copied home folder. Which one holds the key is written down (`secret.toml`), so a
//! session without the keyring (a PAM call, say) reports it instead of silently making a new key
//! that could not read the old files.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use serde::{Deserialize, Serialize};

use super::dir::{DataDir, Owner};

/// Marks a sealed file, so a plain file from an older version is recognised, not misread.
const MAGIC: &[u8; 4] = b"FGS1";
const NONCE_LEN: usize = 12;
const KEY_FILE: &str = "secret.key";
const ORIGIN_FILE: &str = "secret.toml";
/// Held while a new key is made.
const LOCK_FILE: &str = ".secret.lock";
const KEYRING_SERVICE: &str = "facegate";
/// Set (to anything) to keep the key in the file even where a keyring answers: for tests and
/// throw-away data folders that should not leave entries in the user's keyring.
pub const NO_KEYRING_ENV: &str = "FACEGATE_NO_KEYRING";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the data key is in the desktop keyring, which does not answer here ({0}); unlock the keyring or run from the desktop session"
    )]
    KeyringUnavailable(String),
    #[error("cannot read or write the data key at {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid data key (expected 32 bytes)", .0.display())]
    BadKey(PathBuf),
    #[error(
        "{} is damaged, so where the data key is kept is unknown; restore it, or delete it to use the key in secret.key or the keyring",
        .0.display()
    )]
    BadRecord(PathBuf),
    #[error("sealed data is damaged, from another data folder, or not sealed")]
    Unseal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    Keyring,
    File,
}

#[derive(Serialize, Deserialize)]
struct OriginRecord {
    key: KeyOrigin,
}

/// What [`Sealer::open`] finds before making a key.
enum Lookup {
    Found(Box<Sealer>),
    /// No key yet; `keyring_empty`: the keyring answered that it holds none for this folder
    /// (so a new key may go there).
    Missing {
        keyring_empty: bool,
    },
}

pub struct Sealer {
    cipher: Aes256Gcm,
    pub origin: KeyOrigin,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_owned(),
        source,
    }
}

fn keyring_entry(root: &Path) -> Result<keyring::Entry, keyring::Error> {
    if std::env::var_os(NO_KEYRING_ENV).is_some() {
        return Err(keyring::Error::NoStorageAccess(
            format!("{NO_KEYRING_ENV} is set").into(),
        ));
    }
    // One key per data folder: a test store or a second profile gets its own.
    keyring::Entry::new(KEYRING_SERVICE, &root.to_string_lossy())
}

impl Sealer {
    /// Loads the data folder's key, creating it on first use.
    pub fn open(dir: &DataDir) -> Result<Sealer, SecretError> {
        if let Lookup::Found(sealer) = Self::existing(dir)? {
            return Ok(*sealer);
        }
        // Two processes opening a new folder at once (the GUI and a CLI call) must not each
        // make a key, the second overwriting the first after something was sealed with it.
        let lock_path = dir.display(Path::new(LOCK_FILE));
        let _lock = dir.lock(Path::new(LOCK_FILE)).map_err(io(&lock_path))?;
        let keyring_empty = match Self::existing(dir)? {
            Lookup::Found(sealer) => return Ok(*sealer),
            Lookup::Missing { keyring_empty } => keyring_empty,
        };
        let key: [u8; 32] = Aes256Gcm::generate_key(OsRng).into();
        // Into the keyring only when it answered that it holds no key for this folder: one it
        // could not be asked (locked, not running) may hold the key of a lost record, which a
        // new one must not replace. The system store never gets there (see `existing`).
        let in_keyring = keyring_empty
            && match keyring_entry(dir.path()).and_then(|e| e.set_secret(&key)) {
                Ok(()) => true,
                Err(e) => {
                    tracing::info!("the keyring did not take the data key ({e})");
                    false
                }
            };
        let origin = if in_keyring {
            KeyOrigin::Keyring
        } else {
            let key_path = dir.display(Path::new(KEY_FILE));
            dir.write_atomic(Path::new(KEY_FILE), &key)
                .map_err(io(&key_path))?;
            KeyOrigin::File
        };
        Self::record(dir, origin)?;
        Ok(Sealer::new(key, origin))
    }

    /// The key this folder already has, or what is known of where a new one may go. A record
    /// that cannot be read or parsed, or a key that is recorded but cannot be had, is an error:
    /// a new key would leave everything sealed with the old one unreadable.
    fn existing(dir: &DataDir) -> Result<Lookup, SecretError> {
        let origin_path = dir.display(Path::new(ORIGIN_FILE));
        let recorded = match dir
            .read_opt(Path::new(ORIGIN_FILE), 4096)
            .map_err(io(&origin_path))?
        {
            None => None,
            Some(text) => Some(
                toml::from_str::<OriginRecord>(&String::from_utf8_lossy(&text))
                    .map_err(|_| SecretError::BadRecord(origin_path.clone()))?
                    .key,
            ),
        };
        let found = |key, origin| Ok(Lookup::Found(Box::new(Sealer::new(key, origin))));
        match recorded {
            Some(KeyOrigin::File) => match key_file(dir)? {
                Some(key) => found(key, KeyOrigin::File),
                None => Err(io(&dir.display(Path::new(KEY_FILE)))(
                    std::io::ErrorKind::NotFound.into(),
                )),
            },
            Some(KeyOrigin::Keyring) => {
                let secret = keyring_entry(dir.path())
                    .and_then(|e| e.get_secret())
                    .map_err(|e| SecretError::KeyringUnavailable(e.to_string()))?;
                found(keyring_key(secret, &origin_path)?, KeyOrigin::Keyring)
            }
            // The record is written after the key, so a key without one was left by a crash
            // between the two writes, or its record was deleted: keep the key, write the record.
            None => {
                let (key, origin) = if let Some(key) = key_file(dir)? {
                    (key, KeyOrigin::File)
                } else if dir.owner() == Owner::Root {
                    // The system store is read by the daemon, which has no desktop session: its
                    // key lives in its file, never in a keyring whoever ran `sudo` reaches.
                    return Ok(Lookup::Missing {
                        keyring_empty: false,
                    });
                } else {
                    match keyring_entry(dir.path()).and_then(|e| e.get_secret()) {
                        Ok(secret) => (keyring_key(secret, &origin_path)?, KeyOrigin::Keyring),
                        Err(e) => {
                            return Ok(Lookup::Missing {
                                keyring_empty: matches!(e, keyring::Error::NoEntry),
                            });
                        }
                    }
                };
                Self::record(dir, origin)?;
                found(key, origin)
            }
        }
    }

    fn record(dir: &DataDir, origin: KeyOrigin) -> Result<(), SecretError> {
        let record = toml::to_string(&OriginRecord { key: origin }).expect("serialises");
        let origin_path = dir.display(Path::new(ORIGIN_FILE));
        dir.write_atomic(Path::new(ORIGIN_FILE), record.as_bytes())
            .map_err(io(&origin_path))
    }

    fn new(key: [u8; 32], origin: KeyOrigin) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
            origin,
        }
    }

    /// Encrypts `plain`, binding it to `label` (the file's logical name) so that a sealed file
    /// moved to another name does not decrypt.
    pub fn seal(&self, plain: &[u8], label: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: label.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn unseal(&self, data: &[u8], label: &str) -> Result<Vec<u8>, SecretError> {
        let rest = data
            .strip_prefix(MAGIC.as_slice())
            .ok_or(SecretError::Unseal)?;
        if rest.len() < NONCE_LEN {
            return Err(SecretError::Unseal);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Unseal)
    }
}

/// Whether `data` is something [`Sealer::seal`] wrote (whatever key it was sealed with).
pub fn is_sealed(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// The key in the data dir's key file, None when there is no such file.
fn key_file(dir: &DataDir) -> Result<Option<[u8; 32]>, SecretError> {
    let path = dir.display(Path::new(KEY_FILE));
    let Some(bytes) = dir.read_opt(Path::new(KEY_FILE), 64).map_err(io(&path))? else {
        return Ok(None);
    };
    bytes
        .try_into()
        .map(Some)
        .map_err(|_| SecretError::BadKey(path))
}

/// A key the keyring returned, which must be 32 bytes.
fn keyring_key(secret: Vec<u8>, record: &Path) -> Result<[u8; 32], SecretError> {
    secret
        .try_into()
        .map_err(|_| SecretError::BadKey(record.to_owned()))
}

/// Opens the data dir at `root` (the user's own) for a [`Sealer`]: for tests and tools.
pub fn open_at(root: &Path) -> Result<Sealer, SecretError> {
    let dir = DataDir::open(root, Owner::EffectiveUser).map_err(io(root))?;
    Sealer::open(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let s = open_at(dir.path()).unwrap();
        let sealed = s.seal(b"embedding bytes", "cache/sface/abc");
        assert!(
            !sealed.windows(9).any(|w| w == b"embedding"),
            "ciphertext hides the text"
        );
        assert_eq!(
            s.unseal(&sealed, "cache/sface/abc").unwrap(),
            b"embedding bytes"
        );
        assert!(
            s.unseal(&sealed, "cache/sface/other").is_err(),
            "bound to its name"
        );
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(
            s.unseal(&flipped, "cache/sface/abc").is_err(),
            "tampering detected"
        );
        // The same folder opens with the same key; another folder's key cannot read it.
        let again = open_at(dir.path()).unwrap();
        assert_eq!(
            again.unseal(&sealed, "cache/sface/abc").unwrap(),
            b"embedding bytes"
        );
        let other = tempfile::tempdir().unwrap();
        assert!(
            open_at(other.path())
                .unwrap()
                .unseal(&sealed, "cache/sface/abc")
                .is_err()
        );
    }

    /// A damaged record must not cost the key: making a new one would leave every sealed file
    /// unreadable. A lost record is rebuilt from the key that is there.
    #[test]
    fn a_damaged_or_lost_record_keeps_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_at(dir.path()).unwrap();
        if first.origin != KeyOrigin::File {
            println!("skipped: a desktop keyring took the key (make test sets {NO_KEYRING_ENV})");
            return;
        }
        let sealed = first.seal(b"head", "users/a/head");
        let key_file = dir.path().join(KEY_FILE);
        let key = std::fs::read(&key_file).unwrap();
        let record = dir.path().join(ORIGIN_FILE);

        std::fs::write(&record, "key = \"fi").unwrap();
        let err = open_at(dir.path()).unwrap_err();
        assert!(matches!(err, SecretError::BadRecord(_)), "{err}");
        println!("damaged record: {err}");
        assert_eq!(
            std::fs::read(&key_file).unwrap(),
            key,
            "the key is untouched"
        );

        std::fs::remove_file(&record).unwrap();
        let reopened = open_at(dir.path()).unwrap();
        assert_eq!(reopened.origin, KeyOrigin::File);
        assert_eq!(reopened.unseal(&sealed, "users/a/head").unwrap(), b"head");
        assert!(record.exists(), "the record is written again");

        std::fs::write(&key_file, b"short").unwrap();
        std::fs::remove_file(&record).unwrap();
        assert!(matches!(
            open_at(dir.path()).unwrap_err(),
            SecretError::BadKey(_)
        ));
        assert_eq!(std::fs::read(&key_file).unwrap(), b"short", "not replaced");
    }
}
