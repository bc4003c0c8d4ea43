//! User settings, kept as human-readable TOML in the data dir.

use serde::{Deserialize, Serialize};

use crate::vision::{EmbedderKind, Preprocess};

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
    /// Unlock asks for a head turn (and checks for natural face motion) after verifying, so a
    /// photo held up to the camera does not unlock. Files without it get the default, on.
    pub liveness: bool,
    /// Keep the camera frame of each failed attempt beside its audit-log line, to see who tried.
    /// Off by default: it stores pictures of whoever sat down, which the user must choose to do.
    pub save_failed_frames: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::for_model(EmbedderKind::Sface)
    }
}

impl Settings {
    pub fn for_model(model: EmbedderKind) -> Settings {
        Settings {
            model,
            preprocess: Preprocess::None,
            detection_threshold: model.default_threshold(),
            verification_threshold: crate::auth::DEFAULT_VERIFICATION_THRESHOLD,
            live_k: 3,
            live_n: 5,
            live_timeout_s: 10.0,
            camera: 0,
            liveness: true,
            save_failed_frames: false,
        }
    }

    /// K of N frames within the time-out, for an attempt. The settings file is the user's to
    /// edit, so nothing it says can make an attempt pass on no frame or never end: K is at
    /// least 1 and at most N, N at most 30, the time-out within (0, 60] s.
    pub fn attempt_rule(&self) -> crate::auth::attempt::AttemptRule {
        let n = self.live_n.clamp(1, 30);
        let timeout = crate::auth::attempt::timeout_from_secs(f64::from(self.live_timeout_s))
            .unwrap_or(std::time::Duration::from_secs(10));
        crate::auth::attempt::AttemptRule {
            k: self.live_k.clamp(1, n),
            n,
            timeout,
        }
    }

    pub fn thresholds(&self) -> crate::auth::Thresholds {
        crate::auth::Thresholds {
            detection: self.detection_threshold,
            verification: self.verification_threshold,
        }
    }
}
