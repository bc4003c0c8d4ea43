//! `facegate analyze`: apparent age, gender and emotion of every face in some photos.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::imageio;
use crate::shown::Shown;
use crate::vision::attributes::{
    AgeNet, AttributeModel, AttributeNets, Attributes, Emotion, EmotionNet, MIN_EYE_DISTANCE,
};
use crate::vision::{BBox, Detector, DetectorConfig};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Photos to analyse
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// The network that reads emotions (default: the saved setting, `emotion_net`)
    #[arg(long, value_enum)]
    pub emotion_net: Option<EmotionNet>,
    /// The network that reads age (default: the saved setting, `age_net`)
    #[arg(long, value_enum)]
    pub age_net: Option<AgeNet>,
}

#[derive(Serialize)]
struct FaceReport {
    #[serde(rename = "box")]
    bbox: BBox,
    score: f32,
    eye_distance: f32,
    /// `null` when the face is too small for the estimates to mean anything.
    attributes: Option<AttributesReport>,
}

#[derive(Serialize)]
struct AttributesReport {
    age: f32,
    gender: &'static str,
    gender_probability: f32,
    emotion: Emotion,
    emotion_probability: f32,
    emotions: crate::vision::attributes::EmotionProbs,
}

impl From<Attributes> for AttributesReport {
    fn from(a: Attributes) -> Self {
        let (emotion, emotion_probability) = a.emotion();
        AttributesReport {
            age: a.age,
            gender: a.gender().label(),
            gender_probability: a.gender_probability(),
            emotion,
            emotion_probability,
            emotions: a.emotions,
        }
    }
}

#[derive(Serialize)]
struct Report {
    #[serde(serialize_with = "super::lossy_path")]
    path: PathBuf,
    faces: Vec<FaceReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Exit 0 when some face was analysed, 3 when no image had a face, 2 when an image failed.
pub fn run(cli: &Cli, args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let models = cli.models()?;
    let mut detector = Detector::new(&models, DetectorConfig::default())?;
    // The saved choice for whichever network the command line leaves open (the store is read
    // once, and not at all when both are given).
    let nets = match (args.age_net, args.emotion_net) {
        (Some(age), Some(emotion)) => AttributeNets { age, emotion },
        (age, emotion) => {
            let saved = cli.store()?.settings().attribute_nets();
            AttributeNets {
                age: age.unwrap_or(saved.age),
                emotion: emotion.unwrap_or(saved.emotion),
            }
        }
    };
    let mut model = AttributeModel::new(&models, nets)?;
    let mut reports = Vec::new();
    for path in &args.images {
        let report = match analyze_one(&mut detector, &mut model, path) {
            Ok(faces) => Report {
                path: path.clone(),
                faces,
                error: None,
            },
            Err(err) => Report {
                path: path.clone(),
                faces: Vec::new(),
                error: Some(crate::shown::Reason(err.as_ref()).to_string()),
            },
        };
        if !args.json {
            print_text(&report);
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if reports.iter().any(|r| r.error.is_some()) {
        exit::ERROR
    } else if reports.iter().all(|r| r.faces.is_empty()) {
        exit::NO_FACE
    } else {
        exit::OK
    })
}

fn analyze_one(
    detector: &mut Detector,
    model: &mut AttributeModel,
    path: &Path,
) -> anyhow::Result<Vec<FaceReport>> {
    let img = imageio::load(path)?;
    let faces = detector.detect(&img)?;
    faces
        .iter()
        .map(|face| {
            Ok(FaceReport {
                bbox: face.bbox,
                score: face.score,
                eye_distance: face.eye_distance(),
                attributes: model.analyze(&img, face)?.map(AttributesReport::from),
            })
        })
        .collect()
}

fn print_text(r: &Report) {
    if let Some(err) = &r.error {
        eprintln!("{}: error: {err}", Shown(&r.path));
        return;
    }
    let n = r.faces.len();
    println!(
        "{}: {}",
        Shown(&r.path),
        crate::shown::counted(n, "face", "faces")
    );
    for (i, f) in r.faces.iter().enumerate() {
        let b = f.bbox;
        print!(
            "  #{} box x={:.0} y={:.0} w={:.0} h={:.0}  ",
            i + 1,
            b.x,
            b.y,
            b.w,
            b.h
        );
        let Some(a) = &f.attributes else {
            println!(
                "unknown: face too small (eyes {:.0} px apart, need {MIN_EYE_DISTANCE:.0})",
                f.eye_distance
            );
            continue;
        };
        let others: Vec<String> = a
            .emotions
            .iter()
            .filter(|(e, _)| *e != a.emotion)
            .map(|(e, p)| format!("{e} {p:.2}"))
            .collect();
        println!(
            "age {:.0}  {} {:.2}  {} {:.2} ({})",
            a.age,
            a.gender,
            a.gender_probability,
            a.emotion,
            a.emotion_probability,
            others.join(", ")
        );
    }
}
