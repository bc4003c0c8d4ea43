//! What the GUI and the worker say to each other.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use uuid::Uuid;

use crate::auth::attempt::Prompt;
use crate::auth::calibrate::PersonScores;
use crate::auth::calibrate::ScoreSets;
use crate::auth::{Identification, Verification};
use crate::engine::scores::Calibrated;

/// Why a calibration was not made, and what would lift it.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRefused {
    pub why: String,
    /// The negatives that show someone enrolled, when they refused it: the refusal stands until
    /// they are all gone (any other refusal stands until the next calibration).
    pub negatives: Vec<uuid::Uuid>,
}
use crate::store::{Gallery, ImageKind, Settings, WipeReport};
use crate::train::{EpochReport, TrainReport};
use crate::vision::Face;
use crate::vision::attributes::Attributes;

/// What the worker does with each frame beyond detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Detect only (the user is enrolling or just looking).
    Detect,
    /// Verify the selected person on every frame.
    Continuous,
    /// Face login: identify whoever is in front, then one attempt for them.
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
    /// Another source, numbered so, is on screen (or none is): a Verify or an unlock attempt
    /// under way ends (its frames would mix two recordings or cameras), and only that source's
    /// frames are judged from now on. Sent by [`super::Session`] itself as it swaps sources.
    SourceChanged(u64),
    /// The side Unlock's head turn asks for, fixed for a recording (`--turn` with `--replay`):
    /// a recording turns one way, and asked a random side it was refused half the time, and
    /// locked out (journey s36 #1). A camera is always asked a random side: the worker drops it
    /// when the source changes.
    TurnFor(Option<crate::liveness::challenge::Direction>),
    /// One live attempt (K of N frames within the time-out) for the selected person.
    Verify,
    /// Who is this? (one frame)
    Identify,
    /// Save `asked`: what the user changed from `shown` (the settings the window showed; filled
    /// in by the window as it sends the command) is applied over the file as it is then.
    UpdateSettings {
        shown: Option<Box<Settings>>,
        asked: Settings,
    },
    /// Age, gender and emotion overlays on or off.
    SetAttributes(bool),
    /// Two photos under the compare rule: the saved detection threshold, or this person's
    /// trained head when one is in use for them (as `facegate compare --person`).
    Compare(PathBuf, PathBuf, Option<String>),
    /// Train the selected person's siamese head on their anchors, positives and the negatives.
    Train,
    /// Import photos (files or folders) as this kind of image for the selected person, each
    /// through the capture quality gate; progress and every refusal come back as
    /// [`Event::Import`].
    ImportFiles {
        kind: ImageKind,
        paths: Vec<PathBuf>,
    },
    /// Import other people's faces from a folder (recursively) as negatives.
    ImportNegatives(PathBuf),
    /// Delete these negatives, those of them that still show someone enrolled
    /// ([`Event::NegativesShowing`]).
    RemoveNegatives(Vec<uuid::Uuid>),
    /// Remove a person and every trace of them (the wipe).
    RemovePerson(String),
    RenamePerson {
        from: String,
        to: String,
    },
    /// The lowest detection threshold meeting this false-accept rate on the store's own faces
    /// (everyone enrolled); reported, not saved (the window saves it when the user says so).
    Calibrate {
        far: f64,
    },
    /// Send the selected person's scores (and their head's, when it decides) again: after a
    /// training run changed which rule is in force.
    RefreshScores,
    /// Enrol `account` (the window's) for system face unlock from `person`'s verification
    /// images (through pkexec; without it, say the command to run): both as confirmed, not
    /// whoever is selected when the worker gets to it.
    EnableFaceUnlock {
        person: String,
        account: String,
    },
    Shutdown,
}

impl Command {
    /// [`Command::UpdateSettings`] to `asked`, from whatever the window shows.
    pub fn update_settings(asked: Settings) -> Command {
        Command::UpdateSettings { shown: None, asked }
    }
}

/// Milliseconds spent per stage on the last analysed frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub detect_ms: f32,
    /// Age + gender + emotion for the faces refreshed on this frame (0 when none was due).
    pub attributes_ms: f32,
    pub embed_ms: f32,
    /// Scoring and deciding, embedding aside (0 on a frame that verified nothing: the Detect
    /// view, Verify not running).
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
    /// The analysed frame's width and height: the faces' coordinates are in its pixels.
    pub frame_size: [usize; 2],
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
    /// No attempt yet: why not (no face, two people, not recognised yet).
    Searching {
        reason: String,
    },
    /// An attempt is running; `prompt` is what to tell the person. Whom it is for is not said
    /// before the welcome (a search that names a face tells a stranger whom they resemble).
    Attempt {
        prompt: Prompt,
        /// Share of the asked head turn made so far (0..1).
        turn: f32,
        /// The attempt asks for a head turn (draw its bar).
        challenge: bool,
    },
    Welcome {
        name: String,
        /// The passive liveness score when liveness was checked.
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
    /// Cosine similarity, whatever the rule.
    pub similarity: f32,
    /// The rule's score (the cosine, or the head's probability) and its threshold.
    pub score: f32,
    pub threshold: f32,
    pub same: bool,
    /// The rule in words, as `facegate compare` prints it.
    pub rule: String,
}

/// An import of photos into a gallery, as it goes.
#[derive(Debug, Clone)]
pub struct ImportProgress {
    pub gallery: Gallery,
    pub total: usize,
    pub done: usize,
    pub saved: usize,
    /// Already stored (the same pixels).
    pub skipped: usize,
    /// Each refused file: its name and why (the quality gate's reason, or why it would not
    /// load).
    pub refused: Vec<(String, String)>,
    /// Once finished: what may be wrong with the photos saved (someone else's face among a
    /// person's; [`crate::engine::Engine::after_saving`]).
    pub warning: Option<String>,
}

impl ImportProgress {
    pub fn finished(&self) -> bool {
        self.done >= self.total
    }
}

/// The rule in force for a person whose trained head decides: its threshold and its scores.
#[derive(Debug, Clone)]
pub struct HeadRule {
    pub person: String,
    /// The head's probability above which a comparison matches.
    pub threshold: f32,
    pub scores: ScoreSets,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The worker is ready (models loaded), with the store's people and settings.
    Ready {
        people: Vec<String>,
        settings: Settings,
    },
    /// The people after `added` was added in the window, who is selected (not whoever else
    /// the list gained meanwhile from elsewhere).
    People {
        added: String,
        people: Vec<String>,
    },
    /// The people after a change made elsewhere (the CLI): the selection stays, unless its
    /// person is gone.
    PeopleElsewhere(Vec<String>),
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
        /// This frame's comparisons, or the attempt's last frame's: as scored, never edited.
        verification: Verification,
        /// The end of a Verify attempt (K of N frames; it asks no head turn: that is Unlock's),
        /// whose outcome is `accepted`; otherwise one continuous-mode frame, which decides
        /// nothing.
        attempt: Option<AttemptVerdict>,
    },
    Identified(Identification),
    Unlock(UnlockStatus),
    Compared(Result<CompareResult, String>),
    Import(ImportProgress),
    /// A person was removed (wiped): what went, and who is left.
    Removed {
        name: String,
        report: WipeReport,
        people: Vec<String>,
    },
    Renamed {
        from: String,
        to: String,
        people: Vec<String>,
    },
    Calibrated(Result<Calibrated, CalibrationRefused>),
    /// The negatives that show someone enrolled, with whom
    /// ([`crate::engine::Engine::negatives_showing`]): after an import, a calibration, a
    /// person removed or renamed, and negatives removed.
    NegativesShowing(Vec<(uuid::Uuid, String)>),
    /// How many negatives are stored: when the window opens, and after an import into them or
    /// a removal of some (People & settings said nothing of them once an import's result was
    /// gone).
    NegativesStored(usize),
    /// Whether a trained head decides for this person (None: cosine at the detection threshold
    /// does), with the head's threshold and scores.
    HeadRule {
        person: String,
        head: Option<HeadRule>,
    },
    /// The settings in force after an update, when they are not what the window sent: the save
    /// failed (a full disk), or values set elsewhere meanwhile were kept. The window shows
    /// these. (Only then: while a slider is dragged, an answer to every step would pull it back
    /// to an older value.)
    SettingsInForce(Settings),
    Error(String),
    /// Why an Identify, or a continuous-mode frame, got no answer (a gallery refused as two
    /// people, damaged settings): an error that the next question replaces. A Verify's end is
    /// [`Event::VerifyEnded`].
    Unanswered(String),
    /// The Verify attempt ended with no verdict to show (it could not start, a frame failed,
    /// it was stopped, it saw no face to compare): why, said as [`Event::Unanswered`]. With a
    /// [`Event::Verdict`] of an attempt, the only answers that end the window's wait: any other
    /// error (an overlay's, an import's, a detection's while no attempt runs) leaves it alone.
    VerifyEnded(String),
    /// News for the user that is not a problem.
    Info(String),
    SourceError(String),
    SourceRecovered,
    /// Something the user should know that stops nothing (a saved photo that looks like
    /// someone else): said as an error is, without ending a Verify.
    Warning(String),
    /// A warning about one of the selected person's images (it matches none of their others):
    /// it goes when that image does.
    ImageWarning {
        id: Uuid,
        text: String,
    },
    /// The worker could not start its models: it answers nothing but this, said once.
    AnalysisOff(String),
}

/// How a Verify attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptVerdict {
    pub accepted: bool,
    /// Why it was refused, in the attempt's words ("not recognised", "no face in view", ...).
    pub refusal: Option<String>,
}
