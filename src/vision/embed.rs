//! Face embedders: an aligned 112×112 crop in, an L2-normalised identity vector out.

use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::align::AlignedFace;
use crate::runtime::Models;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EmbedderKind {
    /// OpenCV Zoo SFace, 128-d, Apache-2.0. The default.
    Sface,
    /// InsightFace ArcFace w600k MobileFaceNet, 512-d. More accurate; non-commercial licence.
    Mbf,
}

impl EmbedderKind {
    pub fn model_id(self) -> &'static str {
        match self {
            EmbedderKind::Sface => "sface",
            EmbedderKind::Mbf => "mbf",
        }
    }

    /// How many values an embedding of this model has.
    pub fn dim(self) -> usize {
        match self {
            EmbedderKind::Sface => 128,
            EmbedderKind::Mbf => 512,
        }
    }

    /// Cosine similarity above which two faces are called the same person.
    /// SFace: OpenCV's published value. Mbf: chosen on deepface's labelled pairs (README).
    pub fn default_threshold(self) -> f32 {
        match self {
            EmbedderKind::Sface => 0.363,
            EmbedderKind::Mbf => 0.30,
        }
    }

    /// Shown whenever a model with licence strings attached is selected.
    pub fn licence_notice(self) -> Option<&'static str> {
        match self {
            EmbedderKind::Sface => None,
            EmbedderKind::Mbf => Some(
                "note: the w600k_mbf weights are InsightFace's, licensed for non-commercial research use only",
            ),
        }
    }

    fn input(self) -> (&'static str, fn(u8) -> f32) {
        match self {
            EmbedderKind::Sface => ("data", |v| v as f32),
            EmbedderKind::Mbf => ("input.1", |v| (v as f32 - 127.5) / 127.5),
        }
    }
}

impl std::fmt::Display for EmbedderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.model_id())
    }
}

/// An L2-normalised face embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    pub fn normalised(mut v: Vec<f32>) -> Embedding {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Embedding(v)
    }

    /// Cosine similarity in −1..1 (higher = more alike).
    /// Of two unit vectors from one model. Vectors of two models (128 and 512 values) never
    /// match: pairing their first 128 values would give a number that means nothing.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return -1.0;
        }
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

pub struct Embedder {
    kind: EmbedderKind,
    session: Session,
    input: Array4<f32>,
}

impl Embedder {
    pub fn new(models: &Models, kind: EmbedderKind) -> Result<Embedder> {
        Ok(Embedder {
            kind,
            session: models.session(kind.model_id())?,
            input: Array4::zeros((1, 3, 112, 112)),
        })
    }

    pub fn kind(&self) -> EmbedderKind {
        self.kind
    }

    pub fn embed(&mut self, face: &AlignedFace) -> Result<Embedding> {
        let model = self.kind.model_id();
        let (name, norm) = self.kind.input();
        fill_rgb_planes(&face.image, norm, &mut self.input);
        let outputs = self
            .session
            .run(ort::inputs![name => TensorRef::from_array_view(&self.input).map_err(Error::inference(model))?])
            .map_err(Error::inference(model))?;
        let (_, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(Error::inference(model))?;
        Ok(Embedding::normalised(data.to_vec()))
    }
}

/// Writes a 112×112 RGB crop into a [1,3,112,112] tensor, channel-planar, through `norm`.
fn fill_rgb_planes(img: &RgbImage, norm: fn(u8) -> f32, out: &mut Array4<f32>) {
    let plane = (img.width() * img.height()) as usize;
    let buf = out.as_slice_mut().expect("contiguous tensor");
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            buf[c * plane + i] = norm(px[c]);
        }
    }
}
