//! What an attempt says: prompts while it runs, and how it ended. Values, not text, so each
//! caller renders them its own way (the window draws them, the CLI prints them, PAM sends them
//! through its conversation).

use serde::Serialize;

use crate::auth::Verification;
use crate::liveness::{Direction, LivenessScore};

/// What to tell the person while the attempt runs. The GUI draws it, the CLI prints it, PAM sends
/// it through its conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Prompt {
    LookAtCamera,
    OnePersonOnly {
        faces: usize,
    },
    /// Matching: `verified` of the `needed` frames so far; `similarity` of the last frame.
    Matching {
        verified: usize,
        needed: usize,
        similarity: f32,
        matched: bool,
    },
    HoldStill,
    Turn {
        direction: Direction,
        progress: f32,
    },
    /// The turn is seen; waiting for the passive score.
    HoldOn,
    /// The face is too dark to judge: the frame does not vote.
    TooDark,
}

impl Prompt {
    /// The sentence for someone at a login prompt, who may not be the person they claim: the
    /// same as [`text`](Self::text) without anything said about single frames. Neither the
    /// similarity nor whether this frame matched: either would let them tune a photo, a pose or
    /// a mask against the enrolled faces frame by frame ("Recognising… 1 of 3" against "Not
    /// recognised yet" did). What they learn is what they must: once K of N frames matched, the
    /// attempt moves on to the turn. The daemon sends this one.
    pub fn public_text(&self) -> String {
        match self {
            Prompt::Matching { .. } => Prompt::LookAtCamera.text(),
            other => other.text(),
        }
    }

    /// Whether a terminal that prints each new prompt as a line has this one on screen already
    /// as `shown`: the same words, the last frame's similarity aside (it changes every frame,
    /// and `verify --replay` of a stranger printed 246 lines in 10 s).
    pub fn repeats(&self, shown: &Prompt) -> bool {
        match (self, shown) {
            (
                Prompt::Matching {
                    matched: false,
                    verified: now,
                    ..
                },
                Prompt::Matching {
                    matched: false,
                    verified: then,
                    ..
                },
            ) => now == then,
            _ => self.text() == shown.text(),
        }
    }

    /// The sentence for a person at the camera.
    pub fn text(&self) -> String {
        match self {
            Prompt::LookAtCamera => "Look at the camera".into(),
            Prompt::OnePersonOnly { faces } => {
                format!("{faces} people in view: one person at a time")
            }
            Prompt::Matching {
                verified,
                needed,
                similarity,
                matched,
            } => {
                if *matched {
                    format!("Recognising… {verified} of {needed} frames")
                } else {
                    format!("Not recognised yet (similarity {similarity:.2})")
                }
            }
            Prompt::HoldStill => "Hold still".into(),
            // One sentence for the whole turn: a prompt that changed as the head crossed the
            // mark would flip frame by frame, and a terminal prints every change. The window's
            // bar says "hold it" when full.
            Prompt::Turn { direction, .. } => {
                format!("Turn your head slowly to your {}", direction.word())
            }
            Prompt::HoldOn => "Hold on…".into(),
            Prompt::TooDark => "Too dark to see your face: add some light".into(),
        }
    }
}

/// Why an attempt failed. In JSON as the photo path's refusals are spelled (`no_face`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No face ever matched K of N frames before the deadline.
    NotRecognised,
    /// No usable face in view before the deadline.
    NoFace,
    /// It matched, but showed no natural face motion: a photo or a still screen.
    NoMotion,
    /// It matched, but did not make the asked head turn in time.
    NoTurn,
    /// After it matched, the face jumped or changed size during the head turn, or a frame's
    /// embedding left the matched frames' (another face in its place), or a face that had
    /// matched some frames gave way to a new tracked face shortly before the deadline.
    FaceChanged,
    /// It matched (and may have moved and turned), but the texture model saw a screen or a
    /// print in its frames: a replayed video or a photo.
    Presentation,
    /// A face was in view, but always too dark to judge.
    TooDark,
    /// Faces were in view, but never one alone: whose attempt would it be?
    ManyFaces,
}

impl Refusal {
    /// The reason as a person at a login screen is told it (the daemon's, the Unlock view's):
    /// whether a face was in view, in enough light and alone, and nothing more. Once a face was
    /// compared every refusal reads the same: "the head turn was not made" where a stranger
    /// read "not recognised" told someone holding a photo that it matched, and "looks like a
    /// photo" which check to beat next (red team, session 24). The full reason goes to the log.
    pub fn public_text(self) -> &'static str {
        match self {
            Refusal::NoFace | Refusal::TooDark | Refusal::ManyFaces => self.text(),
            Refusal::NotRecognised
            | Refusal::NoMotion
            | Refusal::NoTurn
            | Refusal::FaceChanged
            | Refusal::Presentation => "not verified",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Refusal::NotRecognised => "not recognised",
            Refusal::NoFace => "no face in view",
            Refusal::NoMotion => "no natural face motion: looks like a photo",
            Refusal::NoTurn => "the head turn was not made in time",
            Refusal::FaceChanged => "the face moved away or changed after it was recognised",
            Refusal::Presentation => "looks like a screen or a print",
            Refusal::TooDark => "too dark to see your face",
            Refusal::ManyFaces => "more than one person in view",
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub person: String,
    pub accepted: bool,
    pub refusal: Option<Refusal>,
    /// The last verification of the tracked face, when there was one.
    pub last: Option<Verification>,
    /// The face that verification was made on.
    #[serde(skip)]
    pub face: Option<crate::vision::Face>,
    /// The passive liveness window as last judged (None with liveness off or too few frames).
    pub liveness: Option<LivenessScore>,
    /// The texture model's low quantile over the tracked face's frames (None without the model
    /// or before enough frames).
    pub pad: Option<f32>,
    /// The rule `pad` was judged by (None without the texture model).
    pub pad_rule: Option<super::PadRule>,
    /// With liveness on: the lowest cosine of a frame after the votes to the frames that
    /// matched (None before the votes passed).
    pub held: Option<f32>,
    pub frames: u64,
    /// Frames whose face was too dark to judge (they did not vote).
    pub dark_frames: u64,
    pub frames_with_face: u64,
    pub seconds: f32,
    /// Seconds into the attempt when K of N frames had matched, and when the head turn was
    /// seen: where an attempt's time went.
    pub matched_s: Option<f32>,
    pub turned_s: Option<f32>,
}

impl Outcome {
    /// How this attempt settles the lock-out: one that never compared a face is taken back.
    pub fn ended(&self) -> crate::auth::lockout::Ended {
        crate::auth::lockout::Ended::of(self.accepted, self.frames_with_face > 0)
    }
}

// One Step a frame (30 a second) moves a few hundred bytes; boxing the outcome would only add an
// allocation to the last one and change every caller's pattern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Step {
    Pending(Prompt),
    Done(Outcome),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_prompt_never_tells_how_a_frame_scored() {
        let near_miss = Prompt::Matching {
            verified: 0,
            needed: 3,
            similarity: 0.3571,
            matched: false,
        };
        assert!(near_miss.text().contains("0.36"));
        let hit = Prompt::Matching {
            verified: 1,
            needed: 3,
            similarity: 0.81,
            matched: true,
        };
        assert_eq!(near_miss.public_text(), "Look at the camera");
        assert_eq!(hit.public_text(), near_miss.public_text(), "no frame tells");
        let turn = Prompt::Turn {
            direction: Direction::Left,
            progress: 0.5,
        };
        assert_eq!(turn.public_text(), turn.text());
        assert_eq!(turn.text(), "Turn your head slowly to your LEFT");
    }

    #[test]
    fn a_terminal_prints_a_prompt_again_only_when_its_words_change() {
        let missed = |similarity| Prompt::Matching {
            verified: 0,
            needed: 3,
            similarity,
            matched: false,
        };
        let hit = |verified| Prompt::Matching {
            verified,
            needed: 3,
            similarity: 0.8,
            matched: true,
        };
        assert!(missed(0.12).repeats(&missed(-0.03)), "only the similarity");
        assert!(!hit(1).repeats(&missed(0.12)));
        assert!(!hit(2).repeats(&hit(1)), "one more frame matched");
        assert!(!missed(0.1).repeats(&hit(1)));
        assert!(Prompt::HoldStill.repeats(&Prompt::HoldStill));
        assert!(!Prompt::TooDark.repeats(&Prompt::HoldStill));
    }
}
