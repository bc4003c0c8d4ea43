//! Embeddings cached by (model, sha256 of the face PNG): adding an image embeds one image, and
//! switching models re-embeds lazily, one face at a time. Entries are sealed (AES-256-GCM, see
//! [`super::secret`]): an embedding identifies a face as well as the photo does.

use std::path::{Path, PathBuf};

use super::dir::DataDir;
use super::secret::Sealer;
use crate::vision::Embedding;

/// A sealed 512-d vector is about 2 KB.
const MAX_ENTRY_BYTES: u64 = 64 << 10;

fn path(model: &str, sha256: &str) -> PathBuf {
    Path::new("cache").join(model).join(format!("{sha256}.f32"))
}

/// What a sealed entry is bound to: moving it under another model or image does not decrypt.
fn label(model: &str, sha256: &str) -> String {
    format!("cache/{model}/{sha256}")
}

/// The cached vector, or None (missing, or damaged: then it is recomputed and overwritten).
pub fn get(dir: &DataDir, sealer: &Sealer, model: &str, sha256: &str) -> Option<Embedding> {
    let p = path(model, sha256);
    let sealed = dir.read(&p, MAX_ENTRY_BYTES).ok()?;
    let p = dir.display(&p);
    let Ok(bytes) = sealer.unseal(&sealed, &label(model, sha256)) else {
        tracing::warn!(
            "ignoring unreadable cache entry {}",
            crate::shown::Shown(&p)
        );
        return None;
    };
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        tracing::warn!("ignoring damaged cache entry {}", crate::shown::Shown(&p));
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if (norm - 1.0).abs() > 1e-3 {
        tracing::warn!("ignoring damaged cache entry {}", crate::shown::Shown(&p));
        return None;
    }
    Some(Embedding(v))
}

pub fn put(
    dir: &DataDir,
    sealer: &Sealer,
    model: &str,
    sha256: &str,
    e: &Embedding,
) -> std::io::Result<()> {
    let p = path(model, sha256);
    dir.create_dir_all(p.parent().expect("cache path has a folder"))?;
    let bytes: Vec<u8> = e.0.iter().flat_map(|x| x.to_le_bytes()).collect();
    dir.write_atomic(&p, &sealer.seal(&bytes, &label(model, sha256)))
}

/// Removes the entries of the crop `sha256` under every model; returns how many went. Another
/// gallery holding the same crop only embeds it again when next asked: entries are recomputable.
pub fn forget(dir: &DataDir, sha256: &str) -> usize {
    dir.list(Path::new("cache"))
        .into_iter()
        .flatten()
        .filter(|model| {
            model
                .name
                .to_str()
                .is_some_and(|m| dir.remove_file(&path(m, sha256)).is_ok())
        })
        .count()
}
