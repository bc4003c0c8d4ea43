use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::Error;
use crate::pipeline::{FacePipeline, PipelineOptions};
use crate::vision::{EmbedderKind, Face};

#[derive(Debug, Args)]
pub struct CompareArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    /// Embedding model
    #[arg(long, value_enum, default_value_t = EmbedderKind::Sface)]
    pub model: EmbedderKind,
    /// Cosine similarity above which it is the same person [default: the model's]
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

impl CompareArgs {
    pub fn new(a: PathBuf, b: PathBuf) -> CompareArgs {
        CompareArgs {
            a,
            b,
            model: EmbedderKind::Sface,
            threshold: None,
            json: false,
        }
    }
}

#[derive(Serialize)]
struct Side<'a> {
    path: &'a PathBuf,
    face: &'a Face,
    faces_in_image: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    a: Side<'a>,
    b: Side<'a>,
    model: EmbedderKind,
    similarity: f32,
    threshold: f32,
    same_person: bool,
}

pub fn run(cli: &Cli, args: &CompareArgs) -> anyhow::Result<u8> {
    if let Some(notice) = args.model.licence_notice() {
        eprintln!("{notice}");
    }
    let models = cli.models()?;
    let options = PipelineOptions {
        embedder: args.model,
        ..PipelineOptions::default()
    };
    let mut pipeline = FacePipeline::new(&models, options)?;
    let probe = |pipeline: &mut FacePipeline, path: &PathBuf| match pipeline.probe_file(path) {
        Ok(p) => Ok(Ok(p)),
        Err(Error::NoFace(path)) => Ok(Err(path)),
        Err(e) => Err(e),
    };
    let (a, b) = match (
        probe(&mut pipeline, &args.a)?,
        probe(&mut pipeline, &args.b)?,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(path), _) | (_, Err(path)) => {
            eprintln!("no face found in {}", path.display());
            return Ok(exit::NO_FACE);
        }
    };
    for (path, p) in [(&args.a, &a), (&args.b, &b)] {
        if p.faces_in_image > 1 {
            eprintln!(
                "{} has {} faces; comparing the largest",
                path.display(),
                p.faces_in_image
            );
        }
    }
    let threshold = args.threshold.unwrap_or(args.model.default_threshold());
    let similarity = a.embedding.cosine(&b.embedding);
    let same = similarity > threshold;
    if args.json {
        let report = Report {
            a: Side {
                path: &args.a,
                face: &a.face,
                faces_in_image: a.faces_in_image,
            },
            b: Side {
                path: &args.b,
                face: &b.face,
                faces_in_image: b.faces_in_image,
            },
            model: args.model,
            similarity,
            threshold,
            same_person: same,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let verdict = if same {
            "same person"
        } else {
            "different people"
        };
        println!(
            "similarity {similarity:.3} ({}, threshold {threshold:.3}): {verdict}",
            args.model
        );
    }
    Ok(if same { exit::OK } else { exit::DIFFERENT })
}
