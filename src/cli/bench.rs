//! `facegate bench`: per-stage timings on real images, median and p95, for the README.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use image::{RgbImage, imageops};
use serde::Serialize;

use super::{Cli, exit};
use crate::imageio;
use crate::vision::{Detector, DetectorConfig, Embedder, EmbedderKind, align_arcface};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Timed runs per stage (after 5 warm-up runs)
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Photo with one face to time on [default: the astronaut sample]
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    stage: String,
    median_ms: f64,
    p95_ms: f64,
    runs: usize,
}

#[derive(Serialize)]
struct Report {
    machine: String,
    build: &'static str,
    threads: usize,
    rows: Vec<Row>,
}

fn time<F: FnMut()>(stage: impl Into<String>, runs: usize, mut f: F) -> Row {
    for _ in 0..5 {
        f();
    }
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Row {
        stage: stage.into(),
        median_ms: pick(0.5),
        p95_ms: pick(0.95),
        runs,
    }
}

/// The photo placed on a webcam-sized canvas (letterboxed, like a frame from a desk camera).
fn frame(photo: &RgbImage, w: u32, h: u32) -> RgbImage {
    let s = (w as f32 / photo.width() as f32).min(h as f32 / photo.height() as f32);
    let scaled = imageops::resize(
        photo,
        (photo.width() as f32 * s) as u32,
        (photo.height() as f32 * s) as u32,
        imageops::FilterType::Triangle,
    );
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([40, 40, 40]));
    imageops::overlay(
        &mut canvas,
        &scaled,
        ((w - scaled.width()) / 2).into(),
        ((h - scaled.height()) / 2).into(),
    );
    canvas
}

pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<u8> {
    let models = cli.models()?;
    let path = args.image.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/astronaut.png")
    });
    let bytes = std::fs::read(&path)?;
    let photo = imageio::decode(&bytes, &path)?;
    let runs = args.runs.max(1);
    let mut rows = vec![time(
        format!(
            "decode {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
        runs,
        || {
            imageio::decode(&bytes, &path).expect("decoded once already");
        },
    )];

    let frame_640 = frame(&photo, 640, 480);
    let frame_320 = frame(&photo, 320, 240);
    let mut full = Detector::new(&models, DetectorConfig::default())?;
    let mut small = Detector::new(
        &models,
        DetectorConfig {
            max_side: 320,
            ..DetectorConfig::default()
        },
    )?;
    rows.push(time("detect 640×480 (full size)", runs, || {
        full.detect(&frame_640).expect("detect");
    }));
    rows.push(time("detect 640×480 (on a 320×240 copy)", runs, || {
        small.detect(&frame_640).expect("detect");
    }));
    rows.push(time("detect 320×240", runs, || {
        small.detect(&frame_320).expect("detect");
    }));
    let face = full
        .detect(&frame_640)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no face in {}", path.display()))?;
    rows.push(time("align to 112×112", runs, || {
        align_arcface(&frame_640, &face);
    }));
    let aligned = align_arcface(&frame_640, &face);
    for kind in [EmbedderKind::Sface, EmbedderKind::Mbf] {
        let mut embedder = Embedder::new(&models, kind)?;
        rows.push(time(format!("embed one face ({kind})"), runs, || {
            embedder.embed(&aligned).expect("embed");
        }));
    }

    let report = Report {
        machine: machine(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        threads: models.intra_threads,
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}, {} build, {} ORT threads, {runs} runs per stage",
            report.machine, report.build, report.threads
        );
        println!("| stage | median ms | p95 ms |\n|---|---:|---:|");
        for r in &report.rows {
            println!("| {} | {:.2} | {:.2} |", r.stage, r.median_ms, r.p95_ms);
        }
    }
    Ok(exit::OK)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}
