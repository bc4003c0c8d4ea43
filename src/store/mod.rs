//! The enrolment store: people, their face images, negatives, settings and an embedding cache,
//! as plain files under the data dir.
//!
//! ```text
//! <data dir>/settings.toml
//! <data dir>/users/<name>/{anchor,positive,verification}/<uuid>.png + <uuid>.json
//! <data dir>/users/<name>/lockout.json
//! <data dir>/negatives/<uuid>.png + <uuid>.json
//! <data dir>/cache/<model>/<sha256 of the png>.f32
//! ```
//! A face is committed when its JSON sidecar is renamed into place (after its PNG), so a crash
//! leaves at most an orphan PNG, never a half-saved face. Every write is atomic and private
//! (files 0600, folders 0700) and mutations hold an exclusive lock on `<data dir>/.lock`, so the
//! GUI and a CLI call cannot interleave.

pub mod audit;
mod cache;
pub mod frames;
pub mod fsio;
pub mod secret;
mod settings;

use std::fs::File;
use std::io::{self, Cursor};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use image::{ImageFormat, RgbImage, imageops};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use settings::Settings;

use crate::vision::{Embedding, Face};

/// The three kinds of images a person collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// Reference photos of the person (the siamese head's anchors).
    Anchor,
    /// More photos of the same person (positive pairs for training).
    Positive,
    /// The images a live face is verified against.
    Verification,
}

impl ImageKind {
    pub const ALL: [ImageKind; 3] = [
        ImageKind::Anchor,
        ImageKind::Positive,
        ImageKind::Verification,
    ];

    pub fn dir_name(self) -> &'static str {
        match self {
            ImageKind::Anchor => "anchor",
            ImageKind::Positive => "positive",
            ImageKind::Verification => "verification",
        }
    }
}

/// Whose images: a person's (of one kind) or the shared negatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gallery {
    Person { name: String, kind: ImageKind },
    Negatives,
}

/// Sidecar of a stored face: enough to recompute its embedding without detecting again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaceMeta {
    pub id: Uuid,
    /// The face (box, landmarks) in the stored crop's pixels.
    pub face: Face,
    /// sha256 of the PNG bytes; keys the embedding cache.
    pub sha256: String,
    pub created_unix: u64,
    /// File name the image was imported from, if any (never a full path: it may be private).
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredFace {
    pub meta: FaceMeta,
    pub png: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{name}` is not a valid name: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("no person called `{0}` is enrolled (see `facegate user list`)")]
    UnknownPerson(String),
    #[error("`{0}` is already enrolled")]
    PersonExists(String),
    #[error("the disk is full while writing {}; nothing was changed", .0.display())]
    DiskFull(PathBuf),
    #[error("cannot access {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is corrupt: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot seal or unseal private data: {0}")]
    Sealing(String),
    #[error("no face with id {0} in that gallery")]
    UnknownFace(Uuid),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| {
        if source.kind() == io::ErrorKind::StorageFull {
            StoreError::DiskFull(path.to_owned())
        } else {
            StoreError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// Names become folder names: refuse anything that could escape the store or hide in it.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let invalid = |reason| {
        Err(StoreError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return invalid("it is empty");
    }
    if name.chars().count() > 64 {
        return invalid("it is longer than 64 characters");
    }
    if name.starts_with('.') || name.starts_with(' ') || name.ends_with(' ') {
        return invalid("it starts with a dot or starts or ends with a space");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || " -_.'".contains(c))
    {
        return invalid("use letters, digits, spaces and - _ . ' only");
    }
    Ok(())
}

/// Largest side of a stored face crop: plenty for a 112 px alignment, small on disk.
const CROP_MAX_SIDE: u32 = 400;

pub struct Store {
    root: PathBuf,
    /// Opened on first use, so commands that never touch sealed data never create a key.
    sealer: std::sync::OnceLock<Result<secret::Sealer, String>>,
    /// Embeddings already unsealed, by (pipeline cache id, image sha256). Content-addressed, so
    /// never stale; it spares the live worker a file read and a decryption per vector each time
    /// it rescores a person's images after a capture.
    unsealed: std::sync::Mutex<std::collections::HashMap<(String, String), Embedding>>,
}

/// What [`Store::wipe_person`] removed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct WipeReport {
    pub images: usize,
    /// Sidecars, trained heads, lock-out state.
    pub other_files: usize,
    pub cached_embeddings: usize,
    pub audit_entries: usize,
    pub saved_frames: usize,
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Held while the store is being changed.
pub struct WriteLock(#[allow(dead_code)] File);

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for dir in [
            root.to_owned(),
            root.join("users"),
            root.join("negatives"),
            root.join("cache"),
        ] {
            fsio::private_dir(&dir).map_err(io_err(&dir))?;
        }
        Ok(Store {
            root: root.to_owned(),
            sealer: std::sync::OnceLock::new(),
            unsealed: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data key, or None when it cannot be had (then the embedding cache is skipped, which
    /// costs time, not data: every cached vector can be recomputed from its image).
    pub fn sealer(&self) -> Option<&secret::Sealer> {
        self.sealer_or_why().ok()
    }

    fn sealer_or_why(&self) -> Result<&secret::Sealer, StoreError> {
        self.sealer
            .get_or_init(|| {
                secret::Sealer::open(&self.root).map_err(|e| {
                    tracing::warn!("embedding cache off: {e}");
                    e.to_string()
                })
            })
            .as_ref()
            .map_err(|why| StoreError::Sealing(why.clone()))
    }

    /// Writes `bytes` sealed (AES-256-GCM, bound to the person and file name) into the person's
    /// folder: for what identifies them numerically, like a trained head.
    pub fn write_sealed(&self, name: &str, file: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.require_person(name)?.join(file);
        let sealed = self
            .sealer_or_why()?
            .seal(bytes, &format!("users/{name}/{file}"));
        let _lock = self.lock()?;
        fsio::write_atomic(&path, &sealed).map_err(io_err(&path))
    }

    /// Reads back what [`write_sealed`](Self::write_sealed) wrote; None when there is no file.
    pub fn read_sealed(&self, name: &str, file: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.require_person(name)?.join(file);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        self.sealer_or_why()?
            .unseal(&data, &format!("users/{name}/{file}"))
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path,
                reason: e.to_string(),
            })
    }

    /// A cached embedding of the image with content hash `sha256` under the pipeline `cache_id`.
    pub fn cached(&self, cache_id: &str, sha256: &str) -> Option<Embedding> {
        let key = (cache_id.to_owned(), sha256.to_owned());
        if let Some(e) = self.unsealed.lock().unwrap().get(&key) {
            return Some(e.clone());
        }
        let e = cache::get(&self.root, self.sealer()?, cache_id, sha256)?;
        self.unsealed.lock().unwrap().insert(key, e.clone());
        Some(e)
    }

    /// Keeps an embedding (sealed on disk, and in memory) for [`Store::cached`].
    pub fn cache(&self, cache_id: &str, sha256: &str, e: &Embedding) {
        self.unsealed
            .lock()
            .unwrap()
            .insert((cache_id.to_owned(), sha256.to_owned()), e.clone());
        let Some(sealer) = self.sealer() else { return };
        if let Err(err) = cache::put(&self.root, sealer, cache_id, sha256, e) {
            tracing::warn!("could not cache an embedding: {err}");
        }
    }

    /// Exclusive lock across processes, released on drop.
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        let path = self.root.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        file.lock().map_err(io_err(&path))?;
        Ok(WriteLock(file))
    }

    fn person_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        validate_name(name)?;
        Ok(self.root.join("users").join(name))
    }

    fn gallery_dir(&self, gallery: &Gallery) -> Result<PathBuf, StoreError> {
        match gallery {
            Gallery::Person { name, kind } => Ok(self.person_dir(name)?.join(kind.dir_name())),
            Gallery::Negatives => Ok(self.root.join("negatives")),
        }
    }

    pub fn add_person(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.person_dir(name)?;
        let _lock = self.lock()?;
        if dir.exists() {
            return Err(StoreError::PersonExists(name.to_owned()));
        }
        for kind in ImageKind::ALL {
            let sub = dir.join(kind.dir_name());
            fsio::private_dir(&sub).map_err(io_err(&sub))?;
        }
        Ok(())
    }

    /// The person's folder; an invalid name or an unknown person is an error.
    pub fn require_person(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.person_dir(name)?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(StoreError::UnknownPerson(name.to_owned()))
        }
    }

    /// Enrolled people, sorted. Folders with invalid names are skipped with a warning.
    pub fn people(&self) -> Result<Vec<String>, StoreError> {
        let users = self.root.join("users");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&users).map_err(io_err(&users))? {
            let entry = entry.map_err(io_err(&users))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && validate_name(&name).is_ok() {
                names.push(name);
            } else {
                tracing::warn!(
                    "skipping {} in the store: not a person folder",
                    entry.path().display()
                );
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes a person and everything stored for them.
    pub fn remove_person(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.require_person(name)?;
        let _lock = self.lock()?;
        std::fs::remove_dir_all(&dir).map_err(io_err(&dir))
    }

    /// Removes every trace of a person: their folder (images, sidecars, trained heads, lock-out
    /// state), the cached embeddings of their images under every model, their audit-log lines and
    /// any saved frames of their failed attempts.
    pub fn wipe_person(&self, name: &str) -> Result<WipeReport, StoreError> {
        let dir = self.require_person(name)?;
        let mut shas = Vec::new();
        for kind in ImageKind::ALL {
            let gallery = Gallery::Person {
                name: name.to_owned(),
                kind,
            };
            shas.extend(self.faces(&gallery)?.into_iter().map(|f| f.meta.sha256));
        }
        let _lock = self.lock()?;
        let mut report = WipeReport::default();
        for entry in walk_files(&dir) {
            if entry.extension().is_some_and(|e| e == "png") {
                report.images += 1;
            } else {
                report.other_files += 1;
            }
        }
        std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        let cache = self.root.join("cache");
        for model in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
            for sha in &shas {
                let p = model.path().join(format!("{sha}.f32"));
                if std::fs::remove_file(&p).is_ok() {
                    report.cached_embeddings += 1;
                }
            }
        }
        self.unsealed
            .lock()
            .unwrap()
            .retain(|(_, sha), _| !shas.contains(sha));
        let (lines, frames) = audit::forget(&self.root, name).map_err(io_err(&self.root))?;
        report.audit_entries = lines;
        for frame in frames {
            // Only files inside the data dir: a hostile log line must not delete anything else.
            if let Some(p) = self.inside_root(&frame)
                && std::fs::remove_file(&p).is_ok()
            {
                report.saved_frames += 1;
            }
        }
        Ok(report)
    }

    fn inside_root(&self, relative: &str) -> Option<PathBuf> {
        let rel = Path::new(relative);
        rel.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
            .then(|| self.root.join(rel))
    }

    /// Saves the frame of a failed attempt (the caller checks that the user opted in) and
    /// returns its path relative to the data dir, for the attempt's audit line.
    pub fn save_failed_frame(&self, img: &RgbImage) -> Result<String, StoreError> {
        let _lock = self.lock()?;
        frames::save(&self.root, img).map_err(io_err(&self.root.join(frames::DIR)))
    }

    /// Records a verification attempt in the audit log.
    pub fn audit(&self, entry: &audit::AuditEntry) {
        let result = self
            .lock()
            .and_then(|_lock| audit::append(&self.root, entry).map_err(io_err(&self.root)));
        if let Err(e) = result {
            // An attempt must not fail because its log line could not be written.
            tracing::warn!("could not write the audit log: {e}");
        }
    }

    /// Saves the face `face` of `img` into `gallery`: a padded crop as PNG, then its sidecar.
    pub fn save_face(
        &self,
        gallery: &Gallery,
        img: &RgbImage,
        face: &Face,
        source: Option<&str>,
    ) -> Result<StoredFace, StoreError> {
        if let Gallery::Person { name, .. } = gallery {
            self.require_person(name)?;
        }
        let dir = self.gallery_dir(gallery)?;
        let (crop, face_in_crop) = padded_crop(img, face);
        let mut png = Vec::new();
        crop.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .map_err(|e| StoreError::Corrupt {
                path: dir.clone(),
                reason: format!("cannot encode the crop: {e}"),
            })?;
        let id = Uuid::new_v4();
        let meta = FaceMeta {
            id,
            face: face_in_crop,
            sha256: hex::encode(Sha256::digest(&png)),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            source: source.map(str::to_owned),
        };
        let png_path = dir.join(format!("{id}.png"));
        let json_path = dir.join(format!("{id}.json"));
        let json = serde_json::to_vec_pretty(&meta).expect("FaceMeta serialises");
        let _lock = self.lock()?;
        fsio::private_dir(&dir).map_err(io_err(&dir))?;
        fsio::write_atomic(&png_path, &png).map_err(io_err(&png_path))?;
        if let Err(e) = fsio::write_atomic(&json_path, &json) {
            let _ = std::fs::remove_file(&png_path);
            return Err(io_err(&json_path)(e));
        }
        Ok(StoredFace {
            meta,
            png: png_path,
        })
    }

    /// Every committed face of a gallery, oldest first. Corrupt or foreign files are skipped with a
    /// warning naming them; they never stop the others from loading.
    pub fn faces(&self, gallery: &Gallery) -> Result<Vec<StoredFace>, StoreError> {
        if let Gallery::Person { name, .. } = gallery {
            self.require_person(name)?;
        }
        let dir = self.gallery_dir(gallery)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let mut faces = Vec::new();
        for entry in entries {
            let path = entry.map_err(io_err(&dir))?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("json") => match load_meta(&path) {
                    Ok(face) => faces.push(face),
                    Err(e) => tracing::warn!("skipping {}: {e}", path.display()),
                },
                // PNGs are reached through their sidecar; one without is an unfinished save.
                Some("png") => {}
                _ if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-")) => {}
                _ => tracing::warn!("skipping {}: not a file FaceGate wrote", path.display()),
            }
        }
        faces.sort_by_key(|f| (f.meta.created_unix, f.meta.id));
        Ok(faces)
    }

    pub fn delete_face(&self, gallery: &Gallery, id: Uuid) -> Result<(), StoreError> {
        let dir = self.gallery_dir(gallery)?;
        let json = dir.join(format!("{id}.json"));
        if !json.exists() {
            return Err(StoreError::UnknownFace(id));
        }
        let _lock = self.lock()?;
        // Sidecar first: once it is gone the face is gone, whatever happens to the PNG.
        std::fs::remove_file(&json).map_err(io_err(&json))?;
        let png = dir.join(format!("{id}.png"));
        std::fs::remove_file(&png).map_err(io_err(&png))
    }

    pub fn load_crop(&self, face: &StoredFace) -> Result<RgbImage, crate::Error> {
        Ok(crate::imageio::load(&face.png)?)
    }

    pub fn settings(&self) -> Settings {
        let path = self.root.join("settings.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!("{} is invalid ({e}); using defaults", path.display());
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let path = self.root.join("settings.toml");
        let text = toml::to_string_pretty(settings).expect("settings serialise");
        let _lock = self.lock()?;
        fsio::write_atomic(&path, text.as_bytes()).map_err(io_err(&path))
    }

    /// A small JSON state file in a person's folder (lock-out counters and the like).
    pub fn read_state<T: for<'de> Deserialize<'de> + Default>(&self, name: &str, file: &str) -> T {
        let Ok(dir) = self.require_person(name) else {
            return T::default();
        };
        std::fs::read(dir.join(file))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Reads, changes and writes back a state file under the store lock, so two processes
    /// counting failed attempts at once both count (a plain read then write loses one).
    pub fn update_state<T, R>(
        &self,
        name: &str,
        file: &str,
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<R, StoreError>
    where
        T: Serialize + for<'de> Deserialize<'de> + Default,
    {
        let path = self.require_person(name)?.join(file);
        let _lock = self.lock()?;
        let mut value: T = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let out = change(&mut value);
        fsio::write_atomic(
            &path,
            &serde_json::to_vec(&value).expect("state serialises"),
        )
        .map_err(io_err(&path))?;
        Ok(out)
    }

    pub fn write_state<T: Serialize>(
        &self,
        name: &str,
        file: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let path = self.require_person(name)?.join(file);
        let _lock = self.lock()?;
        fsio::write_atomic(&path, &serde_json::to_vec(value).expect("state serialises"))
            .map_err(io_err(&path))
    }
}

fn load_meta(json: &Path) -> Result<StoredFace, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: json.to_owned(),
        reason,
    };
    let bytes = std::fs::read(json).map_err(io_err(json))?;
    let meta: FaceMeta = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if json.file_stem().and_then(|s| s.to_str()) != Some(&meta.id.to_string()) {
        return Err(corrupt("its name does not match its id".into()));
    }
    let png = json.with_extension("png");
    if !png.exists() {
        return Err(corrupt("its image is missing".into()));
    }
    Ok(StoredFace { meta, png })
}

/// The face with a margin of half its size on each side (so it can be re-aligned or re-detected
/// later), shrunk to at most [`CROP_MAX_SIDE`]. Returns the crop and the face in its pixels.
fn padded_crop(img: &RgbImage, face: &Face) -> (RgbImage, Face) {
    let b = face.bbox;
    let side = b.w.max(b.h) * 2.0;
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    let x0 = (cx - side / 2.0).clamp(0.0, img.width() as f32 - 1.0) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, img.height() as f32 - 1.0) as u32;
    let x1 = ((cx + side / 2.0).ceil() as u32).clamp(x0 + 1, img.width());
    let y1 = ((cy + side / 2.0).ceil() as u32).clamp(y0 + 1, img.height());
    let mut crop = imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    let mut shifted = face.clone();
    shifted.bbox.x -= x0 as f32;
    shifted.bbox.y -= y0 as f32;
    for p in &mut shifted.landmarks {
        p[0] -= x0 as f32;
        p[1] -= y0 as f32;
    }
    let longest = crop.width().max(crop.height());
    if longest > CROP_MAX_SIDE {
        let s = CROP_MAX_SIDE as f32 / longest as f32;
        let (w, h) = (
            (crop.width() as f32 * s).round() as u32,
            (crop.height() as f32 * s).round() as u32,
        );
        crop = imageops::resize(&crop, w.max(1), h.max(1), imageops::FilterType::Triangle);
        shifted = shifted.scaled(s);
    }
    (crop, shifted)
}
