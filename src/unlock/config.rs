//! The system unlock config, `/etc/facegate/config.toml`: root-owned, read only after checking
//! the opened file and every folder above it. Whoever can write any of them decides who gets in,
//! so anything wrong refuses the whole config (PAM then falls through to the password).
//!
//! ```toml
//! store = "/var/lib/facegate"           # root-owned, 0700
//! socket = "/run/facegate/facegate.sock"
//! camera = 0                            # or: replay = "/path/clip.mp4" (tests, demos)
//! # turn = "right"                      # with replay: the head turn its person makes
//! timeout_s = 8                         # one attempt, at most 10 s
//! [verify]                              # as the desk app's settings.toml, range-checked
//! detection_threshold = 0.363
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use facegate_proto::trust::{TrustError, read_root_owned};
use serde::Deserialize;

use crate::liveness::Direction;
use crate::store::Settings;

/// Longest attempt the system path allows: a login prompt should not wait longer.
pub use facegate_proto::MAX_TIMEOUT_S;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
}

#[derive(Debug, Clone)]
pub struct SystemConfig {
    pub path: PathBuf,
    pub store: PathBuf,
    pub socket: PathBuf,
    pub camera: u32,
    /// A recording to read instead of the camera (tests and demos).
    pub replay: Option<PathBuf>,
    /// With `replay`: the head turn to ask for (the one the recorded person makes). A camera is
    /// always asked a random side.
    pub turn: Option<Direction>,
    pub timeout: Duration,
    /// Thresholds and the K-of-N rule; liveness is always on for this path.
    pub verify: Settings,
    /// Values of `[verify]` that were out of range and replaced by their safe defaults.
    pub problems: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    store: Option<PathBuf>,
    socket: Option<PathBuf>,
    camera: Option<u32>,
    replay: Option<PathBuf>,
    turn: Option<String>,
    timeout_s: Option<f64>,
    verify: Option<toml::Table>,
}

impl SystemConfig {
    pub fn load(path: &Path) -> Result<SystemConfig, ConfigError> {
        let text = read_root_owned(path, facegate_proto::MAX_CONFIG_BYTES)?;
        let invalid = |why: String| ConfigError::Invalid {
            path: path.to_owned(),
            why,
        };
        let raw: Raw = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            invalid(format!(
                "not a valid config{} ({})",
                line.map_or(String::new(), |l| format!(" at line {l}")),
                e.message()
            ))
        })?;
        let timeout_s = raw.timeout_s.unwrap_or(facegate_proto::DEFAULT_TIMEOUT_S);
        let min = crate::auth::attempt::MIN_TIMEOUT_S;
        if !(timeout_s >= min && timeout_s <= MAX_TIMEOUT_S) {
            return Err(invalid(format!(
                "timeout_s = {timeout_s} is outside [{min}, {MAX_TIMEOUT_S}]"
            )));
        }
        let (mut verify, problems) = match &raw.verify {
            Some(table) => Settings::parse(&table.to_string(), path),
            None => (Settings::default(), Vec::new()),
        };
        verify.liveness = true;
        verify.live_timeout_s = timeout_s as f32;
        for p in [&raw.store, &raw.socket, &raw.replay].into_iter().flatten() {
            if !p.is_absolute() {
                return Err(invalid(format!("{} must be an absolute path", p.display())));
            }
        }
        let turn = match raw.turn.as_deref() {
            None => None,
            Some(_) if raw.replay.is_none() => {
                return Err(invalid("`turn` applies to a `replay` only".into()));
            }
            Some("left") => Some(Direction::Left),
            Some("right") => Some(Direction::Right),
            Some(other) => {
                return Err(invalid(format!(
                    "turn = {other:?}: use \"left\" or \"right\""
                )));
            }
        };
        Ok(SystemConfig {
            path: path.to_owned(),
            store: raw
                .store
                .unwrap_or_else(|| PathBuf::from("/var/lib/facegate")),
            socket: raw
                .socket
                .unwrap_or_else(|| PathBuf::from(facegate_proto::DEFAULT_SOCKET)),
            camera: raw.camera.unwrap_or(0),
            replay: raw.replay,
            turn,
            timeout: Duration::from_secs_f64(timeout_s),
            verify,
            problems: problems.iter().map(ToString::to_string).collect(),
        })
    }
}

/// Every folder above `path` belongs to root and is not writable by others (unless sticky): the
/// same rule the PAM module applies, from one place (`facegate_proto::trust`).
pub fn check_parents(path: &Path) -> Result<(), ConfigError> {
    facegate_proto::trust::check_parents(path).map_err(ConfigError::from)
}

impl From<TrustError> for ConfigError {
    fn from(e: TrustError) -> ConfigError {
        match e {
            TrustError::Unsafe { path, why } => ConfigError::Unsafe { path, why },
            TrustError::Io { path, source } => ConfigError::Io { path, source },
        }
    }
}
