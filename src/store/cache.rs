//! Embeddings cached by (model, sha256 of the face PNG): adding an image embeds one image, and
//! switching models re-embeds lazily, one face at a time. Entries are sealed (AES-256-GCM, see
//! [`super::secret`]): an embedding identifies a face as well as the photo does.

use std::path::{Path, PathBuf};

use super::fsio;
use super::secret::Sealer;
use crate::vision::Embedding;

fn path(root: &Path, model: &str, sha256: &str) -> PathBuf {
    root.join("cache").join(model).join(format!("{sha256}.f32"))
}

/// What a sealed entry is bound to: moving it under another model or image does not decrypt.
fn label(model: &str, sha256: &str) -> String {
    format!("cache/{model}/{sha256}")
}

/// The cached vector, or None (missing, or damaged: then it is recomputed and overwritten).
pub fn get(root: &Path, sealer: &Sealer, model: &str, sha256: &str) -> Option<Embedding> {
    let p = path(root, model, sha256);
    let sealed = std::fs::read(&p).ok()?;
    let Ok(bytes) = sealer.unseal(&sealed, &label(model, sha256)) else {
        tracing::warn!("ignoring unreadable cache entry {}", p.display());
        return None;
    };
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        tracing::warn!("ignoring damaged cache entry {}", p.display());
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if (norm - 1.0).abs() > 1e-3 {
        tracing::warn!("ignoring damaged cache entry {}", p.display());
        return None;
    }
    Some(Embedding(v))
}

pub fn put(
    root: &Path,
    sealer: &Sealer,
    model: &str,
    sha256: &str,
    e: &Embedding,
) -> std::io::Result<()> {
    let p = path(root, model, sha256);
    fsio::private_dir(p.parent().expect("cache path has a folder"))?;
    let bytes: Vec<u8> = e.0.iter().flat_map(|x| x.to_le_bytes()).collect();
    fsio::write_atomic(&p, &sealer.seal(&bytes, &label(model, sha256)))
}
