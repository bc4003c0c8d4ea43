//! Age, gender and emotion of a detected face.
//!
//! Three small models, each with its own crop (recipes in `shared/MODELS.md`):
//! - age (81 classes) and gender (female/male): dlib's Cydral networks, fed an RGB "face chip"
//!   made by a similarity transform of the five YuNet landmarks onto [`CHIP_TEMPLATE`];
//! - emotion (7 classes): fer's mini-Xception, fed a grey, square crop around the face box,
//!   framed as its FER2013 training images were.
//!
//! All three are weak estimators meant for an on-screen label, never for a decision. A face
//! whose eyes are less than [`MIN_EYE_DISTANCE`] pixels apart gives no estimate at all. Accuracy
//! on public datasets: `facegate eval-attributes`.

use std::collections::HashMap;
use std::hash::Hash;

use image::{GrayImage, Luma, Rgb, RgbImage, imageops};
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::align::{Similarity, warp};
use super::face::{BBox, Face};
use crate::runtime::Models;
use crate::{Error, Result};

/// Where the five YuNet landmarks (eyes, nose tip, mouth corners) go on the age/gender chip, as
/// fractions of the chip side (MODELS.md): YuNet's points placed where dlib's 5-point face chip
/// with padding 0.2 puts a face, the framing the Cydral networks were trained on.
pub const CHIP_TEMPLATE: [[f32; 2]; 5] = [
    [0.3029, 0.2876],
    [0.6746, 0.2894],
    [0.4853, 0.5098],
    [0.3275, 0.6692],
    [0.6478, 0.6707],
];
/// Per-channel RGB means subtracted before the /256 scaling (dlib's `input_rgb_image`).
const CHIP_MEAN: [f32; 3] = [122.782, 117.001, 104.298];
/// The chip is warped at this multiple of its size, then box-averaged down: a plain bilinear warp
/// straight to 32 px aliases badly when the face is large.
const SUPERSAMPLE: u32 = 4;
pub const AGE_CHIP: u32 = 64;
pub const GENDER_CHIP: u32 = 32;
/// Age of each of the 81 classes: the first means "a baby", then one year per class.
const AGE_WEIGHTS: [f32; 81] = {
    let mut w = [0.0; 81];
    let mut i = 1;
    while i < 81 {
        w[i] = i as f32;
        i += 1;
    }
    w[0] = 0.25;
    w
};

pub const EMOTION_INPUT: u32 = 64;
/// fer widens the (squared) face box by this many pixels on each side before resizing.
pub const EMOTION_MARGIN: f32 = 10.0;

/// Below this eye distance (pixels) [`AttributeModel::analyze`] returns `None`. Measured on
/// UTKFace adults shrunk to a given eye distance (landmarks from the full-size photo): age MAE
/// 7.3 years at full size, 7.8 at 24 px, 8.1 at 16, 9.2 at 12, 11.6 at 8, 14.2 at 6; gender
/// accuracy holds at 97 % down to 10 px, then falls (95 % at 8, 90 % at 6). FER2013 emotion
/// accuracy drops from 58 % (eyes ~18 px apart) to 56 % at ~13 px and 52 % at ~10 px. YuNet
/// itself finds only 87 % of such faces at 12 px and 57 % at 10, so its landmarks go too.
pub const MIN_EYE_DISTANCE: f32 = 12.0;

/// The seven FER2013 classes, in the model's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    Angry,
    Disgust,
    Fear,
    Happy,
    Sad,
    Surprise,
    Neutral,
}

impl Emotion {
    pub const ALL: [Emotion; 7] = [
        Emotion::Angry,
        Emotion::Disgust,
        Emotion::Fear,
        Emotion::Happy,
        Emotion::Sad,
        Emotion::Surprise,
        Emotion::Neutral,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Emotion::Angry => "angry",
            Emotion::Disgust => "disgust",
            Emotion::Fear => "fear",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Surprise => "surprise",
            Emotion::Neutral => "neutral",
        }
    }

    /// Position in the model's output (and in [`EmotionProbs`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parses one of the seven labels (case-insensitive).
    pub fn from_label(label: &str) -> Option<Emotion> {
        Emotion::ALL
            .into_iter()
            .find(|e| e.label().eq_ignore_ascii_case(label.trim()))
    }
}

impl std::fmt::Display for Emotion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Probabilities of the seven emotions, indexed by [`Emotion::index`]; they sum to 1.
/// Serialised as a map from label to probability.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EmotionProbs(pub [f32; 7]);

impl EmotionProbs {
    pub fn get(&self, e: Emotion) -> f32 {
        self.0[e.index()]
    }

    /// The most probable emotion and its probability.
    pub fn top(&self) -> (Emotion, f32) {
        Emotion::ALL.into_iter().map(|e| (e, self.get(e))).fold(
            (Emotion::Neutral, f32::NEG_INFINITY),
            |best, c| {
                if c.1 > best.1 { c } else { best }
            },
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = (Emotion, f32)> + '_ {
        Emotion::ALL.into_iter().map(|e| (e, self.get(e)))
    }
}

impl Serialize for EmotionProbs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        for (e, p) in self.iter() {
            map.serialize_entry(e.label(), &p)?;
        }
        map.end()
    }
}

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

/// The three attribute sessions, built once; reuse for every face and frame.
pub struct AttributeModel {
    age: Session,
    gender: Session,
    emotion: Session,
    age_input: Array4<f32>,
    gender_input: Array4<f32>,
    emotion_input: Array4<f32>,
    /// Also run each model on the mirror image of the face and average the two answers (one
    /// batch of two, so about 1.5× the time). Measured on UTKFace adults and LFW-a, it lowers the
    /// age error by ~0.3 years and raises gender accuracy by ~0.7 points, and steadies the
    /// 32 px gender chip, whose answer can swing on a sub-pixel landmark shift. On by default.
    pub mirror: bool,
}

impl AttributeModel {
    pub fn new(models: &Models) -> Result<AttributeModel> {
        Ok(AttributeModel {
            age: models.session("age")?,
            gender: models.session("gender")?,
            emotion: models.session("emotion")?,
            age_input: Array4::zeros((1, 3, AGE_CHIP as usize, AGE_CHIP as usize)),
            gender_input: Array4::zeros((1, 3, GENDER_CHIP as usize, GENDER_CHIP as usize)),
            emotion_input: Array4::zeros((1, 1, EMOTION_INPUT as usize, EMOTION_INPUT as usize)),
            mirror: true,
        })
    }

    /// Age, gender and emotion of a detected face, or `None` when the face is too small (eye
    /// distance below [`MIN_EYE_DISTANCE`]) for the estimates to mean anything.
    pub fn analyze(&mut self, img: &RgbImage, face: &Face) -> Result<Option<Attributes>> {
        if !large_enough(face) {
            return Ok(None);
        }
        Ok(Some(Attributes {
            age: self.age(img, &face.landmarks)?,
            male: self.male_probability(img, &face.landmarks)?,
            emotions: self.emotion(img, &face.bbox)?,
        }))
    }

    /// Apparent age in years from the five landmarks (no size check: see [`analyze`](Self::analyze)).
    pub fn age(&mut self, img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Result<f32> {
        fill_chips(img, landmarks, AGE_CHIP, self.mirror, &mut self.age_input);
        let probs = run_probs(&mut self.age, "age", "images", &self.age_input, 81)?;
        Ok(probs.iter().zip(AGE_WEIGHTS).map(|(p, w)| p * w).sum())
    }

    /// Probability that the face is male, from the five landmarks.
    pub fn male_probability(&mut self, img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Result<f32> {
        fill_chips(
            img,
            landmarks,
            GENDER_CHIP,
            self.mirror,
            &mut self.gender_input,
        );
        let probs = run_probs(&mut self.gender, "gender", "images", &self.gender_input, 2)?;
        Ok(probs[1])
    }

    /// Emotion probabilities for the face in `bbox`, cropped with fer's recipe ([`emotion_crop`]).
    pub fn emotion(&mut self, img: &RgbImage, bbox: &BBox) -> Result<EmotionProbs> {
        self.emotion_of_crop(&emotion_crop(img, bbox))
    }

    /// Emotion probabilities for a grey image that is already framed like a FER2013 face (a
    /// FER2013 image itself, or [`emotion_crop`]'s output); resized here to the model's input.
    pub fn emotion_of_crop(&mut self, crop: &GrayImage) -> Result<EmotionProbs> {
        let resized;
        let crop = if crop.dimensions() == (EMOTION_INPUT, EMOTION_INPUT) {
            crop
        } else {
            // Triangle is bilinear when enlarging (how fer turns 48 px FER faces into 64 px) and
            // averages when shrinking, so a large face is not aliased into noise.
            resized = imageops::resize(
                crop,
                EMOTION_INPUT,
                EMOTION_INPUT,
                imageops::FilterType::Triangle,
            );
            &resized
        };
        let side = EMOTION_INPUT as usize;
        ensure_batch(&mut self.emotion_input, if self.mirror { 2 } else { 1 });
        let buf = self
            .emotion_input
            .as_slice_mut()
            .expect("contiguous tensor");
        let norm = |v: u8| (v as f32 / 255.0 - 0.5) * 2.0;
        for (i, px) in crop.pixels().enumerate() {
            buf[i] = norm(px[0]);
        }
        if self.mirror {
            let (plane, mirrored) = buf.split_at_mut(side * side);
            for (row, out) in plane.chunks(side).zip(mirrored.chunks_mut(side)) {
                out.iter_mut()
                    .zip(row.iter().rev())
                    .for_each(|(o, v)| *o = *v);
            }
        }
        let probs = run_probs(
            &mut self.emotion,
            "emotion",
            "input",
            &self.emotion_input,
            7,
        )?;
        let mut out = [0.0; 7];
        out.copy_from_slice(&probs);
        Ok(EmotionProbs(out))
    }
}

/// Resizes a reused [N,C,H,W] input to batch `n` (only when it changes).
fn ensure_batch(t: &mut Array4<f32>, n: usize) {
    let (b, c, h, w) = t.dim();
    if b != n {
        *t = Array4::zeros((n, c, h, w));
    }
}

/// Runs a batch (one image, or an image and its mirror) and returns the mean `probabilities`
/// row, checked to have `n` classes.
fn run_probs(
    session: &mut Session,
    model: &'static str,
    input: &'static str,
    tensor: &Array4<f32>,
    n: usize,
) -> Result<Vec<f32>> {
    let batch = tensor.dim().0;
    let outputs = session
        .run(ort::inputs![input => TensorRef::from_array_view(tensor).map_err(Error::inference(model))?])
        .map_err(Error::inference(model))?;
    let (_, data) = outputs["probabilities"]
        .try_extract_tensor::<f32>()
        .map_err(Error::inference(model))?;
    if data.len() != n * batch {
        return Err(Error::Inference {
            model,
            source: ort::Error::new(format!(
                "expected {batch}×{n} probabilities, got {}",
                data.len()
            )),
        });
    }
    let mut mean = vec![0.0; n];
    for row in data.chunks(n) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, p)| *m += p / batch as f32);
    }
    Ok(mean)
}

/// The image → chip transform for a `size`-pixel chip warped at `SUPERSAMPLE`× its size.
/// A chip pixel averages the block of `SUPERSAMPLE`² warped pixels whose centres lie around
/// `SUPERSAMPLE·u + (SUPERSAMPLE − 1)/2`, so the template is placed there: the landmarks then
/// land exactly where a direct warp at `size` would put them.
///
/// `mirrored` gives the transform whose warp, flipped left-right, is the chip of the mirror
/// image (the image's left eye goes where the template's right eye is, and so on), so the
/// mirrored chip costs one more warp of the face and no copy of the photo.
fn chip_transform(landmarks: &[[f32; 2]; 5], size: u32, mirrored: bool) -> Similarity {
    let big = (size * SUPERSAMPLE) as f32;
    let offset = (SUPERSAMPLE - 1) as f32 / 2.0;
    let dst: [[f32; 2]; 5] = std::array::from_fn(|i| {
        if mirrored {
            // Swap left/right partners (eyes 0↔1, mouth corners 3↔4), reflect x.
            let [x, y] = CHIP_TEMPLATE[[1, 0, 2, 4, 3][i]];
            [big - 1.0 - (x * big + offset), y * big + offset]
        } else {
            let [x, y] = CHIP_TEMPLATE[i];
            [x * big + offset, y * big + offset]
        }
    });
    Similarity::estimate(landmarks, &dst)
}

/// Box-averages a `SUPERSAMPLE`× warp into `size`×`size` per-channel means (0..255), reading it
/// flipped left-right when `flip`.
fn box_down(big: &RgbImage, size: u32, flip: bool, mut put: impl FnMut(usize, u32, u32, f32)) {
    let k = SUPERSAMPLE;
    let norm = 1.0 / (k * k) as f32;
    let last = size * k - 1;
    for cy in 0..size {
        for cx in 0..size {
            let mut sum = [0u32; 3];
            for y in cy * k..(cy + 1) * k {
                for x in cx * k..(cx + 1) * k {
                    let p = big.get_pixel(if flip { last - x } else { x }, y);
                    for c in 0..3 {
                        sum[c] += p[c] as u32;
                    }
                }
            }
            for (c, s) in sum.iter().enumerate() {
                put(c, cx, cy, *s as f32 * norm);
            }
        }
    }
}

/// Writes the normalised chip (and its mirror, as the second batch item, when `mirror`) into a
/// [N,3,size,size] tensor.
fn fill_chips(
    img: &RgbImage,
    landmarks: &[[f32; 2]; 5],
    size: u32,
    mirror: bool,
    out: &mut Array4<f32>,
) {
    ensure_batch(out, if mirror { 2 } else { 1 });
    for (b, mirrored) in [false, true].into_iter().take(out.dim().0).enumerate() {
        let big = warp(
            img,
            &chip_transform(landmarks, size, mirrored),
            size * SUPERSAMPLE,
        );
        box_down(&big, size, mirrored, |c, x, y, v| {
            out[[b, c, y as usize, x as usize]] = (v - CHIP_MEAN[c]) / 256.0;
        });
    }
}

/// The age/gender chip as an image (`size` 64 for age, 32 for gender), for inspection and
/// tests; the models get the unrounded averages. `mirrored`: the chip of the mirror image.
pub fn age_gender_chip(
    img: &RgbImage,
    landmarks: &[[f32; 2]; 5],
    size: u32,
    mirrored: bool,
) -> RgbImage {
    let big = warp(
        img,
        &chip_transform(landmarks, size, mirrored),
        size * SUPERSAMPLE,
    );
    let mut chip = RgbImage::new(size, size);
    box_down(&big, size, mirrored, |c, x, y, v| {
        chip.get_pixel_mut(x, y)[c] = v.round() as u8;
    });
    chip
}

/// fer's emotion crop: the face box made square about its centre (longer side kept), widened by
/// [`EMOTION_MARGIN`] px on every side, in grey (ITU-R BT.601 luma, as OpenCV's `COLOR_*2GRAY`);
/// parts outside the image are black, as fer's zero padding makes them.
pub fn emotion_crop(img: &RgbImage, bbox: &BBox) -> GrayImage {
    let side = (bbox.w.max(bbox.h) + 2.0 * EMOTION_MARGIN).round().max(1.0);
    let x0 = (bbox.x + bbox.w / 2.0 - side / 2.0).round() as i64;
    let y0 = (bbox.y + bbox.h / 2.0 - side / 2.0).round() as i64;
    let side = side as u32;
    let (w, h) = (img.width() as i64, img.height() as i64);
    GrayImage::from_fn(side, side, |x, y| {
        let (sx, sy) = (x0 + x as i64, y0 + y as i64);
        if (0..w).contains(&sx) && (0..h).contains(&sy) {
            Luma([luma(img.get_pixel(sx as u32, sy as u32))])
        } else {
            Luma([0])
        }
    })
}

/// BT.601 luma, rounded, as OpenCV computes grey (not `image`'s Rec.709 weights).
pub fn luma(p: &Rgb<u8>) -> u8 {
    ((299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32 + 500) / 1000) as u8
}

/// Smooths attributes over frames per tracked face (exponential moving average), so on-screen
/// labels do not flicker from frame to frame. Keys are whatever the caller uses to follow a face
/// across frames (a track id, a person's name).
#[derive(Debug, Clone)]
pub struct Smoother<K> {
    alpha: f32,
    state: HashMap<K, Attributes>,
}

impl<K: Hash + Eq> Smoother<K> {
    /// `alpha` in (0, 1] is the weight of each new frame: 1 disables smoothing, 0.2 settles in
    /// roughly ten frames. Values outside are clamped.
    pub fn new(alpha: f32) -> Smoother<K> {
        Smoother {
            alpha: if alpha.is_finite() {
                alpha.clamp(1e-3, 1.0)
            } else {
                1.0
            },
            state: HashMap::new(),
        }
    }

    /// Folds a new observation of `key` in and returns the smoothed value. The first observation
    /// is taken as is. Probabilities stay normalised: the average of distributions is one.
    pub fn update(&mut self, key: K, fresh: &Attributes) -> Attributes {
        let a = self.alpha;
        let mix = |old: f32, new: f32| old + a * (new - old);
        let smoothed = match self.state.get(&key) {
            None => *fresh,
            Some(old) => Attributes {
                age: mix(old.age, fresh.age),
                male: mix(old.male, fresh.male),
                emotions: EmotionProbs(std::array::from_fn(|i| {
                    mix(old.emotions.0[i], fresh.emotions.0[i])
                })),
            },
        };
        self.state.insert(key, smoothed);
        smoothed
    }

    /// The current smoothed value for `key`, if it has been seen.
    pub fn get(&self, key: &K) -> Option<&Attributes> {
        self.state.get(key)
    }

    /// Forgets a face (it left the frame), so a new face given the same key starts afresh.
    pub fn remove(&mut self, key: &K) -> Option<Attributes> {
        self.state.remove(key)
    }

    /// Keeps only the faces for which `keep` is true (e.g. those still tracked).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.state.retain(|k, _| keep(k));
    }

    pub fn clear(&mut self) {
        self.state.clear();
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

impl<K: Hash + Eq> Default for Smoother<K> {
    /// α = 0.3: a label settles within about half a second at 15 fps.
    fn default() -> Self {
        Smoother::new(0.3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(age: f32, male: f32, top: Emotion) -> Attributes {
        let mut p = [0.0; 7];
        p[top.index()] = 1.0;
        Attributes {
            age,
            male,
            emotions: EmotionProbs(p),
        }
    }

    #[test]
    fn age_weights_are_dlibs() {
        assert_eq!(AGE_WEIGHTS[0], 0.25);
        assert_eq!(AGE_WEIGHTS[1], 1.0);
        assert_eq!(AGE_WEIGHTS[80], 80.0);
    }

    #[test]
    fn smoother_starts_at_first_value_then_moves_by_alpha() {
        let mut s = Smoother::new(0.25);
        let first = s.update("a", &attrs(40.0, 1.0, Emotion::Happy));
        assert_eq!(first, attrs(40.0, 1.0, Emotion::Happy));
        let second = s.update("a", &attrs(20.0, 0.0, Emotion::Sad));
        assert!((second.age - 35.0).abs() < 1e-5);
        assert!((second.male - 0.75).abs() < 1e-5);
        assert!((second.emotions.get(Emotion::Happy) - 0.75).abs() < 1e-5);
        assert!((second.emotions.get(Emotion::Sad) - 0.25).abs() < 1e-5);
        let total: f32 = second.emotions.0.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert_eq!(second.emotion().0, Emotion::Happy);
        assert_eq!(s.get(&"a"), Some(&second));
    }

    #[test]
    fn smoother_keeps_keys_apart_and_forgets_on_request() {
        let mut s = Smoother::default();
        s.update(1u64, &attrs(30.0, 1.0, Emotion::Neutral));
        s.update(2u64, &attrs(60.0, 0.0, Emotion::Angry));
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&2).unwrap().age, 60.0);
        s.retain(|k| *k == 1);
        assert!(s.get(&2).is_none());
        // A new face under a forgotten key starts from its own first value.
        let fresh = s.update(2u64, &attrs(10.0, 0.0, Emotion::Fear));
        assert_eq!(fresh.age, 10.0);
        s.remove(&1);
        assert_eq!(s.len(), 1);
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn smoother_converges_and_alpha_one_disables_it() {
        let mut s = Smoother::new(0.3);
        s.update((), &attrs(20.0, 0.0, Emotion::Sad));
        let mut last = attrs(0.0, 0.0, Emotion::Sad);
        for _ in 0..30 {
            last = s.update((), &attrs(50.0, 1.0, Emotion::Happy));
        }
        assert!((last.age - 50.0).abs() < 0.01, "{}", last.age);
        assert_eq!(last.gender(), Gender::Male);
        let mut raw = Smoother::new(1.0);
        raw.update((), &attrs(20.0, 0.0, Emotion::Sad));
        assert_eq!(raw.update((), &attrs(50.0, 1.0, Emotion::Happy)).age, 50.0);
        // Nonsense alpha falls back to no smoothing rather than freezing or diverging.
        assert_eq!(Smoother::<()>::new(f32::NAN).alpha, 1.0);
    }

    #[test]
    fn emotion_labels_round_trip_and_top_picks_the_largest() {
        for e in Emotion::ALL {
            assert_eq!(Emotion::from_label(e.label()), Some(e));
            assert_eq!(Emotion::ALL[e.index()], e);
        }
        assert_eq!(Emotion::from_label(" Happy "), Some(Emotion::Happy));
        assert_eq!(Emotion::from_label("contempt"), None);
        let p = EmotionProbs([0.1, 0.0, 0.05, 0.2, 0.05, 0.5, 0.1]);
        assert_eq!(p.top(), (Emotion::Surprise, 0.5));
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["surprise"], serde_json::json!(0.5f32));
    }

    #[test]
    fn chip_puts_landmarks_on_the_template() {
        // Landmarks on a synthetic image: dots of distinct colours where the five points are.
        let lm = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let t = chip_transform(&lm, 64, false);
        // The fitted points land within a pixel of the template at the 4× scale (the landmarks
        // above are not exactly a similarity image of the template, so not closer).
        for (p, q) in lm.iter().zip(CHIP_TEMPLATE) {
            let [x, y] = t.apply(*p);
            let (ex, ey) = (q[0] * 256.0 + 1.5, q[1] * 256.0 + 1.5);
            assert!(
                (x - ex).abs() < 8.0 && (y - ey).abs() < 8.0,
                "{x},{y} vs {ex},{ey}"
            );
        }
        // A uniform image gives a uniform chip inside and black outside the source.
        let img = RgbImage::from_pixel(200, 200, Rgb([200, 100, 50]));
        let chip = age_gender_chip(&img, &lm, 32, false);
        assert_eq!(chip.dimensions(), (32, 32));
        assert_eq!(chip.get_pixel(16, 16), &Rgb([200, 100, 50]));
    }

    #[test]
    fn mirrored_chip_is_the_chip_of_the_mirrored_image() {
        let (w, h) = (160u32, 180u32);
        let img = RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x * y) % 251) as u8,
            ])
        });
        let flipped = imageops::flip_horizontal(&img);
        let lm = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let m = |p: [f32; 2]| [(w - 1) as f32 - p[0], p[1]];
        let lm_flipped = [m(lm[1]), m(lm[0]), m(lm[2]), m(lm[4]), m(lm[3])];
        for size in [GENDER_CHIP, AGE_CHIP] {
            let a = age_gender_chip(&img, &lm, size, true);
            let b = age_gender_chip(&flipped, &lm_flipped, size, false);
            let worst = a
                .pixels()
                .zip(b.pixels())
                .flat_map(|(p, q)| (0..3).map(move |c| (p[c] as i32 - q[c] as i32).abs()))
                .max()
                .unwrap();
            assert!(worst <= 1, "size {size}: max difference {worst}");
        }
    }

    #[test]
    fn emotion_crop_is_square_padded_grey() {
        let img = RgbImage::from_pixel(100, 100, Rgb([255, 255, 255]));
        let crop = emotion_crop(
            &img,
            &BBox {
                x: 30.0,
                y: 20.0,
                w: 30.0,
                h: 40.0,
            },
        );
        assert_eq!(crop.dimensions(), (60, 60));
        assert_eq!(crop.get_pixel(30, 30)[0], 255);
        // A box at the corner reaches outside the image: that part is black.
        let corner = emotion_crop(
            &img,
            &BBox {
                x: 0.0,
                y: 0.0,
                w: 20.0,
                h: 20.0,
            },
        );
        assert_eq!(corner.dimensions(), (40, 40));
        assert_eq!(corner.get_pixel(0, 0)[0], 0);
        assert_eq!(corner.get_pixel(39, 39)[0], 255);
        assert_eq!(luma(&Rgb([255, 0, 0])), 76);
        assert_eq!(luma(&Rgb([0, 255, 0])), 150);
    }
}
