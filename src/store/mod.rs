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
//!
//! Every file operation goes through [`dir::DataDir`], relative to the opened data dir and
//! following no symbolic link; the data dir must belong to the user and be private.

pub mod audit;
mod cache;
pub mod dir;
mod faces;
#[cfg(test)]
pub(crate) use faces::fixtures as test_faces;
pub mod frames;
pub mod names;
mod rename;
pub mod secret;
mod settings;
#[cfg(test)]
mod testfs;
mod wipe;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use dir::{DataDir, Owner};
pub use faces::{CROP_MAX_SIDE, FaceListed, FaceMeta, StoredFace, face_region};
pub use names::validate_name;
pub use settings::{
    CAMERA_FPS, CAMERA_HEIGHT, CAMERA_WIDTH, MAX_LIVE_N, MIN_VERIFICATION_THRESHOLD, Settings,
    SettingsProblem, threshold_floor, value_name,
};
pub use wipe::WipeReport;

use crate::vision::Embedding;

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

/// "Katie's verification images", "the negatives": a gallery as messages name it.
impl std::fmt::Display for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gallery::Person { name, kind } => write!(f, "{name}'s {} images", kind.dir_name()),
            Gallery::Negatives => f.write_str("the negatives"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{}` is not a valid name: {reason}", names::printable(name))]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "no person called `{}` is enrolled (see `{} user list`)",
        names::printable(.0),
        crate::hint::FACEGATE
    )]
    UnknownPerson(String),
    #[error("`{}` is already enrolled", names::printable(.0))]
    PersonExists(String),
    // "Nothing was changed" read as the whole batch, after a capture's earlier images had been
    // saved (journey s39 #14): this one write is what was undone.
    #[error(
        "the disk is full while writing {}; that write was undone",
        crate::shown::Shown(.0)
    )]
    DiskFull(PathBuf),
    // The bare "Read-only file system" named a lock file and no way out (journey s40 #6).
    // One text for the desk's store and root's: the remedy names both.
    #[error(
        "cannot write {}: the store is on a read-only file system, and this must write there \
         (an attempt is counted toward the lock-out before it is judged; a capture saves); \
         reading (`user list`, `identify`, `compare`, `unlock list`) still works; give a store \
         on a writable file system (--data-dir on the desk; for face unlock, the config's \
         `store =`, which facegate.service's ReadWritePaths= must name)",
        crate::shown::Shown(.0)
    )]
    ReadOnly(PathBuf),
    #[error("cannot access {}", crate::shown::Shown(path))]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is corrupt: {reason}", crate::shown::Shown(path))]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot seal or unseal private data: {0}")]
    Sealing(String),
    #[error("{id} is not among {among}")]
    UnknownFace { id: uuid::Uuid, among: Gallery },
    #[error("the same image is already stored ({existing})")]
    Duplicate { existing: uuid::Uuid },
    #[error("{}", .0)]
    DataDir(io::Error),
    #[error(
        "the model or its preprocessing was changed from elsewhere meanwhile; nothing was saved, try again"
    )]
    ChangedMeanwhile,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| {
        if dir::is_link_error(&source) {
            // The message names the link; "cannot access" would hide why.
            StoreError::DataDir(source)
        } else if source.kind() == io::ErrorKind::StorageFull {
            StoreError::DiskFull(path.to_owned())
        } else if source.kind() == io::ErrorKind::ReadOnlyFilesystem {
            StoreError::ReadOnly(path.to_owned())
        } else {
            StoreError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// A small state file (lock-out counters and the like) is far below this.
const MAX_STATE_BYTES: u64 = 64 << 10;
/// settings.toml is a dozen lines.
const MAX_SETTINGS_BYTES: u64 = 64 << 10;
const SETTINGS_FILE: &str = "settings.toml";
/// The store's write lock.
const LOCK_FILE: &str = ".lock";
/// Held by the one process that runs live attempts on the store for as long as it runs
/// ([`Store::hold_for_attempts`]).
const ATTEMPTS_LOCK_FILE: &str = ".attempts.lock";
/// Held by an enrolment for its whole run ([`Store::hold_for_enrolment`]).
const ENROL_LOCK_FILE: &str = ".enrol.lock";
/// Where a settings file with problems is kept when new settings are saved over it, so that
/// what the user wrote (a typo away from valid) is not lost.
pub const SETTINGS_BACKUP: &str = "settings.toml.bad";

pub struct Store {
    dir: DataDir,
    /// Opened on first use, so commands that never touch sealed data never create a key.
    sealer: std::sync::OnceLock<Result<secret::Sealer, String>>,
    /// Embeddings already unsealed, by (pipeline cache id, image sha256). Content-addressed, so
    /// never stale; it spares the live worker a file read and a decryption per vector each time
    /// it rescores a person's images after a capture.
    unsealed: std::sync::Mutex<std::collections::HashMap<(String, String), Embedding>>,
    /// Each gallery's image hashes, by gallery folder (`faces::ImageIndex`).
    image_index: std::sync::Mutex<std::collections::HashMap<PathBuf, faces::ImageIndex>>,
    /// The entries already said to be skipped ([`Store::skipping`]).
    skips_said: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

/// How many skipped entries [`Store::skipping`] names before it says only that there are more.
const SKIPS_NAMED: usize = 100;

/// Held while the store is being changed.
pub struct WriteLock(#[allow(dead_code)] File);

/// What a person's sealed file is bound to (its logical name): moved or renamed, it does not open.
fn sealed_label(name: &str, file: &str) -> String {
    format!("users/{name}/{file}")
}

impl StoreError {
    /// The file or folder it is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreError::Io { path, .. } | StoreError::Corrupt { path, .. } => Some(path),
            StoreError::DiskFull(path) | StoreError::ReadOnly(path) => Some(path),
            _ => None,
        }
    }
}

fn person_rel(name: &str) -> Result<PathBuf, StoreError> {
    validate_name(name)?;
    Ok(Path::new("users").join(name))
}

impl Store {
    /// Opens (creating if needed) the store at `root`, which must be the user's own private
    /// folder (not a link, not writable by others).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_owned(root, Owner::EffectiveUser)
    }

    /// Opens the store at `root`, which must belong to `owner`.
    pub fn open_owned(root: &Path, owner: Owner) -> Result<Store, StoreError> {
        let dir = DataDir::open(root, owner).map_err(StoreError::DataDir)?;
        for sub in ["users", "negatives", "cache"] {
            dir.create_dir_all(Path::new(sub))
                .map_err(io_err(&root.join(sub)))?;
        }
        Ok(Store::on(dir))
    }

    /// Another handle on this store's folder (not on whatever its path names now), with caches
    /// of its own: for readers on other threads.
    pub fn another_handle(&self) -> Result<Store, StoreError> {
        let dir = self.dir.try_clone().map_err(io_err(self.root()))?;
        Ok(Store::on(dir))
    }

    /// Opens someone else's existing store to read it, creating and changing nothing; it must
    /// belong to `owner` (root copying a user's enrolment checks it is that user's).
    pub fn open_to_read(root: &Path, owner: Owner) -> Result<Store, StoreError> {
        let dir = DataDir::open_existing(root, owner).map_err(StoreError::DataDir)?;
        Ok(Store::on(dir))
    }

    fn on(dir: DataDir) -> Store {
        Store {
            dir,
            sealer: std::sync::OnceLock::new(),
            unsealed: Default::default(),
            image_index: Default::default(),
            skips_said: Default::default(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Whether `name` has a verification image that can be listed: who a calibration compares.
    pub fn has_verification_images(&self, name: &str) -> bool {
        self.faces(&Gallery::Person {
            name: name.to_owned(),
            kind: ImageKind::Verification,
        })
        .is_ok_and(|f| !f.is_empty())
    }

    /// Whether `e` is about something in `name`'s folder alone (their folder unreadable, one of
    /// their files damaged), not the whole store.
    pub fn is_about_person(&self, e: &StoreError, name: &str) -> bool {
        e.path()
            .is_some_and(|p| p.starts_with(self.root().join("users").join(name)))
    }

    /// The opened data dir, for the store's parts (audit log, cache, frames, key).
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    fn write(&self, rel: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        self.dir
            .write_atomic(rel, bytes)
            .map_err(io_err(&self.dir.display(rel)))
    }

    /// The data key, or None when it cannot be had (then the embedding cache is skipped, which
    /// costs time, not data: every cached vector can be recomputed from its image).
    pub fn sealer(&self) -> Option<&secret::Sealer> {
        self.sealer_or_why().ok()
    }

    fn sealer_or_why(&self) -> Result<&secret::Sealer, StoreError> {
        self.sealer
            .get_or_init(|| {
                secret::Sealer::open(&self.dir).map_err(|e| {
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
        self.write_sealed_if(name, file, bytes, |_| Ok(true))
            .map(drop)
    }

    /// [`write_sealed`](Self::write_sealed) if `still` says yes when asked under the store
    /// lock, so that no other process changes what it checked before the file is written;
    /// returns whether it wrote. (`still` must not take the lock itself.)
    pub fn write_sealed_if(
        &self,
        name: &str,
        file: &str,
        bytes: &[u8],
        still: impl FnOnce(&Store) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        let sealed = self.sealer_or_why()?.seal(bytes, &sealed_label(name, file));
        let _lock = self.lock()?;
        let rel = self.require_person(name)?.join(file);
        if !still(self)? {
            return Ok(false);
        }
        self.write(&rel, &sealed)?;
        // A copy left by a rename cut off is older than this file: it must never replace it.
        let _ = self
            .dir
            .remove_file(&rel.with_file_name(rename::staged_name(file)));
        Ok(true)
    }

    /// Reads back what [`write_sealed`](Self::write_sealed) wrote; None when there is no file.
    pub fn read_sealed(&self, name: &str, file: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rel = self.require_person(name)?.join(file);
        let path = self.dir.display(&rel);
        let Some(data) = self
            .dir
            .read_opt(&rel, crate::imageio::MAX_FILE_BYTES)
            .map_err(io_err(&path))?
        else {
            return Ok(None);
        };
        let sealer = self.sealer_or_why()?;
        match sealer.unseal(&data, &sealed_label(name, file)) {
            Ok(plain) => Ok(Some(plain)),
            Err(e) => self
                .finish_rename(name, file)
                .map(Some)
                .ok_or(StoreError::Corrupt {
                    path,
                    reason: e.to_string(),
                }),
        }
    }

    /// A rename cut off between its folder move and the moves of its resealed copies leaves
    /// `file` sealed for the old name beside `.tmp-rename-<file>`, sealed for this one: the copy
    /// is moved into place and its contents returned. None when there is no such copy.
    fn finish_rename(&self, name: &str, file: &str) -> Option<Vec<u8>> {
        // Read under the lock: a head written meanwhile removes the copy (see
        // `write_sealed_if`), so a copy found here is the newest the person has.
        let _lock = self.lock().ok()?;
        let folder = self.require_person(name).ok()?;
        let staged = folder.join(rename::staged_name(file));
        let data = self
            .dir
            .read_opt(&staged, crate::imageio::MAX_FILE_BYTES)
            .ok()??;
        let plain = self
            .sealer()?
            .unseal(&data, &sealed_label(name, file))
            .ok()?;
        match self.dir.rename(&staged, &folder.join(file)) {
            Ok(()) => tracing::warn!("{name}: finished an interrupted rename of {file}"),
            Err(e) => {
                tracing::warn!("{name}: could not finish an interrupted rename of {file}: {e}")
            }
        }
        Some(plain)
    }

    /// Size and time of a file in a person's folder (None when missing): for caches of what
    /// another process may rewrite, like a trained head.
    pub fn person_file_stamp(&self, name: &str, file: &str) -> Option<dir::Stamp> {
        let rel = self.require_person(name).ok()?.join(file);
        self.dir.stamp(&rel)
    }

    /// A cached embedding of the image with content hash `sha256` under the pipeline `cache_id`.
    pub fn cached(&self, cache_id: &str, sha256: &str) -> Option<Embedding> {
        let key = (cache_id.to_owned(), sha256.to_owned());
        if let Some(e) = self.unsealed.lock().unwrap().get(&key) {
            return Some(e.clone());
        }
        let e = cache::get(&self.dir, self.sealer()?, cache_id, sha256)?;
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
        if let Err(err) = cache::put(&self.dir, sealer, cache_id, sha256, e) {
            tracing::warn!("could not cache an embedding: {err}");
        }
    }

    /// Exclusive lock across processes, released on drop.
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        let rel = Path::new(LOCK_FILE);
        self.dir
            .lock(rel)
            .map(WriteLock)
            .map_err(io_err(&self.dir.display(rel)))
    }

    /// The lock of the one process that runs attempts on this store, held until the file is
    /// dropped; `None` when another process holds it. The unlock daemon takes it before it
    /// ends the attempts its store records as running: two daemons on one store (a second
    /// started with another `--socket`) would each end the other's live attempts as killed,
    /// and count them as failures (final read s36 #15).
    pub fn hold_for_attempts(&self) -> Result<Option<File>, StoreError> {
        let rel = Path::new(ATTEMPTS_LOCK_FILE);
        self.dir
            .try_hold(rel)
            .map_err(io_err(&self.dir.display(rel)))
    }

    /// The lock of the one enrolment running on this store, held until the file is dropped;
    /// `None` when another holds it. Two first enrolments of one account at once left the
    /// second told that the enrolment "does not record which account it was made for", with
    /// `unlock remove` as the remedy, which would have removed the first's while it ran (red
    /// team s41 F3).
    pub fn hold_for_enrolment(&self) -> Result<Option<File>, StoreError> {
        let rel = Path::new(ENROL_LOCK_FILE);
        self.dir
            .try_hold(rel)
            .map_err(io_err(&self.dir.display(rel)))
    }

    fn gallery_dir(&self, gallery: &Gallery) -> Result<PathBuf, StoreError> {
        match gallery {
            Gallery::Person { name, kind } => Ok(self.person_folder(name)?.join(kind.dir_name())),
            Gallery::Negatives => Ok(PathBuf::from("negatives")),
        }
    }

    /// Adds a person. A name that looks like an enrolled one (same Unicode skeleton) is allowed
    /// but returned, so the caller can warn: two people the prompts cannot tell apart.
    pub fn add_person(&self, name: &str) -> Result<Option<String>, StoreError> {
        names::validate_new_name(name)?;
        let rel = person_rel(name)?;
        let _lock = self.lock()?;
        if self.dir.kind(&rel) != dir::Kind::Other {
            return Err(StoreError::PersonExists(name.to_owned()));
        }
        let lookalike = names::confusable_with(name, &self.people()?).map(str::to_owned);
        for kind in ImageKind::ALL {
            let sub = rel.join(kind.dir_name());
            self.dir
                .create_dir_all(&sub)
                .map_err(io_err(&self.dir.display(&sub)))?;
        }
        Ok(lookalike)
    }

    /// Where `name`'s folder is: under the name as typed when something is there, else under
    /// its composed form (NFC) when that is a folder, so a name typed decomposed finds the one
    /// stored composed, and one stored before in another form stays reachable as spelt
    /// (journey s37 #5, final read s37 #2). Whatever is found is judged by the caller. Not in
    /// root's system store: its names are accounts, which PAM and passwd tell apart byte by
    /// byte, and the decomposed account's `unlock remove` removed the composed one's enrolment
    /// (red team s42 R1).
    fn person_folder(&self, name: &str) -> Result<PathBuf, StoreError> {
        let rel = person_rel(name)?;
        let composed = names::normalised(name);
        if composed == name
            || self.dir.owner() == dir::Owner::Root
            || self.dir.kind(&rel) != dir::Kind::Other
        {
            return Ok(rel);
        }
        match person_rel(&composed) {
            Ok(other) if self.dir.kind(&other) == dir::Kind::Dir => Ok(other),
            _ => Ok(rel),
        }
    }

    /// The person's folder (inside the data dir); an invalid name, an unknown person or a link
    /// in its place is an error.
    pub fn require_person(&self, name: &str) -> Result<PathBuf, StoreError> {
        let rel = self.person_folder(name)?;
        match self.dir.kind(&rel) {
            dir::Kind::Dir => Ok(rel),
            dir::Kind::Link => Err(StoreError::DataDir(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; FaceGate follows no links inside its data dir",
                    crate::shown::Shown(&self.dir.display(&rel))
                ),
            ))),
            _ => Err(StoreError::UnknownPerson(name.to_owned())),
        }
    }

    /// The name `name` is stored under (the composed form of one typed decomposed, at the
    /// desk): what comparisons with [`Store::people`]'s names need (final read s42 #1: a
    /// person's own photos were counted as another's by `calibrate` typed decomposed).
    pub fn stored_name(&self, name: &str) -> Result<String, StoreError> {
        let rel = self.require_person(name)?;
        Ok(rel
            .file_name()
            .and_then(|n| n.to_str())
            .map_or_else(|| name.to_owned(), str::to_owned))
    }

    /// Enrolled people, sorted. Anything in `users/` that is not a folder with a valid name
    /// (a link, a file) is skipped with a warning.
    pub fn people(&self) -> Result<Vec<String>, StoreError> {
        let users = Path::new("users");
        let mut names = Vec::new();
        let entries = self
            .dir
            .list(users)
            .map_err(io_err(&self.dir.display(users)))?;
        for entry in entries {
            let name = entry.name.to_string_lossy().into_owned();
            if entry.kind == dir::Kind::Dir && validate_name(&name).is_ok() {
                names.push(name);
            } else {
                self.skipping(&users.join(&entry.name), &"not a person folder");
            }
        }
        names.sort();
        Ok(names)
    }

    /// Says that `rel`, an entry of the store, is skipped and why: once a process, since the
    /// listings that skip it run every second (the window following the store) or every frame
    /// (Unlock's search, the daemon's gallery until a face matches), and one stray file was said
    /// each time (200,000 junk files wrote as many lines at every reload; red team, session 31).
    /// Past [`SKIPS_NAMED`] names, one line says there are more.
    fn skipping(&self, rel: &Path, why: &dyn std::fmt::Display) {
        let mut said = self.skips_said.lock().unwrap();
        if said.len() > SKIPS_NAMED || !said.insert(rel.to_owned()) {
            return;
        }
        let shown = self.dir.display(rel);
        if said.len() > SKIPS_NAMED {
            tracing::warn!(
                "more entries of the store are skipped than are named here (the last: {})",
                crate::shown::Shown(&shown)
            );
        } else {
            tracing::warn!("skipping {}: {why}", crate::shown::Shown(&shown));
        }
    }

    /// Saves the frame of a failed attempt (the caller checks that the user opted in) and
    /// returns its path relative to the data dir, for the attempt's audit line.
    pub fn save_failed_frame(&self, img: &image::RgbImage) -> Result<String, StoreError> {
        let _lock = self.lock()?;
        frames::save(&self.dir, img).map_err(io_err(&self.dir.display(Path::new(frames::DIR))))
    }

    /// Records a verification attempt in the audit log.
    pub fn audit(&self, entry: &audit::AuditEntry) {
        let log = self.dir.display(Path::new(audit::LOG_FILE));
        let result = self
            .lock()
            .and_then(|_lock| audit::append(&self.dir, entry).map_err(io_err(&log)));
        if let Err(e) = result {
            // An attempt must not fail because its log line could not be written; the warning
            // says why (a planted FIFO, a link), which "cannot access" alone would not.
            let why = match &e {
                StoreError::Io { source, .. } => format!(": {source}"),
                _ => String::new(),
            };
            tracing::warn!("could not write the audit log: {e}{why}");
        }
    }

    /// Every readable line of the audit log, oldest first.
    pub fn audit_log(&self) -> Vec<audit::AuditEntry> {
        audit::read_in(&self.dir)
    }

    /// How many audit-log lines are about `person`: what a removal leaves for `--wipe` (both
    /// the desk's and face unlock's removals offer it only where there is something to wipe).
    pub fn audit_lines_about(&self, person: &str) -> usize {
        self.audit_log()
            .iter()
            .filter(|e| e.person == person)
            .count()
    }

    /// The settings, each security value range-checked: a value outside its range is replaced
    /// by its safe default and reported (name, range, file), as is a file that does not parse.
    pub fn settings(&self) -> Settings {
        let (settings, problems) = self.settings_checked();
        for p in &problems {
            tracing::warn!("{p}");
        }
        settings
    }

    /// [`Store::settings`] with the problems found, for callers that show them.
    pub fn settings_checked(&self) -> (Settings, Vec<SettingsProblem>) {
        let rel = Path::new(SETTINGS_FILE);
        let path = self.dir.display(rel);
        match self.dir.read_opt(rel, MAX_SETTINGS_BYTES) {
            Ok(Some(bytes)) => Settings::parse(&String::from_utf8_lossy(&bytes), &path),
            Ok(None) => (Settings::default(), Vec::new()),
            Err(e) => (
                Settings::default(),
                vec![SettingsProblem::unreadable(&path, &e.to_string())],
            ),
        }
    }

    /// Saves `settings`, which must be within every range (see [`Settings::check`]).
    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        self.save_settings_with(|_| Ok(settings.clone())).map(drop)
    }

    /// Saves what `make` returns from the settings as saved now, read under the store lock so
    /// that no other process saves in between (a change made from elsewhere is then kept, not
    /// overwritten); returns what was saved. It must be within every range.
    pub fn save_settings_with(
        &self,
        make: impl FnOnce(Settings) -> Result<Settings, StoreError>,
    ) -> Result<Settings, StoreError> {
        let rel = Path::new(SETTINGS_FILE);
        let _lock = self.lock()?;
        let (now, problems) = self.settings_checked();
        let settings = make(now)?;
        if let Some(problem) = settings.check(&self.dir.display(rel)).into_iter().next() {
            return Err(StoreError::Corrupt {
                path: self.dir.display(rel),
                reason: problem.to_string(),
            });
        }
        let text = toml::to_string_pretty(&settings).expect("settings serialise");
        // A file with problems (unparsable, out of range, unreadable, too large) is kept under a
        // second name rather than read and copied: a link needs neither the bytes nor free
        // space, and it is made only once the new file is written, so a full disk leaves the old
        // one in place (moving it aside first lost every setting when the write then failed).
        if !problems.is_empty() && self.dir.kind(rel) == dir::Kind::File {
            self.dir
                .write_atomic_keeping(rel, text.as_bytes(), SETTINGS_BACKUP)
                .map_err(io_err(&self.dir.display(rel)))?;
            tracing::warn!(
                "the settings file had problems; kept as {}",
                crate::shown::Shown(&self.dir.display(Path::new(SETTINGS_BACKUP)))
            );
        } else {
            self.write(rel, text.as_bytes())?;
        }
        Ok(settings)
    }

    /// A small JSON state file in a person's folder (lock-out counters and the like): the
    /// default when there is none yet, an error when it cannot be read or parsed (a lock-out
    /// that reads as "none" because its file is damaged would fail open).
    pub fn read_state<T: for<'de> Deserialize<'de> + Default>(
        &self,
        name: &str,
        file: &str,
    ) -> Result<T, StoreError> {
        let rel = self.require_person(name)?.join(file);
        self.read_json(&rel)
    }

    fn read_json<T: for<'de> Deserialize<'de> + Default>(
        &self,
        rel: &Path,
    ) -> Result<T, StoreError> {
        let path = self.dir.display(rel);
        let corrupt = |why: String| StoreError::Corrupt {
            path: path.clone(),
            reason: format!("{why} (a reset of the person writes a fresh one)"),
        };
        let bytes = match self.dir.read_opt(rel, MAX_STATE_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(T::default()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(corrupt(format!("longer than {MAX_STATE_BYTES} bytes")));
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))
    }

    /// Reads, changes and writes back a state file under the store lock, so two processes
    /// counting failed attempts at once both count (a plain read then write loses one). A
    /// damaged file is an error, not a fresh start; [`Store::write_state`] replaces it.
    pub fn update_state<T, R>(
        &self,
        name: &str,
        file: &str,
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<R, StoreError>
    where
        T: Serialize + for<'de> Deserialize<'de> + Default,
    {
        self.change_state(name, file, |value| (change(value), true))
    }

    /// [`Store::update_state`] written back only when `change` says it changed something: a
    /// pass over every person's file rewrote each one.
    pub fn edit_state<T>(
        &self,
        name: &str,
        file: &str,
        change: impl FnOnce(&mut T) -> bool,
    ) -> Result<bool, StoreError>
    where
        T: Serialize + for<'de> Deserialize<'de> + Default,
    {
        self.change_state(name, file, |value| {
            let changed = change(value);
            (changed, changed)
        })
    }

    /// Reads the state under the store's lock, lets `change` change it, and writes it back when
    /// `change` says so (its second answer).
    fn change_state<T, R>(
        &self,
        name: &str,
        file: &str,
        change: impl FnOnce(&mut T) -> (R, bool),
    ) -> Result<R, StoreError>
    where
        T: Serialize + for<'de> Deserialize<'de> + Default,
    {
        let _lock = self.lock()?;
        let rel = self.require_person(name)?.join(file);
        let mut value: T = self.read_json(&rel)?;
        let (out, write) = change(&mut value);
        if write {
            self.write(&rel, &serde_json::to_vec(&value).expect("state serialises"))?;
        }
        Ok(out)
    }

    pub fn write_state<T: Serialize>(
        &self,
        name: &str,
        file: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let rel = self.require_person(name)?.join(file);
        self.write(&rel, &serde_json::to_vec(value).expect("state serialises"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only an error about a person's own folder is theirs: identify leaves them out for it,
    /// and stops on one about the store (diff review s41 #4).
    #[test]
    fn an_error_is_a_persons_only_inside_their_folder() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        let at = |rel: &str| StoreError::Io {
            path: root.path().join(rel),
            source: io::Error::other("refused"),
        };
        assert!(store.is_about_person(&at("users/Ann/verification"), "Ann"));
        assert!(!store.is_about_person(&at("users/Anna/verification"), "Ann"));
        assert!(!store.is_about_person(&at(".lock"), "Ann"));
        assert!(!store.is_about_person(&StoreError::Sealing("no key".into()), "Ann"));
    }

    /// A name typed decomposed finds the person stored composed at the desk, but not in root's
    /// system store, whose names are accounts told apart byte by byte: the decomposed
    /// account's `unlock remove` removed the composed one's enrolment (red team s42 R1).
    #[test]
    fn only_the_desk_finds_a_decomposed_name_under_its_composed_form() {
        if !rustix::process::geteuid().is_root() {
            println!("NOTICE: not root; root's store cannot be made, the test is skipped");
            return;
        }
        let (composed, decomposed) = ("Ren\u{e9}e", "Rene\u{301}e");
        let desk = tempfile::tempdir().unwrap();
        let store = Store::open(desk.path()).unwrap();
        store.add_person(composed).unwrap();
        assert!(
            store.require_person(decomposed).is_ok(),
            "the desk's typing aid"
        );

        let system = tempfile::tempdir().unwrap();
        let store = Store::open_owned(system.path(), Owner::Root).unwrap();
        store.add_person(composed).unwrap();
        assert!(
            matches!(
                store.require_person(decomposed),
                Err(StoreError::UnknownPerson(_))
            ),
            "another account"
        );
        assert!(store.require_person(composed).is_ok());
    }
}
