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
        let root = dir.path();
        let origin_path = root.join(ORIGIN_FILE);
        let recorded: Option<KeyOrigin> = dir
            .read(Path::new(ORIGIN_FILE), 4096)
            .ok()
            .and_then(|t| toml::from_str::<OriginRecord>(&String::from_utf8_lossy(&t)).ok())
            .map(|r| r.key);
        let key_path = root.join(KEY_FILE);
        let (key, origin) = match recorded {
            Some(KeyOrigin::File) => (read_key_file(dir)?, KeyOrigin::File),
            Some(KeyOrigin::Keyring) => {
                let secret = keyring_entry(root)
                    .and_then(|e| e.get_secret())
                    .map_err(|e| SecretError::KeyringUnavailable(e.to_string()))?;
                let key: [u8; 32] = secret
                    .try_into()
                    .map_err(|_| SecretError::BadKey(origin_path.clone()))?;
                (key, KeyOrigin::Keyring)
            }
            None => {
                let key: [u8; 32] = Aes256Gcm::generate_key(OsRng).into();
                let origin = match keyring_entry(root).and_then(|e| e.set_secret(&key)) {
                    Ok(()) => KeyOrigin::Keyring,
                    Err(e) => {
                        tracing::info!(
                            "no desktop keyring ({e}); keeping the data key in a 0600 file"
                        );
                        dir.write_atomic(Path::new(KEY_FILE), &key)
                            .map_err(io(&key_path))?;
                        KeyOrigin::File
                    }
                };
                let record = toml::to_string(&OriginRecord { key: origin }).expect("serialises");
                dir.write_atomic(Path::new(ORIGIN_FILE), record.as_bytes())
                    .map_err(io(&origin_path))?;
                (key, origin)
            }
        };
        Ok(Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
            origin,
        })
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

fn read_key_file(dir: &DataDir) -> Result<[u8; 32], SecretError> {
    let path = dir.display(Path::new(KEY_FILE));
    let bytes = dir.read(Path::new(KEY_FILE), 64).map_err(io(&path))?;
    bytes.try_into().map_err(|_| SecretError::BadKey(path))
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
}
