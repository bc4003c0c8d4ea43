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
//! detection_threshold = 0.5             # face unlock uses at least 0.44 (SFace)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use facegate_proto::trust::{TrustError, read_root_owned};
use serde::Deserialize;

use crate::liveness::Direction;
use crate::store::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // As the trust check words it, the reason after the path with its verb.
    #[error("{} {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    // The cause is the error's source, which the command line prints after it.
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
    /// The file, or a folder above it, is not there: "cannot read /etc/facegate" named a folder
    /// and said nothing of what to do (journey s34).
    #[error(
        "no system config at {}{}",
        crate::shown::Shown(path),
        missing_hint(path)
    )]
    Missing { path: PathBuf },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What to do about a config that is not there: the package's for the default path; for one
/// given with `--config`, that it was (it told a user who had just typed `--config` to do so;
/// journey s36 #8).
fn missing_hint(path: &Path) -> &'static str {
    match path == Path::new(facegate_proto::DEFAULT_CONFIG) {
        true => " (the facegate package installs it; --config FILE names another)",
        false => " (the file given with --config; is its name right?)",
    }
}

/// Where the root-owned store lives unless the config says otherwise.
pub const DEFAULT_STORE: &str = "/var/lib/facegate";

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
    /// Thresholds and the K-of-N rule, every value in range (or the config is refused);
    /// liveness is always on for this path.
    pub verify: Settings,
    /// The values `[verify]` gives that face unlock raises to its least, as "detection_threshold
    /// 0.3 → 0.44": said where the rule is, since they do nothing (journey s35 #7).
    pub raised: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    store: Option<PathBuf>,
    socket: Option<PathBuf>,
    camera: Option<u32>,
    replay: Option<PathBuf>,
    turn: Option<Direction>,
    timeout_s: Option<f64>,
    verify: Option<toml::Table>,
}

/// The `facegate unlock` commands that messages suggest, written to reach one config: with its
/// `--config` unless it is the default one (followed as printed, they read /etc/facegate
/// instead; journey s32 #6). The one way every hint is written, in the daemon's log and the
/// `unlock` commands alike.
#[derive(Debug, Clone)]
pub struct Commands {
    config: Option<String>,
}

impl Commands {
    pub fn for_config(path: &Path) -> Commands {
        let default = path == Path::new(facegate_proto::DEFAULT_CONFIG);
        Commands {
            config: (!default).then(|| crate::hint::option("--config", path, "FILE")),
        }
    }

    /// `` `sudo facegate unlock ARGS [--config FILE]` ``, each word quoted for the shell.
    pub fn unlock(&self, args: &[&str]) -> String {
        self.facegate("unlock", args)
    }

    /// `` `sudo facegate daemon [--config FILE]` ``: the daemon started by hand.
    pub fn daemon(&self) -> String {
        self.facegate("daemon", &[])
    }

    fn facegate(&self, command: &str, args: &[&str]) -> String {
        let mut line = format!("`sudo facegate {command}");
        for arg in args {
            line.push(' ');
            line.push_str(&crate::store::names::shell_arg(arg));
        }
        if let Some(config) = &self.config {
            line.push_str(config);
        }
        line.push('`');
        line
    }

    /// The one remedy for an enrolment that must not be added to or used again: removed, and
    /// made again from photos.
    pub fn re_enrol(&self, user: &str) -> String {
        format!(
            "{}, then enrol {user} again",
            self.unlock(&["remove", user])
        )
    }
}

impl SystemConfig {
    /// The commands this config's messages suggest ([`Commands`]).
    pub fn commands(&self) -> Commands {
        Commands::for_config(&self.path)
    }

    /// The root-owned store this config names, with every folder above it checked first: the
    /// one way the daemon and the `unlock` commands open it.
    pub fn open_store(&self) -> Result<crate::store::Store, ConfigError> {
        check_parents(&self.store)?;
        Ok(crate::store::Store::open_owned(
            &self.store,
            crate::store::Owner::Root,
        )?)
    }

    pub fn load(path: &Path) -> Result<SystemConfig, ConfigError> {
        let text =
            read_root_owned(path, facegate_proto::MAX_CONFIG_BYTES).map_err(|e| match e {
                TrustError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    ConfigError::Missing {
                        path: path.to_owned(),
                    }
                }
                e => e.into(),
            })?;
        SystemConfig::parse(&text, path)
    }

    /// The config in `text`, read from `path` (named in errors).
    fn parse(text: &str, path: &Path) -> Result<SystemConfig, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            path: path.to_owned(),
            why,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = facegate_proto::at_line(text, e.span().map(|s| s.start));
            invalid(format!("not a valid config{at} ({})", e.message()))
        })?;
        let timeout = facegate_proto::system_timeout(raw.timeout_s).map_err(invalid)?;
        let socket = facegate_proto::system_socket(raw.socket).map_err(invalid)?;
        // Only the desk's settings that the system path reads may be written under [verify];
        // any other would be ignored without a word (the camera is `camera` above, at its
        // default mode; the attempt's limit is `timeout_s`, which the PAM module also reads;
        // liveness is always on; the overlays' networks are not run), so it is refused.
        // The desk's keys, to tell one this path ignores from one nobody knows (named by the
        // settings parser below); should they ever not be listed, every key outside
        // VERIFY_KEYS is refused: it fails closed.
        let desk = match toml::Value::try_from(Settings::default()) {
            Ok(toml::Value::Table(t)) => Some(t),
            _ => None,
        };
        for key in raw.verify.iter().flat_map(|t| t.keys()) {
            let desk_key = desk.as_ref().is_none_or(|t| t.contains_key(key));
            if VERIFY_KEYS.contains(&key.as_str()) || !desk_key {
                continue;
            }
            let why = match key.as_str() {
                "live_timeout_s" => "the attempt's limit is `timeout_s`, above [verify]",
                "liveness" => "liveness is always on for face unlock",
                k if k.starts_with("camera") => "the camera is `camera`, above [verify]",
                _ => "face unlock does not read it",
            };
            return Err(invalid(format!(
                "[verify]: `{key}` does not apply here: {why}"
            )));
        }
        let (mut verify, problems) = match &raw.verify {
            Some(table) => Settings::parse(&table.to_string(), path),
            None => (Settings::default(), Vec::new()),
        };
        // The desk app replaces a bad setting by its default and says so; here a value root
        // wrote that cannot be honoured (a stricter rule mistyped, an unknown key) stops the
        // daemon instead, so nobody is unlocked by a rule other than the one written.
        if !problems.is_empty() {
            let each: Vec<String> = problems
                .iter()
                .map(|p| match &p.key {
                    Some(key) => format!("`{key}` {}", p.why),
                    None => p.why.clone(),
                })
                .collect();
            return Err(invalid(format!(
                "[verify]: {}; the daemon and the `unlock` commands refuse this config until it \
                 is mended",
                each.join("; ")
            )));
        }
        verify.liveness = true;
        for p in [&raw.store, &raw.replay].into_iter().flatten() {
            if !p.is_absolute() {
                return Err(invalid(format!("{} must be an absolute path", p.display())));
            }
        }
        if raw.turn.is_some() && raw.replay.is_none() {
            return Err(invalid("`turn` applies to a `replay` only".into()));
        }
        let turn = raw.turn;
        let given = |key: &&str| raw.verify.as_ref().is_some_and(|t| t.contains_key(*key));
        let raised = verify
            .attempt_rule()
            .raised_to(&verify.unlock_rule())
            .into_iter()
            .filter(|r| r.keys.iter().any(given))
            .map(|r| r.text)
            .collect();
        Ok(SystemConfig {
            path: path.to_owned(),
            store: raw.store.unwrap_or_else(|| PathBuf::from(DEFAULT_STORE)),
            socket,
            camera: raw.camera.unwrap_or(0),
            replay: raw.replay,
            turn,
            timeout,
            verify,
            raised,
        })
    }
}

/// The desk settings the system path reads from `[verify]`: the model, its preprocessing and
/// thresholds, K of N, and whether failed frames are kept.
const VERIFY_KEYS: [&str; 7] = [
    "model",
    "preprocess",
    "detection_threshold",
    "verification_threshold",
    "live_k",
    "live_n",
    "save_failed_frames",
];

/// Every folder above `path` belongs to root and is not writable by others (unless sticky): the
/// same rule the PAM module applies, from one place (`facegate_proto::trust`).
pub fn check_parents(path: &Path) -> Result<(), ConfigError> {
    facegate_proto::trust::check_parents(path).map_err(ConfigError::from)
}

/// The config's `replay` (a video, or a folder of frames) stands in for the camera for every
/// account, so it is held to the config's own rule: it, every folder above it and, for a
/// folder, every frame in it belong to root and are not writable by others, and none is a link.
/// Checked at start and by the daemon before each attempt: a folder above it may be sticky
/// (/tmp), where another user can put a file of theirs at the name once root's is gone.
pub fn check_replay(path: &Path) -> Result<(), ConfigError> {
    if check_replay_place(path)? {
        let entries = std::fs::read_dir(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ConfigError::Io {
                path: path.to_owned(),
                source,
            })?;
            replay_part_is_roots(&entry.path(), false)?;
        }
    }
    Ok(())
}

/// [`check_replay`] but for the frames of a folder: the replay and every folder above it.
/// Enough once the frames were checked: nobody but root can change what is in a folder of
/// root's alone, so what remains to watch while it plays is the name itself (the daemon's
/// check before each frame; listing every frame each time was work for nothing). Whether it is
/// a folder.
pub fn check_replay_place(path: &Path) -> Result<bool, ConfigError> {
    check_parents(path)?;
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    replay_part_is_roots(path, is_dir)?;
    Ok(is_dir)
}

/// `p`, a replay (a `folder` of frames or a file) or one of its frames: itself root's, written
/// by root alone, and no link.
fn replay_part_is_roots(p: &Path, folder: bool) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(p).map_err(|source| ConfigError::Io {
        path: p.to_owned(),
        source,
    })?;
    let kind_ok = match folder {
        true => meta.is_dir(),
        false => meta.file_type().is_file(),
    };
    if !kind_ok {
        return Err(ConfigError::Unsafe {
            path: p.to_owned(),
            why: "is a link or not a plain file or folder; a replay must be root's own".into(),
        });
    }
    facegate_proto::trust::check_owner(p, meta.uid(), meta.mode(), false).map_err(ConfigError::from)
}

impl From<TrustError> for ConfigError {
    fn from(e: TrustError) -> ConfigError {
        match e {
            TrustError::Unsafe { path, why } => ConfigError::Unsafe { path, why },
            TrustError::Io { path, source } => ConfigError::Io { path, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Suggested commands reach the config in use: the default one needs no `--config`, and
    /// every word is quoted for the shell.
    #[test]
    fn suggested_commands_name_the_config_in_use() {
        let default = Commands::for_config(Path::new(facegate_proto::DEFAULT_CONFIG));
        assert_eq!(
            default.unlock(&["remove", "alice"]),
            "`sudo facegate unlock remove alice`"
        );
        let other = Commands::for_config(Path::new("/srv/face gate/config.toml"));
        assert_eq!(
            other.unlock(&["enrol", "O'Brien", "PHOTOS"]),
            "`sudo facegate unlock enrol \"O'Brien\" PHOTOS --config '/srv/face gate/config.toml'`"
        );
        // Written back as the desk's hints write a typed --data-dir (review s36 #10): a
        // relative path starting with '-' would be read as an option after a space.
        let dashed = Commands::for_config(Path::new("-cfg.toml"));
        assert_eq!(dashed.daemon(), "`sudo facegate daemon --config=-cfg.toml`");
    }

    fn parse(text: &str) -> Result<SystemConfig, ConfigError> {
        SystemConfig::parse(text, Path::new("/etc/facegate/config.toml"))
    }

    #[test]
    fn a_valid_verify_table_is_taken_with_liveness_on() {
        let c = parse("timeout_s = 5\n[verify]\nlive_k = 4\nlive_n = 6\n").unwrap();
        assert_eq!((c.verify.live_k, c.verify.live_n), (4, 6));
        assert!(c.verify.liveness);
        assert_eq!(c.timeout, Duration::from_secs(5));
    }

    /// A `[verify]` value face unlock raises to its least is named, with what it becomes; the
    /// desk's defaults, not written in the config, are not.
    #[test]
    fn values_face_unlock_raises_are_named() {
        assert!(parse("").unwrap().raised.is_empty(), "the defaults");
        let c = parse("[verify]\ndetection_threshold = 0.3\nlive_k = 1\nlive_n = 30\n").unwrap();
        println!("{:?}", c.raised);
        assert_eq!(
            c.raised,
            [
                "detection_threshold 0.3 → 0.44",
                "live_k/live_n 1 of 30 → 18 of 30"
            ]
        );
        let strict = parse("[verify]\ndetection_threshold = 0.5\nlive_k = 4\nlive_n = 5\n");
        assert!(strict.unwrap().raised.is_empty());
    }

    /// Every desk setting is either read by the system path or refused by name: a setting
    /// added to the desk app later cannot slip into `[verify]` unread.
    #[test]
    fn every_desk_setting_is_read_or_refused() {
        let Ok(toml::Value::Table(desk)) = toml::Value::try_from(Settings::default()) else {
            panic!("the settings serialise to a table");
        };
        for (key, value) in &desk {
            let mut verify = toml::Table::new();
            verify.insert(key.clone(), value.clone());
            let text = format!("[verify]\n{verify}");
            let parsed = parse(&text);
            println!(
                "{key}: {:?}",
                parsed.as_ref().err().map(ToString::to_string)
            );
            match VERIFY_KEYS.contains(&key.as_str()) {
                true => assert!(parsed.is_ok(), "{key} is read"),
                false => assert!(
                    parsed.is_err_and(|e| e.to_string().contains(&format!("`{key}`"))),
                    "{key} is refused by name"
                ),
            }
        }
        assert_eq!(
            VERIFY_KEYS
                .iter()
                .filter(|k| desk.contains_key(**k))
                .count(),
            VERIFY_KEYS.len(),
            "every key read is a desk setting"
        );
    }

    #[test]
    fn a_verify_value_that_cannot_be_honoured_refuses_the_config() {
        for (verify, key) in [
            ("live_k = 0", "live_k"),
            ("live_n = 40", "live_n"),
            ("verification_threshold = \"0.9\"", "verification_threshold"),
            ("detection_threshold = 0.01", "detection_threshold"),
            ("live_kk = 3", "live_kk"),
            // The system path's own: once overridden without a word.
            ("live_timeout_s = 30", "live_timeout_s"),
            ("liveness = false", "liveness"),
            // Read by the desk app only: ignored here without a word before.
            ("camera = 2", "camera"),
            ("camera_width = 1280", "camera_width"),
            ("emotion_net = \"mini-xception\"", "emotion_net"),
        ] {
            let err = parse(&format!("[verify]\n{verify}\n"))
                .unwrap_err()
                .to_string();
            println!("{verify}: {err}");
            assert!(err.contains(&format!("`{key}`")), "{verify}: {err}");
            assert!(!err.contains("default"), "no fallback on this path: {err}");
        }
    }
}
