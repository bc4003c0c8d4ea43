use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_rect_mut};
use imageproc::rect::Rect;
use serde::Serialize;

use super::{Cli, exit};
use crate::imageio;
use crate::vision::{Detector, DetectorConfig, Face};

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to search
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Write the image with boxes and landmarks drawn: a file for one image, a folder for several
    #[arg(long, value_name = "OUT")]
    pub draw: Option<PathBuf>,
    /// Minimum face score, 0..1 [default: 0.7]
    #[arg(long)]
    pub min_score: Option<f32>,
}

#[derive(Serialize)]
struct Report {
    #[serde(serialize_with = "super::lossy_path")]
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    faces: Vec<Face>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(cli: &Cli, args: &DetectArgs) -> anyhow::Result<u8> {
    let models = cli.models()?;
    let mut config = DetectorConfig::default();
    if let Some(score) = args.min_score {
        config.score_threshold = score.clamp(0.0, 1.0);
    }
    let mut detector = Detector::new(&models, config)?;
    let mut reports = Vec::new();
    for path in &args.images {
        let report = match detect_one(&mut detector, path, args) {
            Ok((img, faces)) => Report {
                path: path.clone(),
                width: Some(img.width()),
                height: Some(img.height()),
                faces,
                error: None,
            },
            Err(err) => Report {
                path: path.clone(),
                width: None,
                height: None,
                faces: Vec::new(),
                error: Some(format!("{err:#}")),
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
    } else {
        exit::OK
    })
}

fn detect_one(
    detector: &mut Detector,
    path: &Path,
    args: &DetectArgs,
) -> anyhow::Result<(RgbImage, Vec<Face>)> {
    let img = imageio::load(path)?;
    let faces = detector.detect(&img)?;
    if let Some(out) = &args.draw {
        let target = if args.images.len() > 1 {
            std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            out.join(format!("{stem}_faces.png"))
        } else {
            out.clone()
        };
        draw_faces(&img, &faces)
            .save(&target)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok((img, faces))
}

fn print_text(r: &Report) {
    if let Some(err) = &r.error {
        println!("{}: error: {err}", r.path.display());
        return;
    }
    let n = r.faces.len();
    println!(
        "{}: {n} face{}",
        r.path.display(),
        if n == 1 { "" } else { "s" }
    );
    for (i, f) in r.faces.iter().enumerate() {
        let b = f.bbox;
        let lm: Vec<String> = f
            .landmarks
            .iter()
            .map(|[x, y]| format!("({x:.0},{y:.0})"))
            .collect();
        println!(
            "  #{} score {:.3}  box x={:.0} y={:.0} w={:.0} h={:.0}  landmarks {}",
            i + 1,
            f.score,
            b.x,
            b.y,
            b.w,
            b.h,
            lm.join(" ")
        );
    }
}

/// A copy of `img` with each face boxed and its landmarks dotted (eyes blue, nose green, mouth red).
pub fn draw_faces(img: &RgbImage, faces: &[Face]) -> RgbImage {
    let mut out = img.clone();
    let thickness = (img.width().max(img.height()) / 400).max(1) as i32;
    let colours = [
        [0, 128, 255],
        [0, 128, 255],
        [0, 200, 0],
        [255, 0, 0],
        [255, 0, 0],
    ];
    for f in faces {
        let b = f.bbox;
        for t in 0..thickness {
            let w = (b.w as i32 + 2 * t).max(1) as u32;
            let h = (b.h as i32 + 2 * t).max(1) as u32;
            let rect = Rect::at(b.x as i32 - t, b.y as i32 - t).of_size(w, h);
            draw_hollow_rect_mut(&mut out, rect, Rgb([255, 220, 0]));
        }
        for (p, c) in f.landmarks.iter().zip(colours) {
            draw_filled_circle_mut(&mut out, (p[0] as i32, p[1] as i32), thickness + 1, Rgb(c));
        }
    }
    out
}
