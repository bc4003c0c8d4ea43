//! What the GUI and the worker say to each other.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use uuid::Uuid;

use crate::store::{ImageKind, Settings};
use crate::train::{EpochReport, TrainReport};
use crate::verify::calibrate::PersonScores;
use crate::verify::{Identification, Verification};
use crate::vision::Face;
use crate::vision::attributes::Attributes;

/// What the worker does with each frame beyond detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Detect only (the user is enrolling or just looking).
    Detect,
    /// Verify the selected person on every frame.
    Continuous,
    /// Face login: identify whoever is in front and apply the live K-of-N rule.
    Unlock,
}

#[derive(Debug, Clone)]
pub enum Command {
    SelectPerson(Option<String>),
    AddPerson(String),
    /// Store the current face as this kind of image for the selected person.
    Capture(ImageKind),
    DeleteImage {
        kind: ImageKind,
        id: Uuid,
    },
    SetMode(Mode),
    /// One live attempt (K of N frames within the time-out) for the selected person.
    Verify,
    /// Who is this? (one frame)
    Identify,
    UpdateSettings(Settings),
    /// Age, gender and emotion overlays on or off.
    SetAttributes(bool),
    Compare(PathBuf, PathBuf),
    /// Train the selected person's siamese head on their anchors, positives and the negatives.
    Train,
    Shutdown,
}

/// Milliseconds spent per stage on the last analysed frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub detect_ms: f32,
    /// Age + gender + emotion for the faces refreshed on this frame (0 when none was due).
    pub attributes_ms: f32,
    pub embed_ms: f32,
    pub verify_ms: f32,
}

/// What to draw over one face.
#[derive(Debug, Clone)]
pub struct FaceLabel {
    pub face: Face,
    /// e.g. "Katie 0.82"; None: no text.
    pub text: Option<String>,
    /// true: verified (green), false: rejected (red), None: not judged (yellow).
    pub verified: Option<bool>,
    /// Smoothed age, gender and emotion, when attributes are on and the face is large enough.
    pub attributes: Option<Attributes>,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub frame_index: u64,
    pub captured_at: Instant,
    pub faces: Vec<FaceLabel>,
    pub timings: Timings,
    /// Capture-to-result latency of this frame.
    pub latency_ms: f32,
}

#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub id: Uuid,
    pub image: RgbImage,
}

#[derive(Debug, Clone)]
pub enum UnlockStatus {
    Searching {
        reason: String,
    },
    Progress {
        name: String,
        verified: usize,
        needed: usize,
    },
    /// Verified; the liveness check (a head turn) is running.
    Liveness {
        name: String,
        prompt: String,
        /// Share of the asked turn made so far (0..1).
        progress: f32,
        /// Passive liveness score over the last frames, once there are enough (0..1).
        score: Option<f32>,
    },
    Welcome {
        name: String,
        /// The passive liveness score when the liveness check ran.
        liveness: Option<f32>,
    },
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct CompareResult {
    pub a: RgbImage,
    pub b: RgbImage,
    pub similarity: f32,
    pub threshold: f32,
    pub same: bool,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The worker is ready (models loaded), with the store's people and settings.
    Ready {
        people: Vec<String>,
        settings: Settings,
    },
    People(Vec<String>),
    Gallery {
        person: String,
        kind: ImageKind,
        thumbnails: Vec<Thumbnail>,
    },
    Analysis(Analysis),
    /// One epoch of a training run (epoch 0 is the untrained head): for the live loss curve.
    TrainProgress(EpochReport),
    /// A training run ended: its held-out figures beside cosine, or why it could not run.
    Trained(Result<Box<TrainReport>, String>),
    /// The selected person's genuine and impostor scores and consistency, refreshed whenever
    /// their images or the model change (the GUI reads FAR and FRR off them at the slider).
    PersonScores(PersonScores),
    Captured {
        kind: ImageKind,
        id: Uuid,
    },
    CaptureRefused(String),
    /// A verification (one frame in continuous mode, or the end of a Verify attempt).
    Verdict {
        person: String,
        verification: Verification,
        attempt_done: bool,
    },
    Identified(Identification),
    Unlock(UnlockStatus),
    Compared(Result<CompareResult, String>),
    SettingsSaved(Settings),
    Error(String),
    SourceError(String),
    SourceRecovered,
}
