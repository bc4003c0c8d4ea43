//! `facegate bench`: per-stage timings on real images against the frame budget of issue 7, then a
//! timed run of the live session (capture thread + inference worker, as the GUI drives them).
//!
//! Part 1 times each stage in isolation (median and p95 after warm-up). Part 2 starts the same
//! [`Session`](crate::session::Session) the desktop app uses, on a paced replay, in continuous-verify mode, and reads
//! what the GUI would see: frames shown, frames analysed, and each frame's capture-to-result
//! latency (carried by [`Event::Analysis`](crate::session::Event::Analysis)).
//!
//! [`stages`] holds part 1, [`live`] part 2, [`table`] prints the report as Markdown.

mod live;
mod stages;
mod table;

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{Cli, checked, exit};
use live::Live;
use stages::Row;

/// The frame budget of issue 7 (2 cores, CPU only).
pub mod budget {
    pub const DETECT_640_MS: f64 = 8.0;
    pub const EMBED_MS: f64 = 20.0;
    /// Issue 16: both presentation-attack models on one face.
    pub const PAD_MS: f64 = 3.0;
    pub const VERIFY_FRAME_MS: f64 = 40.0;
    pub const PEAK_RSS_MB: f64 = 400.0;
    pub const VERDICT_LATENCY_MS: f64 = 150.0;
}

/// Verification images the per-frame verify compares against (the figure).
const GALLERY_SIZE: usize = 10;
/// Most timed runs per stage `--runs` takes.
const MAX_RUNS: usize = 100_000;
/// Longest live part `--live-seconds` takes (an hour).
const MAX_LIVE_SECONDS: i64 = 3600;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Timed runs per stage (after 5 warm-up runs), 1 to 100000
    #[arg(long, default_value_t = 100, value_parser = checked::count::<1, { MAX_RUNS }>)]
    pub runs: usize,
    /// Photo with one face to time on [default: the astronaut sample]
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Seconds to drive the live session (capture + inference worker), up to 3600; 0 skips that
    /// part
    #[arg(long, default_value_t = 10.0, value_parser = checked::number::<0, { MAX_LIVE_SECONDS }>)]
    pub live_seconds: f32,
    /// Video file or image folder for the live part [default: a talking-head clip from
    /// ../shared/data when present, else the demo feed]
    #[arg(long)]
    pub live_source: Option<PathBuf>,
}

#[derive(Serialize)]
struct Memory {
    /// VmHWM after part 1, with every model loaded (detectors, both embedders, attributes).
    peak_rss_mb_models: f64,
    /// VmHWM at the end (after the live part, which loads its own sessions).
    peak_rss_mb_end: f64,
    budget_mb: f64,
}

#[derive(Serialize, Default)]
struct Quantiles {
    median_ms: f64,
    p95_ms: f64,
    n: usize,
}

impl Quantiles {
    fn of(mut v: Vec<f64>) -> Quantiles {
        if v.is_empty() {
            return Quantiles::default();
        }
        v.sort_by(f64::total_cmp);
        let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Quantiles {
            median_ms: pick(0.5),
            p95_ms: pick(0.95),
            n: v.len(),
        }
    }
}

#[derive(Serialize)]
struct Report {
    machine: String,
    build: &'static str,
    /// ORT intra-op threads per session.
    threads: usize,
    /// OS threads of this process with the part-1 sessions loaded (ORT pools included).
    process_threads: usize,
    image: String,
    rows: Vec<Row>,
    memory: Memory,
    live: Option<Live>,
}

/// A field of /proc/self/status (Linux), e.g. "VmHWM" in kB or "Threads".
fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_mb() -> f64 {
    proc_status("VmHWM:").map_or(f64::NAN, |kb| kb as f64 / 1024.0)
}

pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<u8> {
    let path = args.image.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/astronaut.png")
    });
    // Through the checked reader, before any model loads: a folder, device, pipe or huge file
    // is refused with its path instead of being read without end.
    let bytes = crate::imageio::read(&path)?;
    let models = cli.models()?;
    // Opened once before the stages are timed: a mistyped recording was said only after all
    // of them had run (journey s37 #11).
    if let Some(clip) = &args.live_source
        && args.live_seconds > 0.0
    {
        drop(crate::camera::open(&crate::camera::SourceSpec::Replay(
            clip.clone(),
        ))?);
    }
    let runs = args.runs;
    if !args.json {
        eprintln!(
            "timing each stage ({})...",
            crate::shown::counted(runs, "run", "runs")
        );
    }
    let (rows, process_threads) = stages::run(&models, &path, &bytes, runs)?;
    let peak_rss_mb_models = peak_rss_mb();

    let live = if args.live_seconds > 0.0 {
        if !args.json {
            eprintln!("driving the live session for {} s...", args.live_seconds);
        }
        Some(live::run(&models, &path, args)?)
    } else {
        None
    };

    let report = Report {
        machine: machine(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        threads: models.intra_threads,
        process_threads,
        image: path.display().to_string(),
        rows,
        memory: Memory {
            peak_rss_mb_models,
            peak_rss_mb_end: peak_rss_mb(),
            budget_mb: budget::PEAK_RSS_MB,
        },
        live,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        table::print(&report, runs);
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
