//! The detect → align → embed chain behind every command and the GUI worker.

use std::path::Path;

use image::RgbImage;

use crate::runtime::Models;
use crate::vision::{
    AlignedFace, Detector, DetectorConfig, Embedder, EmbedderKind, Embedding, Face, Preprocess,
    align_arcface,
};
use crate::{Error, Result, imageio};

#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    pub detector: DetectorConfig,
    pub embedder: EmbedderKind,
    pub preprocess: Preprocess,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            detector: DetectorConfig::default(),
            embedder: EmbedderKind::Sface,
            preprocess: Preprocess::None,
        }
    }
}

/// The face of a photo that FaceGate compares: detected, embedded, and how many others there were.
#[derive(Debug, Clone)]
pub struct ProbeFace {
    pub face: Face,
    pub embedding: Embedding,
    pub faces_in_image: usize,
}

pub struct FacePipeline {
    pub detector: Detector,
    pub embedder: Embedder,
    pub preprocess: Preprocess,
}

impl FacePipeline {
    /// Loads both sessions once; reuse the pipeline for every image.
    pub fn new(models: &Models, options: PipelineOptions) -> Result<FacePipeline> {
        Ok(FacePipeline {
            detector: Detector::new(models, options.detector)?,
            embedder: Embedder::new(models, options.embedder)?,
            preprocess: options.preprocess,
        })
    }

    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Face>> {
        self.detector.detect(img)
    }

    pub fn embed(&mut self, img: &RgbImage, face: &Face) -> Result<Embedding> {
        self.embed_aligned(align_arcface(img, face))
    }

    /// Embeds an aligned chip after the configured preprocessing.
    pub fn embed_aligned(&mut self, chip: AlignedFace) -> Result<Embedding> {
        self.embedder.embed(&self.preprocess.apply(chip))
    }

    /// Cache key of this pipeline's embeddings: the model and the preprocessing both change them.
    pub fn cache_id(&self) -> String {
        format!(
            "{}{}",
            self.embedder.kind().model_id(),
            self.preprocess.cache_suffix()
        )
    }

    /// Embeds the most prominent (largest) face of `img`: in a photo of a person, that is them.
    /// `name` labels the no-face error.
    pub fn probe(&mut self, img: &RgbImage, name: &Path) -> Result<ProbeFace> {
        let faces = self.detect(img)?;
        let face = Face::largest(&faces)
            .cloned()
            .ok_or_else(|| Error::NoFace(name.to_owned()))?;
        let embedding = self.embed(img, &face)?;
        Ok(ProbeFace {
            face,
            embedding,
            faces_in_image: faces.len(),
        })
    }

    /// [`probe`](Self::probe) on an image file.
    pub fn probe_file(&mut self, path: &Path) -> Result<ProbeFace> {
        let img = imageio::load(path)?;
        self.probe(&img, path)
    }
}
