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

/// Removes every entry, under every model, of an image not in `in_use`; returns how many went.
/// (Entries are shared by the galleries holding the same crop, so one goes only when no face
/// is left to use it.)
pub fn sweep(dir: &DataDir, in_use: &std::collections::HashSet<String>) -> usize {
    let mut removed = 0;
    let cache = Path::new("cache");
    for model in dir.list(cache).into_iter().flatten() {
        let folder = cache.join(&model.name);
        for entry in dir.list(&folder).into_iter().flatten() {
            let name = Path::new(&entry.name);
            let stale = name.extension().is_some_and(|e| e == "f32")
                && name
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|sha| !in_use.contains(sha));
            if stale && dir.remove_file(&folder.join(name)).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
