//! Age, gender and emotion: the bundled astronaut photo, a face too small to judge, the labelled
//! photos of deepface and InspireFace, and sampled accuracy on UTKFace and FER2013. The shared
//! data suites are skipped with a notice where ../shared/data is absent.
//!
//! Floors are measured values minus a small margin (the full-dataset figures come from
//! `facegate eval attributes`); each test prints what it measured.

mod common;

use std::path::Path;

use facegate::imageio;
use facegate::vision::attributes::{
    AgeGender, AgeNet, AttributeModel, AttributeNets, Attributes, Emotion, EmotionNet, Gender, luma,
};
use facegate::vision::{Detector, DetectorConfig, Face};
use image::{GrayImage, Luma, RgbImage, imageops};

fn detector(score_threshold: f32) -> Detector {
    let config = DetectorConfig {
        score_threshold,
        ..DetectorConfig::default()
    };
    Detector::new(&common::models(), config).unwrap()
}

fn model() -> AttributeModel {
    // The floors below were measured with dlib's age-v1 and fer's mini-Xception;
    // tests/trained_models.rs checks ours.
    let nets = AttributeNets {
        age: AgeNet::Dlib,
        emotion: EmotionNet::MiniXception,
    };
    AttributeModel::new(&common::models(), nets).unwrap()
}

fn largest(faces: Vec<Face>) -> Option<Face> {
    faces
        .into_iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}

/// Every face of a photo with its attributes (None: too small), largest first.
fn analyze_photo(path: &Path) -> Vec<(Face, Option<Attributes>)> {
    let img = imageio::load(path).unwrap();
    let mut faces = detector(0.7).detect(&img).unwrap();
    faces.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
    let mut m = model();
    faces
        .into_iter()
        .map(|f| {
            let a = m.analyze(&img, &f).unwrap();
            (f, a)
        })
        .collect()
}

fn describe(a: &Attributes) -> String {
    let (e, p) = a.emotion();
    format!(
        "age {:.1}, {} {:.2}, {e} {p:.2}",
        a.age,
        a.gender(),
        a.gender_probability()
    )
}

#[test]
fn astronaut_is_an_adult_woman() {
    let faces = analyze_photo(&common::fixture("astronaut.png"));
    let a = faces[0].1.expect("the astronaut's face is large enough");
    println!("astronaut: {}", describe(&a));
    assert_eq!(a.gender(), Gender::Female);
    // The 32 px gender model is less sure of her than of most faces: 0.80 female measured on the
    // face alone (0.89 with the mirror it no longer reads), so this floor is a regression
    // tripwire, not a claim of confidence.
    assert!(a.gender_probability() >= 0.6, "{a:?}");
    // Eileen Collins was about 40 in this NASA portrait.
    assert!((25.0..=55.0).contains(&a.age), "age {}", a.age);
    let total: f32 = a.emotions.0.iter().sum();
    assert!(
        (total - 1.0).abs() < 1e-3,
        "emotion probabilities sum to {total}"
    );
    // She smiles for the camera.
    assert_eq!(a.emotion().0, Emotion::Happy, "{a:?}");
}

#[test]
fn a_face_too_small_is_unknown_not_guessed() {
    let img = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let face = largest(detector(0.7).detect(&img).unwrap()).unwrap();
    let mut m = model();
    assert!(m.analyze(&img, &face).unwrap().is_some());
    // Shrink the photo until the eyes are 8 px apart (below MIN_EYE_DISTANCE = 12).
    let s = 8.0 / face.eye_distance();
    let (w, h) = (
        (img.width() as f32 * s).round() as u32,
        (img.height() as f32 * s).round() as u32,
    );
    let small = imageops::resize(&img, w, h, imageops::FilterType::Triangle);
    let tiny = face.scaled(s);
    println!(
        "eye distance {:.1} px → {:.1} px in a {w}×{h} copy",
        face.eye_distance(),
        tiny.eye_distance()
    );
    assert!(m.analyze(&small, &tiny).unwrap().is_none());
}

#[test]
fn deepface_labelled_women() {
    let Some(data) = common::shared_data("deepface attributes") else {
        return;
    };
    let root = data.join("deepface");
    for row in common::read_csv(&root.join("attributes.csv")) {
        let faces = analyze_photo(&root.join(&row["path"]));
        let a = faces[0].1.expect("a large face");
        println!(
            "{}: {} (labelled {} {})",
            row["path"],
            describe(&a),
            row["gender"],
            row["age_range"]
        );
        assert_eq!(a.gender().label(), row["gender"]);
        // deepface asserts 20 < age < 40 for its own model; ours is another model, so the
        // range is widened by 5 years each side.
        let (lo, hi) = parse_range(&row["age_range"]);
        assert!(
            (lo - 5.0..=hi + 5.0).contains(&a.age),
            "{}: age {}",
            row["path"],
            a.age
        );
    }
}

#[test]
fn insightface_emotion_and_attribute_photos() {
    let Some(data) = common::shared_data("InspireFace attributes") else {
        return;
    };
    let root = data.join("insightface");
    let rows = common::read_csv(&root.join("labels.csv"));
    let mut checked = 0;
    for row in rows
        .iter()
        .filter(|r| r["task"] == "emotion" || r["task"] == "attributes")
    {
        let faces = analyze_photo(&root.join(&row["path"]));
        let n_faces: usize = row["n_faces"].parse().unwrap();
        assert_eq!(faces.len(), n_faces, "{}: face count", row["path"]);
        for (i, (_, a)) in faces.iter().enumerate() {
            let a = a.expect("a large face");
            println!(
                "{} #{}: {} (expected {})",
                row["path"],
                i + 1,
                describe(&a),
                row["expected"]
            );
            if row["task"] == "emotion" {
                // InspireFace says "anger"; FER2013 says "angry".
                let expected = match row["expected"].as_str() {
                    "anger" => Emotion::Angry,
                    other => Emotion::from_label(other).unwrap(),
                };
                // Top two, not top one: the model reads the frowning sad.png as angry 0.45 /
                // sad 0.31, the sad↔angry confusion it also shows on FER2013.
                let mut ranked: Vec<(Emotion, f32)> = a.emotions.iter().collect();
                ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
                assert!(
                    ranked[..2].iter().any(|(e, _)| *e == expected),
                    "{}: {ranked:?}",
                    row["path"]
                );
            } else {
                let fields: std::collections::HashMap<&str, &str> = row["expected"]
                    .split(';')
                    .filter_map(|kv| kv.split_once('='))
                    .collect();
                assert_eq!(a.gender().label(), fields["gender"], "{}", row["path"]);
                let (lo, hi) = parse_range(fields["age"]);
                assert!(
                    (lo - 5.0..=hi + 5.0).contains(&a.age),
                    "{}: age {} (labelled {lo}-{hi}, ±5 allowed)",
                    row["path"],
                    a.age
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} faces checked");
}

/// "20-40" or "20-40 (both faces)" → (20, 40).
fn parse_range(s: &str) -> (f32, f32) {
    let s = s.split_whitespace().next().unwrap();
    let (lo, hi) = s.split_once('-').unwrap();
    (lo.parse().unwrap(), hi.parse().unwrap())
}

/// Median YuNet landmarks over the UTKFace crops (all are aligned alike); used where YuNet finds
/// no face, as `facegate eval attributes` does (its constant is in a lab-only module, which this
/// suite, run without the lab feature too, cannot reach).
const UTKFACE_CANONICAL: [[f32; 2]; 5] = [
    [57.5, 58.2],
    [137.0, 59.6],
    [94.9, 101.2],
    [62.3, 136.2],
    [128.9, 137.3],
];

#[test]
fn sampled_accuracy_utkface_adults() {
    let Some(data) = common::shared_data("UTKFace attributes") else {
        return;
    };
    let root = data.join("utkface_part1");
    let adults: Vec<_> = common::read_csv(&root.join("attributes.csv"))
        .into_iter()
        .filter(|r| (18..=70).contains(&r["age"].parse::<u32>().unwrap()))
        .collect();
    let sample = common::spread(&adults, 300);
    let mut det = detector(0.5);
    let mut m = model();
    let (mut abs_err, mut right, mut fallbacks) = (0.0f64, 0, 0);
    for row in &sample {
        let img = imageio::load(&root.join(&row["path"])).unwrap();
        let lm = match largest(det.detect(&img).unwrap()) {
            Some(f) => f.landmarks,
            None => {
                fallbacks += 1;
                UTKFACE_CANONICAL
            }
        };
        let AgeGender { age, male } = m.age_and_gender(&img, &lm).unwrap();
        let male = male >= 0.5;
        abs_err += (age as f64 - row["age"].parse::<f64>().unwrap()).abs();
        right += (male == (row["gender"] == "male")) as usize;
    }
    let n = sample.len() as f64;
    let (mae, acc) = (abs_err / n, right as f64 / n);
    println!(
        "UTKFace adults 18-70, {} spread over {}: age MAE {mae:.2} years (issue target ≤ 7), \
         gender accuracy {:.1} % (target ≥ 92 %), {fallbacks} canonical-landmark fallbacks",
        sample.len(),
        adults.len(),
        100.0 * acc
    );
    // Measured: 95.0 % and 7.46 years (full set: 97.0 % and 7.11, `facegate eval attributes`).
    assert!(acc >= 0.93, "gender accuracy {acc}");
    assert!(mae <= 7.9, "age MAE {mae}");
}

#[test]
fn sampled_accuracy_fer2013() {
    let Some(data) = common::shared_data("FER2013 emotion") else {
        return;
    };
    let root = data.join("fer2013");
    let rows = common::read_csv(&root.join("emotion.csv"));
    let sample = common::spread(&rows, 300);
    let mut m = model();
    let mut right = 0;
    for row in &sample {
        let img: RgbImage = imageio::load(&root.join(&row["path"])).unwrap();
        // The 48×48 image is the face as the model was trained on it: fed whole.
        let grey = GrayImage::from_fn(img.width(), img.height(), |x, y| {
            Luma([luma(img.get_pixel(x, y))])
        });
        let top = m.emotion_of_crop(&grey).unwrap().top().0;
        right += (Some(top) == Emotion::from_label(&row["emotion"])) as usize;
    }
    let acc = right as f64 / sample.len() as f64;
    println!(
        "FER2013 PublicTest, {} spread over {}: emotion accuracy {:.1} % (issue target ≥ 62 %; \
         this copy was filtered: fer2013/README_source.md)",
        sample.len(),
        rows.len(),
        100.0 * acc
    );
    // Measured: 58.3 % (full set: 59.3 %).
    assert!(acc >= 0.55, "emotion accuracy {acc}");
}

/// One LFW-a face is a woman's or a man's, so the other's recall is over no faces: said so, not
/// "NaN %" (journey s38 §12).
#[test]
fn a_share_over_no_faces_is_said_not_nan() {
    let Some(data) = common::shared_data("eval attributes on one face") else {
        return;
    };
    let out = common::run_facegate(&[
        "eval",
        "attributes",
        "--data",
        common::s(&data),
        "--datasets",
        "lfw",
        "--limit",
        "1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("LFW-a: 1 face "), "{text}");
    assert!(
        text.contains("none to count") && !text.contains("NaN"),
        "{text}"
    );
}
