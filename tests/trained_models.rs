//! The models FaceGate trains itself (issue 18; `training/`, committed under models/trained/):
//! each loads and matches its sha256, and reads real faces as labelled. No test trains a model.
//! The FER2013 suites are skipped with a notice where ../shared/data is absent.

mod common;

use facegate::imageio;
use facegate::runtime::Manifest;
use facegate::vision::attributes::{
    AgeNet, AttributeModel, AttributeNets, Emotion, EmotionNet, luma,
};
use facegate::vision::{Detector, DetectorConfig};
use image::{GrayImage, Luma, RgbImage};
use sha2::{Digest, Sha256};

fn grey(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        Luma([luma(img.get_pixel(x, y))])
    })
}

/// The attribute models with one network changed from the defaults.
fn model_with(
    models: &facegate::runtime::Models,
    change: impl FnOnce(&mut AttributeNets),
) -> AttributeModel {
    let mut nets = AttributeNets::default();
    change(&mut nets);
    AttributeModel::new(models, nets).unwrap()
}

#[test]
fn the_trained_networks_are_committed_and_checked() {
    let Some(models) = common::models_or_skip("trained models") else {
        return;
    };
    // Each with the data its licence line must name.
    let emotion = EmotionNet::Trained
        .model_ids()
        .iter()
        .map(|&id| (id, "FER2013"));
    for (id, data) in emotion.chain([(AgeNet::Trained.model_id(), "UTKFace")]) {
        let entry = Manifest::builtin().model(id).expect("in the manifest");
        let committed = common::repo().join("models").join(&entry.path);
        let bytes = std::fs::read(&committed).expect("committed under models/trained/");
        let digest = hex::encode(Sha256::digest(&bytes));
        println!(
            "{id}: {} ({} bytes), sha256 {digest}, {}",
            committed.display(),
            bytes.len(),
            entry.licence
        );
        assert!(entry.path.starts_with("trained/") && bytes.len() < 5 << 20);
        assert_eq!(digest, entry.sha256);
        assert!(entry.licence.contains(data), "the data's terms are said");
        models
            .verified_bytes(id)
            .expect("the installed copy checks out");
    }
}

/// The sample photo's smiling astronaut, through the app's own path (YuNet box, fer's crop).
#[test]
fn the_trained_network_sees_the_astronaut_smile() {
    let Some(models) = common::models_or_skip("trained emotion") else {
        return;
    };
    let (img, face) = common::astronaut(&models);
    let mut model = model_with(&models, |n| n.emotion = EmotionNet::Trained);
    let probs = model.emotion(&img, &face.bbox).unwrap();
    let (top, p) = probs.top();
    println!(
        "astronaut: {top} {p:.2}; all: {}",
        serde_json::to_string(&probs).unwrap()
    );
    assert_eq!(top, Emotion::Happy);
}

/// Our networks run two at a time, one ORT thread each (the runner deals them to two lanes):
/// each answer must be the one the same networks give one at a time, so no lane's answer lands
/// in another's place. Also on a switch to dlib's age-v1, which runs one at a time.
#[test]
fn two_networks_at_a_time_read_what_one_at_a_time_reads() {
    let Some(models) = common::models_or_skip("attribute lanes") else {
        return;
    };
    let (img, face) = common::astronaut(&models);
    let (mut two_cores, mut one_core) = (models.clone(), models);
    two_cores.intra_threads = 2;
    one_core.intra_threads = 1;
    let mut side_by_side = AttributeModel::new(&two_cores, AttributeNets::default()).unwrap();
    let mut in_turn = AttributeModel::new(&one_core, AttributeNets::default()).unwrap();
    let both = side_by_side.analyze(&img, &face).unwrap().unwrap();
    let one = in_turn.analyze(&img, &face).unwrap().unwrap();
    println!("two at a time: {both:?}\none at a time: {one:?}");
    assert_eq!(both, one);
    let apart = side_by_side.age_and_gender(&img, &face.landmarks).unwrap();
    assert_eq!((apart.age, apart.male), (both.age, both.male));
    assert_eq!(
        side_by_side.emotion(&img, &face.bbox).unwrap(),
        both.emotions
    );

    let dlib = AttributeNets {
        age: AgeNet::Dlib,
        ..AttributeNets::default()
    };
    side_by_side.set_nets(&two_cores, dlib).unwrap();
    let switched = side_by_side.analyze(&img, &face).unwrap().unwrap();
    let fresh = AttributeModel::new(&two_cores, dlib)
        .unwrap()
        .analyze(&img, &face)
        .unwrap()
        .unwrap();
    println!("switched to age-v1: {switched:?}");
    assert_eq!(switched, fresh);
    assert_ne!(switched.age, both.age, "age-v1 and ours read the same age");
}

/// FER2013 PublicTest's faces, grey as the app reads them, with their labels, or None (with a
/// notice) without the models or ../shared/data.
fn public_test(suite: &str) -> Option<(facegate::runtime::Models, Vec<(GrayImage, Emotion)>)> {
    let models = common::models_or_skip(suite)?;
    let root = common::shared_data(suite)?.join("fer2013");
    let faces = common::read_csv(&root.join("emotion.csv"))
        .iter()
        .map(|r| {
            let img = imageio::load(&root.join(&r["path"])).unwrap();
            (grey(&img), Emotion::from_label(&r["emotion"]).unwrap())
        })
        .collect();
    Some((models, faces))
}

/// Whether `model` reads `face` as `truth`.
fn reads(model: &mut AttributeModel, face: &GrayImage, truth: Emotion) -> bool {
    model.emotion_of_crop(face).unwrap().top().0 == truth
}

/// The first ten happy and the first ten neutral faces of FER2013 PublicTest (the manifest's
/// order, not picked), read by both networks.
#[test]
fn happy_and_neutral_dev_faces_are_read_as_labelled() {
    let Some((models, faces)) = public_test("trained emotion on FER2013") else {
        return;
    };
    for net in [EmotionNet::Trained, EmotionNet::MiniXception] {
        let mut model = model_with(&models, |n| n.emotion = net);
        let mut right = Vec::new();
        for label in [Emotion::Happy, Emotion::Neutral] {
            let n = faces
                .iter()
                .filter(|(_, truth)| *truth == label)
                .take(10)
                .filter(|(face, _)| reads(&mut model, face, label))
                .count();
            println!("{net:?}: {n} of 10 {label} faces read as {label}");
            right.push(n);
        }
        if net == EmotionNet::Trained {
            assert!(right[0] >= 9 && right[1] >= 6, "happy {right:?}");
        }
    }
}

/// PublicTest accuracy on 600 faces spread over the manifest, the new beside the old: the
/// trained network must be the better one (the full-set figures: `facegate eval attributes`).
#[test]
fn the_trained_network_beats_mini_xception_on_a_spread_sample() {
    let Some((models, all)) = public_test("trained emotion on FER2013") else {
        return;
    };
    let faces = common::spread(&all, 600);
    let mut accuracy = Vec::new();
    for net in [EmotionNet::Trained, EmotionNet::MiniXception] {
        let mut model = model_with(&models, |n| n.emotion = net);
        let right = faces
            .iter()
            .filter(|(face, truth)| reads(&mut model, face, *truth))
            .count();
        let acc = right as f64 / faces.len() as f64;
        println!(
            "{net:?}: {right} of {} PublicTest faces right ({:.1} %)",
            faces.len(),
            100.0 * acc
        );
        accuracy.push(acc);
    }
    assert!(accuracy[0] > accuracy[1] + 0.03, "{accuracy:?}");
}

/// A dev face: the image, YuNet's five points on it, the labelled age.
type AgedFace = (RgbImage, [[f32; 2]; 5], u32);

/// UTKFace part 1 (the dev set, never trained on): the rows `pick` chooses from the manifest's
/// (path, age) rows, each with its landmarks as the app finds them (a face YuNet misses is left
/// out), or None (with a notice) without the models or ../shared/data.
fn utkface_faces(
    suite: &str,
    pick: impl FnOnce(Vec<(String, u32)>) -> Vec<(String, u32)>,
) -> Option<(facegate::runtime::Models, Vec<AgedFace>)> {
    let models = common::models_or_skip(suite)?;
    let root = common::shared_data(suite)?.join("utkface_part1");
    let rows = common::read_csv(&root.join("attributes.csv"))
        .into_iter()
        .map(|r| (r["path"].clone(), r["age"].parse().unwrap()))
        .collect();
    let config = DetectorConfig {
        score_threshold: 0.5,
        ..DetectorConfig::default()
    };
    let mut detector = Detector::new(&models, config).unwrap();
    let faces = pick(rows)
        .into_iter()
        .filter_map(|(path, age)| {
            let img = imageio::load(&root.join(path)).unwrap();
            let face = detector
                .detect(&img)
                .unwrap()
                .into_iter()
                .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))?;
            Some((img, face.landmarks, age))
        })
        .collect();
    Some((models, faces))
}

/// `n` rows whose age is in `ages`, spread evenly over the manifest.
fn aged(
    rows: &[(String, u32)],
    ages: std::ops::RangeInclusive<u32>,
    n: usize,
) -> Vec<(String, u32)> {
    let band: Vec<_> = rows
        .iter()
        .filter(|r| ages.contains(&r.1))
        .cloned()
        .collect();
    common::spread(&band, n)
}

/// Twenty children of 3 to 12 and twenty adults of 25 to 45 spread over the dev set: our network
/// must tell them apart, and forget children no more than a little. It learnt from a training
/// half with 1 % children; on all of part 1 it reads under-13s 0.4 to 0.8 years worse than dlib's
/// (training/README.md), and this is the guard against that growing.
#[test]
fn the_trained_age_network_tells_children_from_adults() {
    let Some((models, faces)) = utkface_faces("trained age on UTKFace", |rows| {
        [aged(&rows, 3..=12, 20), aged(&rows, 25..=45, 20)].concat()
    }) else {
        return;
    };
    let children: Vec<_> = faces.iter().filter(|f| f.2 <= 12).collect();
    let adults: Vec<_> = faces.iter().filter(|f| f.2 >= 25).collect();
    assert!(
        children.len() >= 18 && adults.len() >= 18,
        "YuNet found the faces"
    );
    let mut counts = Vec::new();
    for net in [AgeNet::Trained, AgeNet::Dlib] {
        let mut model = model_with(&models, |n| n.age = net);
        let mut read = |group: &[&AgedFace]| -> Vec<f32> {
            group
                .iter()
                .map(|(img, lm, _)| model.age_and_gender(img, lm).unwrap().age)
                .collect()
        };
        let (kids, grown) = (read(&children), read(&adults));
        let kids_under_13 = kids.iter().filter(|a| **a < 13.0).count();
        let grown_over_20 = grown.iter().filter(|a| **a >= 20.0).count();
        println!(
            "{net:?}: children (true {:?}) read as {:.0?}: {kids_under_13} of {} under 13; \
             adults (true {:?}) read as {:.0?}: {grown_over_20} of {} at 20 or over",
            children.iter().map(|f| f.2).collect::<Vec<_>>(),
            kids,
            kids.len(),
            adults.iter().map(|f| f.2).collect::<Vec<_>>(),
            grown,
            grown.len()
        );
        counts.push((kids_under_13, grown_over_20));
    }
    let [(ours_kids, ours_grown), (dlib_kids, _)] = counts[..] else {
        unreachable!()
    };
    assert!(ours_kids * 10 >= children.len() * 8, "children: {counts:?}");
    assert!(ours_grown * 10 >= adults.len() * 9, "adults: {counts:?}");
    assert!(ours_kids + 2 >= dlib_kids, "forgets children: {counts:?}");
}

/// Age error on 300 adults (18-70) spread over the dev set, the new beside the old: ours must be
/// the closer (the full-set figures: `facegate eval attributes`).
#[test]
fn the_trained_age_network_beats_dlib_on_spread_adults() {
    let Some((models, faces)) =
        utkface_faces("trained age on UTKFace", |rows| aged(&rows, 18..=70, 300))
    else {
        return;
    };
    let mut mae = Vec::new();
    for net in [AgeNet::Trained, AgeNet::Dlib] {
        let mut model = model_with(&models, |n| n.age = net);
        let err: f32 = faces
            .iter()
            .map(|(img, lm, age)| (model.age_and_gender(img, lm).unwrap().age - *age as f32).abs())
            .sum::<f32>()
            / faces.len() as f32;
        println!(
            "{net:?}: age MAE {err:.2} years on {} UTKFace part 1 adults",
            faces.len()
        );
        mae.push(err);
    }
    assert!(mae[0] < mae[1] - 0.3, "{mae:?}");
}
