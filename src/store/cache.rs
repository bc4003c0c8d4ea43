//! Embeddings cached by (model, sha256 of the face PNG): adding an image embeds one image, and
//! switching models re-embeds lazily, one face at a time.

use std::path::{Path, PathBuf};

use super::fsio;
use crate::vision::Embedding;

fn path(root: &Path, model: &str, sha256: &str) -> PathBuf {
    root.join("cache").join(model).join(format!("{sha256}.f32"))
}

/// The cached vector, or None (missing, or damaged: then it is recomputed and overwritten).
pub fn get(root: &Path, model: &str, sha256: &str) -> Option<Embedding> {
    let p = path(root, model, sha256);
    let bytes = std::fs::read(&p).ok()?;
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

pub fn put(root: &Path, model: &str, sha256: &str, e: &Embedding) -> std::io::Result<()> {
    let p = path(root, model, sha256);
    fsio::private_dir(p.parent().expect("cache path has a folder"))?;
    let bytes: Vec<u8> = e.0.iter().flat_map(|x| x.to_le_bytes()).collect();
    fsio::write_atomic(&p, &bytes)
}
