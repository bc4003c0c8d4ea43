//! `facegate represent IMG...`: every face's box, landmarks and embedding (deepface's
//! `represent`), for people who build on FaceGate. The embedding is the one verification uses:
//! the saved model (or `--model`) and the saved preprocessing, L2-normalised, so the cosine of
//! two of them is the similarity `compare` prints.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::pipeline::{FacePipeline, PipelineOptions};
use crate::shown::Shown;
use crate::vision::{BBox, EmbedderKind};

#[derive(Debug, Args)]
pub struct RepresentArgs {
    /// Images to embed
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Embedding model [default: the saved one]
    #[arg(long, value_enum)]
    pub model: Option<EmbedderKind>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct FaceOut {
    #[serde(rename = "box")]
    bbox: BBox,
    /// Left eye, right eye (as seen in the image), nose tip, left and right mouth corners.
    landmarks: [[f32; 2]; 5],
    score: f32,
    embedding: Vec<f32>,
}

#[derive(Serialize)]
struct ImageOut {
    #[serde(serialize_with = "super::lossy_path")]
    path: PathBuf,
    model: EmbedderKind,
    dim: usize,
    faces: Vec<FaceOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(cli: &Cli, args: &RepresentArgs) -> anyhow::Result<u8> {
    let settings = cli.store()?.settings();
    let model = args.model.unwrap_or(settings.model);
    if let Some(notice) = model.licence_notice() {
        eprintln!("{notice}");
    }
    let mut pipeline = FacePipeline::new(
        &cli.models()?,
        PipelineOptions {
            embedder: model,
            preprocess: settings.preprocess,
            ..PipelineOptions::default()
        },
    )?;
    let mut out = Vec::new();
    for path in &args.images {
        let result = represent_one(&mut pipeline, path);
        let image = match result {
            Ok(faces) => ImageOut {
                path: path.clone(),
                model,
                dim: model.dim(),
                faces,
                error: None,
            },
            Err(e) => ImageOut {
                path: path.clone(),
                model,
                dim: model.dim(),
                faces: Vec::new(),
                error: Some(crate::shown::Reason(&e).to_string()),
            },
        };
        if !args.json {
            print_text(&image);
        }
        out.push(image);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if out.iter().any(|i| i.error.is_some()) {
        exit::ERROR
    } else if out.iter().any(|i| i.faces.is_empty()) {
        exit::NO_FACE
    } else {
        exit::OK
    })
}

fn represent_one(pipeline: &mut FacePipeline, path: &Path) -> crate::Result<Vec<FaceOut>> {
    let img = crate::imageio::load(path)?;
    let faces = pipeline.detect(&img)?;
    let mut out = Vec::with_capacity(faces.len());
    for face in faces {
        let embedding = pipeline.embed(&img, &face)?;
        out.push(FaceOut {
            bbox: face.bbox,
            landmarks: face.landmarks,
            score: face.score,
            embedding: embedding.0,
        });
    }
    Ok(out)
}

fn print_text(image: &ImageOut) {
    if let Some(e) = &image.error {
        eprintln!("{}: error: {e}", Shown(&image.path));
        return;
    }
    if image.faces.is_empty() {
        println!("{}: no face found", Shown(&image.path));
        return;
    }
    println!(
        "{}: {} ({}, {}-d)",
        Shown(&image.path),
        crate::shown::counted(image.faces.len(), "face", "faces"),
        image.model,
        image.dim
    );
    for (n, f) in image.faces.iter().enumerate() {
        let points: Vec<String> = f
            .landmarks
            .iter()
            .map(|[x, y]| format!("{x:.0},{y:.0}"))
            .collect();
        println!(
            "  face {}: box {:.0},{:.0} {:.0}×{:.0}, score {:.2}, landmarks {}",
            n + 1,
            f.bbox.x,
            f.bbox.y,
            f.bbox.w,
            f.bbox.h,
            f.score,
            points.join(" ")
        );
        let values: Vec<String> = f.embedding.iter().map(|v| format!("{v:.6}")).collect();
        println!("  embedding {}", values.join(" "));
    }
}
