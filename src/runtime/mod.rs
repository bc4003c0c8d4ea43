//! Finding, checking and loading the ONNX models and the ONNX Runtime library.
//!
//! Nothing is ever downloaded here: `make setup` puts the files in place, and this module refuses
//! any file that is missing or whose sha256 differs from the compiled-in manifest. The checksum is
//! taken on the bytes that are loaded: a model is read into memory once, hashed, and the session
//! is built from that buffer, so swapping the file after the check changes nothing.
//!
//! The models folder is found at run time only (see [`candidate_dirs`]): a binary never reaches
//! back into the source tree it was built from.

pub mod environment;
mod manifest;

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use sha2::{Digest, Sha256};

pub use manifest::{Entry, Manifest, ROLE_WIDTH};

pub const MODELS_ENV: &str = "FACEGATE_MODELS";

/// The system-wide install location, looked in last.
pub const SYSTEM_MODELS_DIR: &str = "/usr/lib/facegate/models";

/// The largest file this module reads. The biggest FaceGate ships is under 40 MB; anything far
/// beyond that is not one of our files, and must not be read into memory.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// How to put a file of `path` back: an installed package's by reinstalling it, a source
/// checkout's by `make setup` (an installed binary has no Makefile; journey s41 #9).
fn restore(path: &Path) -> &'static str {
    match path.starts_with(SYSTEM_MODELS_DIR) {
        true => "reinstall the facegate package (`sudo apt install --reinstall facegate`)",
        false => "run `make setup` in the FaceGate source folder",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "no models folder holding the ONNX Runtime library ({}) found (looked in: {}); install \
         the facegate package, or run `make setup` in a FaceGate source folder; or pass --models \
         DIR / set {MODELS_ENV}",
        Manifest::builtin().runtime.file,
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoModelsDir(Vec<PathBuf>),
    #[error("model file {} is missing; {}", .0.display(), restore(.0))]
    Missing(PathBuf),
    #[error(
        "model file {} is not here: an installed package leaves it out ({why}); from a source \
         checkout `make setup` fetches it; or choose another model in the settings",
        path.display()
    )]
    NotInstalled { path: PathBuf, why: String },
    #[error("model file {} is not a regular file; {} to restore it", .0.display(), restore(.0))]
    NotAFile(PathBuf),
    #[error(
        "model file {} is larger than {} MiB, far beyond any FaceGate model; {} to restore it",
        .0.display(), MAX_FILE_BYTES >> 20, restore(.0)
    )]
    TooLarge(PathBuf),
    #[error(
        "model file {} is corrupt (sha256 {got}, expected {expected}); {} to restore it",
        path.display(),
        restore(path)
    )]
    Corrupt {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown model id `{0}`")]
    Unknown(String),
    #[error("cannot load ONNX Runtime from {}: {reason}; {}", path.display(), restore(path))]
    Runtime { path: PathBuf, reason: String },
    #[error("ONNX Runtime could not load {}; {} to restore it", path.display(), restore(path))]
    Session {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
}

/// Where to look for the models folder, in order: `--models DIR` (`explicit`), else
/// `$FACEGATE_MODELS`, each alone when given (a folder the user named is never silently replaced
/// by another); else `models/` beside the executable, then the installed location
/// `<exe dir>/../lib/facegate/models` and [`SYSTEM_MODELS_DIR`]. Never the source tree the
/// binary was built from: `make run` and `make test` pass `FACEGATE_MODELS` for that.
pub fn candidate_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = explicit {
        return vec![dir.to_owned()];
    }
    if let Some(dir) = std::env::var_os(MODELS_ENV).filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned));
    installed_dirs(exe_dir.as_deref())
}

/// The folders looked in when none is named, for an executable in `exe_dir`.
fn installed_dirs(exe_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = exe_dir {
        dirs.push(exe_dir.join("models"));
        if let Some(prefix) = exe_dir.parent() {
            dirs.push(prefix.join("lib/facegate/models"));
        }
    }
    let system = PathBuf::from(SYSTEM_MODELS_DIR);
    if !dirs.contains(&system) {
        dirs.push(system);
    }
    dirs
}

/// A located models folder. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Models {
    dir: PathBuf,
    pub intra_threads: usize,
}

/// Status of one manifest entry, for `facegate models`.
#[derive(Debug, serde::Serialize)]
pub struct FileStatus {
    pub id: String,
    pub role: String,
    pub file: PathBuf,
    pub licence: String,
    pub source: String,
    pub ok: bool,
    pub problem: Option<String>,
}

impl Models {
    /// Finds the models folder (see [`candidate_dirs`]): the first that holds the ONNX Runtime
    /// library. Files are checked when loaded. The folder is kept as an absolute path, so what is
    /// checked and what is loaded cannot differ by working directory.
    pub fn locate(explicit: Option<&Path>) -> Result<Models, ModelError> {
        let candidates = candidate_dirs(explicit);
        let runtime_file = &Manifest::builtin().runtime.file;
        if let Some(dir) = candidates.iter().find(|d| d.join(runtime_file).is_file()) {
            return Ok(Models {
                dir: std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
                intra_threads: default_threads(),
            });
        }
        // A library that is there but is a pipe or a device is named as such: "no models
        // folder found" sent the user looking for a folder they had given.
        match candidates
            .iter()
            .map(|d| d.join(runtime_file))
            .find(|p| p.exists())
        {
            Some(odd) => Err(ModelError::NotAFile(odd)),
            None => Err(ModelError::NoModelsDir(candidates)),
        }
    }

    /// `dir` taken as the models folder whatever it holds: for showing what it lacks
    /// (`facegate models`), not for loading.
    pub fn at(dir: &Path) -> Models {
        Models {
            dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
            intra_threads: default_threads(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A model's bytes by id, read once and checked against the manifest: the caller loads
    /// exactly what was hashed.
    pub fn verified_bytes(&self, id: &str) -> Result<(PathBuf, Vec<u8>), ModelError> {
        let entry = Manifest::builtin()
            .model(id)
            .ok_or_else(|| ModelError::Unknown(id.to_owned()))?;
        let path = self.dir.join(&entry.file);
        // Asked for by a setting (the mbf embedder), a model the package leaves out is missing
        // for a reason `make setup` alone does not cover for a package's user.
        let bytes = read_bounded(&path).map_err(|e| match (e, &entry.unpackaged) {
            (ModelError::Missing(path), Some(why)) => ModelError::NotInstalled {
                path,
                why: why.clone(),
            },
            (e, _) => e,
        })?;
        check_digest(&path, &entry.sha256, &hex::encode(Sha256::digest(&bytes)))?;
        Ok((path, bytes))
    }

    /// Every manifest entry with its checksum verdict.
    pub fn status(&self) -> Vec<FileStatus> {
        let manifest = Manifest::builtin();
        std::iter::once(&manifest.runtime)
            .chain(&manifest.model)
            .map(|entry| {
                let path = self.dir.join(&entry.file);
                let checked = open_regular(&path)
                    .and_then(|file| hash_bounded(&path, file))
                    .and_then(|digest| check_digest(&path, &entry.sha256, &digest));
                // A file the package leaves out on purpose is not a fault when it is absent.
                let (ok, problem) = match (checked, &entry.unpackaged) {
                    (Ok(()), _) => (true, None),
                    (Err(ModelError::Missing(_)), Some(why)) => {
                        (true, Some(format!("not installed: {why}")))
                    }
                    (Err(e), _) => (false, Some(e.to_string())),
                };
                FileStatus {
                    id: if entry.id.is_empty() {
                        "onnxruntime".into()
                    } else {
                        entry.id.clone()
                    },
                    role: if entry.role.is_empty() {
                        "inference runtime".into()
                    } else {
                        entry.role.clone()
                    },
                    file: path,
                    licence: entry.licence.clone(),
                    source: entry.source(),
                    ok,
                    problem,
                }
            })
            .collect()
    }

    /// The process-wide ONNX Runtime environment, loaded from this folder's verified library.
    pub fn environment(&self) -> Result<&'static Environment, ModelError> {
        static ENV: OnceLock<Environment> = OnceLock::new();
        // ORT allows one environment per process; serialise first use across threads.
        static INIT: Mutex<()> = Mutex::new(());
        let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(env) = ENV.get() {
            return Ok(env);
        }
        let entry = &Manifest::builtin().runtime;
        let path = self.dir.join(&entry.file);
        // Read through a duplicate of the descriptor kept open: without memfd, the file loaded
        // is the one hashed, not whatever the path names by then.
        let opened = open_regular(&path)?;
        let io_err = |source| ModelError::Io {
            path: path.clone(),
            source,
        };
        let bytes = crate::bounded::read_all(opened.try_clone().map_err(io_err)?, MAX_FILE_BYTES)
            .map_err(|why| refused(&path, why))?;
        check_digest(&path, &entry.sha256, &hex::encode(Sha256::digest(&bytes)))?;
        let runtime_err = |reason: String| ModelError::Runtime {
            path: path.clone(),
            reason,
        };
        // A shared library cannot be loaded from a buffer: dlopen takes a path. It is loaded
        // from a sealed in-memory copy of the bytes just hashed (/proc/self/fd/N of a memfd),
        // as models are built from theirs: a mapped file follows writes to it, so whoever could
        // write the library file, even long after the check, chose code this process ran (red
        // team S27-F4: `int3` written into a user-owned copy trapped the root daemon). The
        // libraries it needs (libstdc++, libc...) come from the system loader path.
        let file = match sealed_copy(&bytes) {
            Ok(file) => file,
            // Root never maps a file someone else might write. Without memfd (a kernel
            // before 3.17, a sandbox that forbids it) a user's own process maps the file it
            // hashed, by its descriptor (by its path where /proc is missing): whoever can write
            // that file can change what it runs, as for any program the user runs.
            Err(e) if rustix::process::geteuid().is_root() => {
                return Err(runtime_err(format!("no sealed in-memory copy: {e}")));
            }
            Err(_) => opened,
        };
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        let load_from = if by_fd.exists() {
            by_fd
        } else if rustix::process::geteuid().is_root() {
            return Err(runtime_err("/proc is not mounted".into()));
        } else {
            path.clone()
        };
        let env = ort::init_from(&load_from)
            .map_err(|e| runtime_err(e.to_string()))?
            .with_name("facegate")
            .build()
            .map_err(|e| runtime_err(e.to_string()))?;
        drop(file);
        Ok(ENV.get_or_init(|| env))
    }

    /// Builds an ORT session for a model id, from the checked bytes. Callers keep the session for
    /// the life of their stage; building one costs tens of milliseconds and must never happen per
    /// frame.
    pub fn session(&self, id: &str) -> Result<Session, ModelError> {
        self.session_with_threads(id, self.intra_threads)
    }

    /// [`session`](Self::session) with `threads` intra-op threads instead of
    /// [`intra_threads`](Self::intra_threads): for networks that run side by side.
    pub fn session_with_threads(&self, id: &str, threads: usize) -> Result<Session, ModelError> {
        let env = self.environment()?;
        let (path, bytes) = self.verified_bytes(id)?;
        let session_err = |source: ort::Error| ModelError::Session {
            path: path.clone(),
            source,
        };
        Session::builder(env)
            .map_err(session_err)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            .with_intra_threads(threads)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            // Each session has its own thread pool, and by default its threads busy-wait after a
            // run. FaceGate runs several sessions back to back (detect, embed, attributes) on a
            // 2-core machine, so the waiting threads of one took the cores from the next: detect
            // then embed measured 79.8 ms with spinning and 32.8 ms without (15 % slower alone).
            .with_intra_op_spinning(false)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            // ONNX Runtime copies an .onnx model out of the buffer: it can be dropped after.
            .commit_from_memory(&bytes)
            .map_err(session_err)
    }
}

/// `bytes` in a memfd of this process alone, sealed against change. Only a process allowed to
/// ptrace this one can open it (`/proc/PID/fd/N`); the seals keep even that from writing it.
/// `F_SEAL_FUTURE_WRITE`, not `F_SEAL_WRITE`: the latter waits for the kernel to release the
/// pages just written and gives up with EBUSY under load (it failed 1 run in a parallel test
/// suite on 2 cores). A kernel before 5.1 knows no such seal: the copy is still private.
fn sealed_copy(bytes: &[u8]) -> std::io::Result<File> {
    use rustix::fs::{MemfdFlags, SealFlags};
    use std::io::Write;
    let fd = rustix::fs::memfd_create(
        "facegate-onnxruntime",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    let seals = SealFlags::SHRINK | SealFlags::GROW | SealFlags::FUTURE_WRITE | SealFlags::SEAL;
    if let Err(e) = rustix::fs::fcntl_add_seals(&file, seals) {
        tracing::debug!("the runtime's in-memory copy is not sealed: {e}");
    }
    Ok(file)
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Opens `path` for reading if it is a regular file (symlinks followed) of at most
/// [`MAX_FILE_BYTES`]. Checked on the open descriptor, not the path; O_NONBLOCK so a FIFO put in
/// a model's place cannot hang the open.
fn open_regular(path: &Path) -> Result<File, ModelError> {
    crate::bounded::open(path, MAX_FILE_BYTES).map_err(|why| refused(path, why))
}

/// The whole file, read once, refusing one that grows past [`MAX_FILE_BYTES`] while read.
fn read_bounded(path: &Path) -> Result<Vec<u8>, ModelError> {
    crate::bounded::read_all(open_regular(path)?, MAX_FILE_BYTES).map_err(|why| refused(path, why))
}

fn refused(path: &Path, why: crate::bounded::Refused) -> ModelError {
    use crate::bounded::Refused;
    match why {
        Refused::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ModelError::Missing(path.to_owned())
        }
        Refused::Io(source) => ModelError::Io {
            path: path.to_owned(),
            source,
        },
        Refused::NotAFile => ModelError::NotAFile(path.to_owned()),
        Refused::TooLarge(_) => ModelError::TooLarge(path.to_owned()),
        // Models are read with `bounded::open`, which never says this.
        Refused::Untrusted(why) => ModelError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(why),
        },
    }
}

/// The sha256 of an open file, streamed, at most [`MAX_FILE_BYTES`].
fn hash_bounded(path: &Path, file: impl Read) -> Result<String, ModelError> {
    let mut hasher = Sha256::new();
    let n = std::io::copy(&mut file.take(MAX_FILE_BYTES + 1), &mut hasher).map_err(|source| {
        ModelError::Io {
            path: path.to_owned(),
            source,
        }
    })?;
    if n > MAX_FILE_BYTES {
        return Err(ModelError::TooLarge(path.to_owned()));
    }
    Ok(hex::encode(hasher.finalize()))
}

fn check_digest(path: &Path, expected: &str, got: &str) -> Result<(), ModelError> {
    if got == expected {
        Ok(())
    } else {
        Err(ModelError::Corrupt {
            path: path.to_owned(),
            expected: expected.to_owned(),
            got: got.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_binary_looks_beside_itself_then_in_share() {
        assert_eq!(
            installed_dirs(Some(Path::new("/usr/bin"))),
            [
                PathBuf::from("/usr/bin/models"),
                PathBuf::from(SYSTEM_MODELS_DIR)
            ]
        );
        assert_eq!(
            installed_dirs(Some(Path::new("/opt/fg/bin"))),
            [
                PathBuf::from("/opt/fg/bin/models"),
                PathBuf::from("/opt/fg/lib/facegate/models"),
                PathBuf::from(SYSTEM_MODELS_DIR)
            ]
        );
        assert_eq!(installed_dirs(None), [PathBuf::from(SYSTEM_MODELS_DIR)]);
    }

    /// A package's user is told to reinstall it, not to run a Makefile they do not have.
    #[test]
    fn the_remedy_fits_where_the_file_is() {
        let packaged = ModelError::Missing(Path::new(SYSTEM_MODELS_DIR).join("yunet.onnx"));
        let checkout = ModelError::Missing(PathBuf::from("/home/me/facegate/models/yunet.onnx"));
        println!("{packaged}\n{checkout}");
        assert!(
            packaged
                .to_string()
                .contains("reinstall the facegate package")
        );
        assert!(!packaged.to_string().contains("make setup"));
        assert!(checkout.to_string().contains("run `make setup`"));
    }

    #[test]
    fn fifo_and_directory_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("yunet.onnx");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(read_bounded(&fifo), Err(ModelError::NotAFile(_))));
        assert!(matches!(
            read_bounded(dir.path()),
            Err(ModelError::NotAFile(_))
        ));
        assert!(matches!(
            read_bounded(&dir.path().join("none")),
            Err(ModelError::Missing(_))
        ));
    }

    /// The runtime's in-memory copy holds the bytes and takes no more writes (on any kernel
    /// since 5.1); made a hundred times, as a test suite's processes do, it never fails.
    #[test]
    fn the_runtime_copy_is_sealed_and_never_busy() {
        use std::io::{Read, Seek, Write};
        for _ in 0..100 {
            let mut copy = sealed_copy(&[7u8; 1 << 20]).expect("a sealed copy");
            let seals = rustix::fs::fcntl_get_seals(&copy).unwrap();
            assert!(
                seals.contains(rustix::fs::SealFlags::FUTURE_WRITE),
                "{seals:?}"
            );
            assert!(copy.write_all(b"x").is_err(), "no write after the seal");
            copy.rewind().unwrap();
            let mut back = Vec::new();
            copy.read_to_end(&mut back).unwrap();
            assert_eq!(back, vec![7u8; 1 << 20]);
        }
    }

    #[test]
    fn oversized_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.onnx");
        // Sparse: no disk space used.
        File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let err = read_bounded(&big).unwrap_err();
        println!("{err}");
        assert!(matches!(err, ModelError::TooLarge(_)));
    }
}
