//! Emotion: one of two networks over the seven FER2013 classes ([`EmotionNet`]), fed a grey,
//! square crop around the face box, framed as FER2013's images are.

use fast_image_resize::PixelType;
use image::{GrayImage, Luma, Rgb, RgbImage};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use ndarray::Array4;
use ort::session::Session;

use super::{AttributeModel, Read, ensure_batch};
use crate::runtime::Models;
use crate::vision::BBox;
use crate::{Error, Result};

/// mini-Xception's input side (fer enlarges FER's 48 px faces to it).
pub const EMOTION_INPUT: u32 = 64;
/// fer widens the (squared) face box by this many pixels on each side before resizing.
pub const EMOTION_MARGIN: f32 = 10.0;

/// The network that reads the seven emotions. Both take the same crop ([`emotion_crop`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum EmotionNet {
    /// fer's mini-Xception, MIT: the permissive choice.
    MiniXception,
    /// FaceGate's own (`training/emotion_fer.py`), trained on FER2013's Training faces, whose
    /// terms of use are unclear: research use. Two networks averaged. The default: 68.1 % on
    /// PublicTest against 59.4 %.
    // (The two: `model_ids`. Not a link in the text above, which `--help` shows as it is.)
    #[default]
    Trained,
}

impl EmotionNet {
    /// Its name for people.
    pub fn describe(self) -> &'static str {
        match self {
            EmotionNet::MiniXception => "fer's mini-Xception",
            EmotionNet::Trained => "FaceGate's own network (training/emotion_fer.py)",
        }
    }

    /// The model files it reads, whose probabilities are averaged. Ours is two 1.5x-wide
    /// networks, each under models/trained/'s 5 MB (together they would not be): one trained on
    /// the labels, and one that reads only the centred 40 px, distilled from the pair the app
    /// ran before. That pair (`emotion_fer_kd` second) read 0.4 points more (68.5 %) but cost
    /// 0.4 ms more a face, which put attributes over issue 18's 3 ms (training/README.md).
    pub fn model_ids(self) -> &'static [&'static str] {
        match self {
            EmotionNet::MiniXception => &["emotion"],
            EmotionNet::Trained => &["emotion_fer", "emotion_fer_40"],
        }
    }

    /// Whether the face's mirror image is read too (when [`AttributeModel::mirror`] is on).
    /// Not for ours: its two networks already average two opinions, and the mirror would add 0.2
    /// points on PublicTest (68.32 against 68.10 %, ONNX Runtime from Python) for about 1 ms more
    /// a face, past issue 18's budget.
    pub fn mirrored(self) -> bool {
        match self {
            EmotionNet::MiniXception => true,
            EmotionNet::Trained => false,
        }
    }

    /// The side a FER2013-framed crop is resized to: fer's 64 px for mini-Xception, FER2013's own
    /// 48 px for ours (so a FER2013 face is read as it is). A network may read only the centred
    /// window of it ([`EmotionMember`]).
    pub fn frame_side(self) -> u32 {
        match self {
            EmotionNet::MiniXception => EMOTION_INPUT,
            EmotionNet::Trained => 48,
        }
    }

    pub(super) fn input_name(self) -> &'static str {
        match self {
            EmotionNet::MiniXception => "input",
            EmotionNet::Trained => "images",
        }
    }

    /// A grey level as the network was trained on it: mini-Xception -1..1; ours takes 0..255
    /// and normalises inside the graph, so the export cannot drift from the training code.
    fn level(self, v: u8) -> f32 {
        match self {
            EmotionNet::MiniXception => (v as f32 / 255.0 - 0.5) * 2.0,
            EmotionNet::Trained => v as f32,
        }
    }
}

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

impl AttributeModel {
    /// Emotion probabilities for the face in `bbox`, cropped with fer's recipe ([`emotion_crop`]).
    pub fn emotion(&mut self, img: &RgbImage, bbox: &BBox) -> Result<EmotionProbs> {
        self.emotion_of_crop(&emotion_crop(img, bbox))
    }

    /// Emotion probabilities for a grey image that is already framed like a FER2013 face (a
    /// FER2013 image itself, or [`emotion_crop`]'s output); resized here to the network's input.
    pub fn emotion_of_crop(&mut self, crop: &GrayImage) -> Result<EmotionProbs> {
        self.prepare_emotion(crop)?;
        let read = self.read(Read {
            age_gender: false,
            emotion: true,
        })?;
        Ok(read.emotions.expect("asked for emotion"))
    }

    /// Fills the emotion input from a FER2013-framed grey crop: resized to the network's frame,
    /// of which it reads the centred window.
    pub(super) fn prepare_emotion(&mut self, crop: &GrayImage) -> Result<()> {
        let net = self.nets.emotion;
        let frame = net.frame_side();
        let pixels = if crop.dimensions() == (frame, frame) {
            crop.as_raw()
        } else {
            // Bilinear when enlarging (how fer turns 48 px FER faces into 64 px), averaging when
            // shrinking, so a large face is not aliased into noise.
            self.downscaler.resize(
                crop.as_raw(),
                crop.dimensions(),
                PixelType::U8,
                (frame, frame),
                net.model_ids()[0],
            )?
        };
        let mirror = self.mirror && net.mirrored();
        for member in &mut self.emotion {
            member.fill(pixels, frame as usize, mirror, |v| net.level(v));
        }
        Ok(())
    }
}

/// One network of [`EmotionNet::model_ids`] with its own input tensor. Its side is the one the
/// file declares: a network trained on the centred window of the frame (`training/emotion_fer.py
/// --side`) costs less, its time falling with the window's area, so a pair may mix sides.
pub(super) struct EmotionMember {
    pub(super) id: &'static str,
    pub(super) session: Session,
    pub(super) input: Array4<f32>,
}

impl EmotionMember {
    pub(super) fn load(
        models: &Models,
        net: EmotionNet,
        id: &'static str,
        threads: usize,
    ) -> Result<EmotionMember> {
        let session = models.session_with_threads(id, threads)?;
        let shape = session
            .inputs()
            .iter()
            .find(|i| i.name() == net.input_name())
            .and_then(|i| i.dtype().tensor_shape())
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let side =
            window_side(&shape, net.frame_side() as usize).ok_or_else(|| Error::Inference {
                model: id,
                source: ort::Error::new(format!(
                    "its input {shape:?} is not one grey square window of the {} px frame",
                    net.frame_side()
                )),
            })?;
        Ok(EmotionMember {
            id,
            session,
            input: Array4::zeros((1, 1, side, side)),
        })
    }

    /// Its input from the grey `frame` × `frame` pixels: the centred window, levelled, then its
    /// mirror when `mirror`.
    fn fill(&mut self, pixels: &[u8], frame: usize, mirror: bool, level: impl Fn(u8) -> f32) {
        let side = self.input.shape()[3];
        ensure_batch(&mut self.input, if mirror { 2 } else { 1 });
        let buf = self.input.as_slice_mut().expect("contiguous tensor");
        for (b, &v) in buf.iter_mut().zip(centred_window(pixels, frame, side)) {
            *b = level(v);
        }
        if mirror {
            let (plane, mirrored) = buf.split_at_mut(side * side);
            for (row, out) in plane.chunks(side).zip(mirrored.chunks_mut(side)) {
                out.iter_mut()
                    .zip(row.iter().rev())
                    .for_each(|(o, v)| *o = *v);
            }
        }
    }
}

/// The side of the centred window a network with input `shape` ([batch, 1, side, side]) reads
/// from a `frame`-wide frame, or `None` when no such window exists: not one grey square, larger
/// than the frame, or off the centre by half a pixel.
fn window_side(shape: &[i64], frame: usize) -> Option<usize> {
    let &[_, 1, h, w] = shape else {
        return None;
    };
    let side = usize::try_from(h).ok().filter(|&s| s > 0)?;
    (h == w && side <= frame && (frame - side).is_multiple_of(2)).then_some(side)
}

/// The centred `side` × `side` window of a square `frame` × `frame` grey image, row by row.
fn centred_window(pixels: &[u8], frame: usize, side: usize) -> impl Iterator<Item = &u8> {
    let margin = (frame - side) / 2;
    pixels
        .chunks_exact(frame)
        .skip(margin)
        .take(side)
        .flat_map(move |row| &row[margin..margin + side])
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_window_is_the_centre_of_the_frame() {
        let frame: Vec<u8> = (0..36).collect();
        let window: Vec<u8> = centred_window(&frame, 6, 4).copied().collect();
        assert_eq!(
            window,
            [7, 8, 9, 10, 13, 14, 15, 16, 19, 20, 21, 22, 25, 26, 27, 28]
        );
        assert!(centred_window(&frame, 6, 6).eq(frame.iter()));
    }

    #[test]
    fn a_network_reads_a_centred_grey_square_the_frame_holds() {
        assert_eq!(window_side(&[-1, 1, 48, 48], 48), Some(48));
        assert_eq!(window_side(&[-1, 1, 40, 40], 48), Some(40));
        assert_eq!(window_side(&[1, 1, 64, 64], 64), Some(64));
        for refused in [
            &[-1, 1, 41, 41][..], // half a pixel off the centre
            &[-1, 1, 56, 56],     // larger than the frame
            &[-1, 3, 40, 40],     // colour
            &[-1, 1, 40, 44],     // not square
            &[-1, 1, -1, -1],     // any size: the window would be a guess
            &[-1, 1, 48],
        ] {
            assert_eq!(window_side(refused, 48), None, "{refused:?}");
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
