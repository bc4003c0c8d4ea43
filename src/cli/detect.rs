use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_rect_mut};
use imageproc::rect::Rect;
use serde::Serialize;

use super::{Cli, exit};
use crate::imageio;
use crate::shown::Shown;
use crate::vision::{Detector, DetectorConfig, Face};

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to search
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Write the image with boxes and landmarks drawn: a file for one image (or into a folder that exists), a folder for several
    #[arg(long, value_name = "OUT")]
    pub draw: Option<PathBuf>,
    /// Minimum face score, 0..1 [default: 0.7]
    #[arg(long, value_parser = super::checked::unit)]
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
        config.score_threshold = score;
    }
    let drawings = match &args.draw {
        Some(out) => drawing_targets(&args.images, out)?,
        None => vec![None; args.images.len()],
    };
    let mut detector = Detector::new(&models, config)?;
    let mut reports = Vec::new();
    for (path, drawing) in args.images.iter().zip(drawings) {
        let report = match detect_one(&mut detector, path, drawing.as_deref()) {
            Ok(((width, height), faces)) => Report {
                path: path.clone(),
                width: Some(width),
                height: Some(height),
                faces,
                error: None,
            },
            Err(err) => Report {
                path: path.clone(),
                width: None,
                height: None,
                faces: Vec::new(),
                error: Some(crate::shown::Reason(err.as_ref()).to_string()),
            },
        };
        if !args.json {
            print_text(&report);
        }
        // Said where it went (it was found only by listing the folder; journey s35): on
        // stderr under --json, whose stdout is the report.
        if let (Some(to), None) = (&drawing, &report.error) {
            let line = format!("  drawn to {}", Shown(to));
            match args.json {
                true => eprintln!("{line}"),
                false => println!("{line}"),
            }
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

/// Where `--draw OUT` writes each image's drawing: OUT itself for one image, unless OUT is a
/// folder already (the one several were drawn into, say; journey s36 #6); otherwise
/// `STEM_faces.png` in the folder OUT (`STEM-2_faces.png`… when two inputs share a stem, so
/// none replaces another). Checked before any image is read: a drawing never goes over one
/// of the inputs (the photo would be lost) nor into a pipe or device (the write would block).
fn drawing_targets(images: &[PathBuf], out: &Path) -> anyhow::Result<Vec<Option<PathBuf>>> {
    let targets: Vec<PathBuf> = if images.len() == 1 && !out.is_dir() {
        vec![out.to_owned()]
    } else {
        // Said as what it is, not as mkdir's "File exists".
        anyhow::ensure!(
            !out.exists() || out.is_dir(),
            "--draw {}: several images are drawn into a folder, and this is a file",
            Shown(out)
        );
        // A new name ending as an image does is meant as a file: it was made a folder of that
        // name (journey s38 #6).
        let image_like = out
            .extension()
            .and_then(|e| e.to_str())
            .and_then(image::ImageFormat::from_extension)
            .is_some();
        anyhow::ensure!(
            out.is_dir() || !image_like,
            "--draw {}: several images are drawn into a folder, each as NAME_faces.png; give a \
             folder's name",
            Shown(out)
        );
        // Only the folder itself is made, as for one image: a mistyped parent made a tree.
        if !out.is_dir() {
            super::checked::folder_exists("--draw", out)?;
            std::fs::create_dir(out).with_context(|| format!("creating {}", Shown(out)))?;
        }
        // Each stem's next number, so many inputs sharing a stem cost no search.
        let mut seen: std::collections::HashMap<std::ffi::OsString, usize> = Default::default();
        let mut taken = std::collections::HashSet::new();
        images
            .iter()
            .map(|path| {
                // The stem's own bytes: made lossy, two names not UTF-8 drew to one file.
                let stem = path.file_stem().unwrap_or_default();
                let n = seen.entry(stem.to_owned()).or_insert(0);
                let name = loop {
                    *n += 1;
                    let mut name = stem.to_owned();
                    name.push(match *n {
                        1 => "_faces.png".to_owned(),
                        n => format!("-{n}_faces.png"),
                    });
                    // "a-2" given as a stem of its own may have taken the name already.
                    if taken.insert(name.clone()) {
                        break name;
                    }
                };
                out.join(name)
            })
            .collect()
    };
    let inputs = super::checked::Inputs::of(images.iter().map(PathBuf::as_path));
    for target in &targets {
        super::checked::output_image("--draw", target, &inputs)?;
    }
    Ok(targets.into_iter().map(Some).collect())
}

/// The image's size and its faces, drawn to `drawing` when asked: on the decoded picture
/// itself, which is not needed afterwards (a copy took a 12000² photo from 512 to 937 MB).
fn detect_one(
    detector: &mut Detector,
    path: &Path,
    drawing: Option<&Path>,
) -> anyhow::Result<((u32, u32), Vec<Face>)> {
    let mut img = imageio::load(path)?;
    let faces = detector.detect(&img)?;
    if let Some(target) = drawing {
        draw_faces(&mut img, &faces);
        super::checked::save_image(&img, target)?;
    }
    Ok((img.dimensions(), faces))
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

/// Boxes each face on `img` and dots its landmarks (eyes blue, nose green, mouth red).
pub fn draw_faces(out: &mut RgbImage, faces: &[Face]) {
    let thickness = (out.width().max(out.height()) / 400).max(1) as i32;
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
            draw_hollow_rect_mut(out, rect, Rgb([255, 220, 0]));
        }
        for (p, c) in f.landmarks.iter().zip(colours) {
            draw_filled_circle_mut(out, (p[0] as i32, p[1] as i32), thickness + 1, Rgb(c));
        }
    }
}
