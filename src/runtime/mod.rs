//! Finding, checking and loading the ONNX models and the ONNX Runtime library.
//!
//! Nothing is ever downloaded here: `make setup` puts the files in place, and this module refuses
//! any file that is missing or whose sha256 differs from the compiled-in manifest.

mod manifest;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use sha2::{Digest, Sha256};

pub use manifest::{Entry, Manifest};

pub const MODELS_ENV: &str = "FACEGATE_MODELS";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "no models folder found (looked in: {}); run `make setup`, or pass --models DIR / set {MODELS_ENV}",
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoModelsDir(Vec<PathBuf>),
    #[error("model file {} is missing; run `make setup`", .0.display())]
    Missing(PathBuf),
    #[error("model file {} is corrupt (sha256 {got}, expected {expected}); run `make setup` to restore it", path.display())]
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
    #[error("cannot load ONNX Runtime from {}: {reason}; run `make setup`", path.display())]
    Runtime { path: PathBuf, reason: String },
    #[error("ONNX Runtime could not load {}; run `make setup` to restore it", path.display())]
    Session {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
}

/// Where to look for the models folder, in order: `--models`, `$FACEGATE_MODELS`, `models/` beside
/// the executable, then the repository this binary was built from.
pub fn candidate_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = explicit {
        return vec![dir.to_owned()];
    }
    if let Some(dir) = std::env::var_os(MODELS_ENV) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        dirs.push(exe_dir.join("models"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs
}

/// A located models folder. Cheap to clone; checksums are computed once per process and file.
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
    /// Finds the models folder (see [`candidate_dirs`]). The folder must hold the ONNX Runtime
    /// library; individual models are checked when first used.
    pub fn locate(explicit: Option<&Path>) -> Result<Models, ModelError> {
        let candidates = candidate_dirs(explicit);
        let runtime_file = &Manifest::builtin().runtime.file;
        candidates
            .iter()
            .find(|d| d.join(runtime_file).exists())
            .map(|dir| Models {
                dir: dir.clone(),
                intra_threads: default_threads(),
            })
            .ok_or(ModelError::NoModelsDir(candidates))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a model by id, after checking it against the manifest.
    pub fn verified_path(&self, id: &str) -> Result<PathBuf, ModelError> {
        let entry = Manifest::builtin()
            .model(id)
            .ok_or_else(|| ModelError::Unknown(id.to_owned()))?;
        self.verify(entry)
    }

    fn verify(&self, entry: &Entry) -> Result<PathBuf, ModelError> {
        let path = self.dir.join(&entry.file);
        verify_file(&path, &entry.sha256)?;
        Ok(path)
    }

    /// Every manifest entry with its checksum verdict.
    pub fn status(&self) -> Vec<FileStatus> {
        let manifest = Manifest::builtin();
        std::iter::once(&manifest.runtime)
            .chain(&manifest.model)
            .map(|entry| {
                let checked = self.verify(entry);
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
                    file: self.dir.join(&entry.file),
                    licence: entry.licence.clone(),
                    source: format!("PyPI {}=={}", entry.package, entry.version),
                    ok: checked.is_ok(),
                    problem: checked.err().map(|e| e.to_string()),
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
        let path = self.verify(&Manifest::builtin().runtime)?;
        let runtime_err = |reason: String| ModelError::Runtime {
            path: path.clone(),
            reason,
        };
        let env = ort::init_from(&path)
            .map_err(|e| runtime_err(e.to_string()))?
            .with_name("facegate")
            .build()
            .map_err(|e| runtime_err(e.to_string()))?;
        Ok(ENV.get_or_init(|| env))
    }

    /// Builds an ORT session for a model id. Callers keep the session for the life of their
    /// stage; building one costs tens of milliseconds and must never happen per frame.
    pub fn session(&self, id: &str) -> Result<Session, ModelError> {
        let env = self.environment()?;
        let path = self.verified_path(id)?;
        let session_err = |source: ort::Error| ModelError::Session {
            path: path.clone(),
            source,
        };
        Session::builder(env)
            .map_err(session_err)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            .with_intra_threads(self.intra_threads)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            // Each session has its own thread pool, and by default its threads busy-wait after a
            // run. FaceGate runs several sessions back to back (detect, embed, attributes) on a
            // 2-core machine, so the waiting threads of one took the cores from the next: detect
            // then embed measured 79.8 ms with spinning and 32.8 ms without (15 % slower alone).
            .with_intra_op_spinning(false)
            .map_err(|e| session_err(ort::Error::new(e.to_string())))?
            .commit_from_file(&path)
            .map_err(session_err)
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Checks a file's sha256 against `expected`, once per process per path.
fn verify_file(path: &Path, expected: &str) -> Result<(), ModelError> {
    static VERIFIED: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    if let Some(known) = VERIFIED.lock().unwrap().get_or_insert_default().get(path) {
        return check_digest(path, expected, known);
    }
    if !path.exists() {
        return Err(ModelError::Missing(path.to_owned()));
    }
    let mut file = std::fs::File::open(path).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    let digest = hex::encode(hasher.finalize());
    let result = check_digest(path, expected, &digest);
    VERIFIED
        .lock()
        .unwrap()
        .get_or_insert_default()
        .insert(path.to_owned(), digest);
    result
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
