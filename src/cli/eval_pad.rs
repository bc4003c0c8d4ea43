//! `facegate eval pad CSV`: the single-frame presentation-attack model (`liveness::pad`) on a
//! labelled manifest, reported as ISO/IEC 30107-3 does.
//!
//! The manifest has `path,label[,...]`, paths relative to the CSV's folder; `label` is
//! `bona_fide` (or `real`, `live`) or the name of the attack instrument (a `spoof` label takes
//! its species from an `attack_type` column when there is one). Each image's largest YuNet face
//! is scored; images where no face is found are listed and left out of the rates (a detector
//! that misses a presentation stops it anyway, but that is not this model's merit).
//!
//! BPCER is the share of bona fide faces scored below the threshold, APCER per species the share
//! of attacks scored at or above it, each with its exact two-sided 95 % Clopper–Pearson interval;
//! the headline is the worst species' APCER. `--box-scale`, `--shift-y` and `--threshold` are
//! the knobs the calibration in the README turned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::auth::quality;
use crate::liveness::pad::{ATTEMPT_THRESHOLD, BoxGeometry, FRAME_THRESHOLD, PadModel, PadScore};
use crate::vision::{Detector, DetectorConfig};

#[derive(Debug, Args)]
pub struct EvalPadArgs {
    /// Manifest CSV: path,label[,...] (label bona_fide or an attack name)
    pub csv: PathBuf,
    /// Live-score threshold: a face scoring below it is called an attack [default: report both the attempt's and the strict single-frame one]
    #[arg(long, value_parser = super::checked::unit)]
    pub threshold: Option<f32>,
    /// Scale of the YuNet box before the crop, 0.5 to 2 [default: the calibrated one]
    #[arg(long, value_parser = |s: &str| super::checked::within(s, 0.5, 2.0))]
    pub box_scale: Option<f32>,
    /// Downward shift of the YuNet box, in box heights, -0.5 to 0.5 [default: the calibrated one]
    #[arg(long, allow_negative_numbers = true, value_parser = |s: &str| super::checked::within(s, -0.5, 0.5))]
    pub shift_y: Option<f32>,
    #[arg(long)]
    pub json: bool,
}

const BONA_FIDE: &str = "bona_fide";

#[derive(Debug, Serialize)]
struct Row {
    path: String,
    species: String,
    score: Option<PadScore>,
}

/// Errors over presentations with the exact 95 % interval of the rate.
#[derive(Debug, Serialize)]
pub struct Rate {
    pub species: String,
    pub presentations: usize,
    pub errors: usize,
    pub rate: f64,
    pub lower95: f64,
    pub upper95: f64,
    /// The lowest (bona fide) or highest (attack) live score seen: where the threshold could go.
    pub extreme_score: f32,
}

/// The rates at one threshold.
#[derive(Debug, Serialize)]
pub struct OperatingPoint {
    pub threshold: f32,
    pub bpcer: Rate,
    pub apcer: Vec<Rate>,
    /// The headline: the worst species' APCER.
    pub apcer_max: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    geometry: BoxGeometry,
    points: Vec<OperatingPoint>,
    no_face: Vec<String>,
    ms_per_face: f64,
    rows: Vec<Row>,
}

pub fn run(cli: &Cli, args: &EvalPadArgs) -> anyhow::Result<u8> {
    let thresholds = match args.threshold {
        Some(t) => vec![t],
        None => vec![ATTEMPT_THRESHOLD, FRAME_THRESHOLD],
    };
    // The manifest first: a bad one is refused before any model loads.
    let items = read_manifest(&args.csv)?;
    let models = cli.models()?;
    let mut detector = Detector::new(&models, DetectorConfig::default())?;
    let mut pad = PadModel::new(&models)?;
    let defaults = BoxGeometry::default();
    pad.geometry = BoxGeometry {
        scale: args.box_scale.unwrap_or(defaults.scale),
        shift_y: args.shift_y.unwrap_or(defaults.shift_y),
    };
    let mut rows = Vec::with_capacity(items.len());
    let (mut pad_s, mut scored) = (0.0, 0usize);
    for (path, species) in items {
        let img = crate::imageio::load(&path)?;
        let faces = detector.detect(&img)?;
        let score = match quality::main_face(&faces, f32::INFINITY) {
            Ok(face) => {
                let t = std::time::Instant::now();
                let s = pad.score(&img, face)?;
                pad_s += t.elapsed().as_secs_f64();
                scored += 1;
                s
            }
            Err(_) => None,
        };
        rows.push(Row {
            path: path.display().to_string(),
            species,
            score,
        });
    }
    let scores: Vec<(String, Option<f32>)> = rows
        .iter()
        .map(|r| (r.species.clone(), r.score.map(|s| s.live)))
        .collect();
    let report = Report {
        geometry: pad.geometry,
        points: thresholds
            .iter()
            .map(|&t| operating_point(t, &scores))
            .collect(),
        no_face: rows
            .iter()
            .filter(|r| r.score.is_none())
            .map(|r| r.path.clone())
            .collect(),
        ms_per_face: if scored > 0 {
            pad_s * 1e3 / scored as f64
        } else {
            0.0
        },
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(exit::OK)
}

/// `(image path, species)` per row; bona fide rows get [`BONA_FIDE`].
fn read_manifest(csv_path: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut reader = super::checked::open_csv(csv_path)?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {}", csv_path.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(path_col), Some(label_col)) = (column("path"), column("label")) else {
        anyhow::bail!("{} needs `path` and `label` columns", csv_path.display());
    };
    let attack_col = column("attack_type");
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} row {}", csv_path.display(), line + 2))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let label = field(label_col);
        let species = match label.to_lowercase().as_str() {
            "bona_fide" | "bonafide" | "real" | "live" | "genuine" => BONA_FIDE.to_owned(),
            "" => anyhow::bail!("{} row {}: empty label", csv_path.display(), line + 2),
            "spoof" | "attack" | "fake" => attack_col
                .map(field)
                .filter(|s| !s.is_empty())
                .unwrap_or(label),
            _ => label,
        };
        items.push((base.join(field(path_col)), species));
    }
    anyhow::ensure!(!items.is_empty(), "{} has no rows", csv_path.display());
    Ok(items)
}

/// BPCER and APCER per species at `threshold`, from `(species, live score)` pairs (faces without
/// a score are left out).
pub fn operating_point(threshold: f32, scores: &[(String, Option<f32>)]) -> OperatingPoint {
    let mut by_species: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    for (species, score) in scores {
        if let Some(s) = score {
            by_species.entry(species).or_default().push(*s);
        }
    }
    let bona = by_species.remove(BONA_FIDE).unwrap_or_default();
    let bpcer = error_rate(BONA_FIDE, &bona, |s| s < threshold, f32::min);
    let apcer: Vec<Rate> = by_species
        .iter()
        .map(|(species, scores)| error_rate(species, scores, |s| s >= threshold, f32::max))
        .collect();
    OperatingPoint {
        threshold,
        apcer_max: apcer.iter().map(|r| r.rate).fold(0.0, f64::max),
        bpcer,
        apcer,
    }
}

/// The rate of `is_error` among `scores`, and the extreme score under `pick`.
pub fn error_rate(
    species: &str,
    scores: &[f32],
    is_error: impl Fn(f32) -> bool,
    pick: fn(f32, f32) -> f32,
) -> Rate {
    let errors = scores.iter().filter(|&&s| is_error(s)).count();
    let (lower95, upper95) = crate::bounds::clopper_pearson(errors as u64, scores.len() as u64);
    Rate {
        species: species.to_owned(),
        presentations: scores.len(),
        errors,
        rate: if scores.is_empty() {
            0.0
        } else {
            errors as f64 / scores.len() as f64
        },
        lower95,
        upper95,
        extreme_score: scores.iter().copied().reduce(pick).unwrap_or(f32::NAN),
    }
}

/// A label or a path from the manifest as the terminal shows it (escaped; padded by the caller).
fn shown(text: &str) -> String {
    crate::shown::Escaped(text).to_string()
}

/// One row, its species padded to `width` characters: the table's longest, so a long name
/// ("replay on phone/tablet screen") does not push its row out of line (journey s39 #15).
fn print_rate(kind: &str, r: &Rate, width: usize) {
    println!(
        "{kind:<6} {:<width$} {:>3}/{:<3} {:>6.1} %  [{:>5.1}, {:>5.1}] %   {} score {:.4}",
        shown(&r.species),
        r.errors,
        r.presentations,
        100.0 * r.rate,
        100.0 * r.lower95,
        100.0 * r.upper95,
        if kind == "BPCER" { "lowest" } else { "highest" },
        r.extreme_score
    );
}

/// One operating point as a table: BPCER, each species' APCER, the worst-case APCER.
pub fn print_point(p: &OperatingPoint) {
    println!(
        "\nthreshold {:.4} (rates with exact two-sided 95 % intervals)",
        p.threshold
    );
    let width = std::iter::once(&p.bpcer)
        .chain(&p.apcer)
        .map(|r| shown(&r.species).chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    print_rate("BPCER", &p.bpcer, width);
    for a in &p.apcer {
        print_rate("APCER", a, width);
    }
    println!("worst-case APCER {:.1} %", 100.0 * p.apcer_max);
}

fn print_report(r: &Report) {
    for row in &r.rows {
        match row.score {
            Some(s) => println!(
                "{:.4}  (v2 {:.4}, v1se {:.4})  {:<22} {}",
                s.live,
                s.per_model[0],
                s.per_model[1],
                shown(&row.species),
                shown(&row.path)
            ),
            None => println!(
                "  —     no face             {:<22} {}",
                shown(&row.species),
                shown(&row.path)
            ),
        }
    }
    println!(
        "\nbox ×{:.2} shifted {:+.2} h; {} without a face left out; {:.2} ms per face (both models)",
        r.geometry.scale,
        r.geometry.shift_y,
        crate::shown::counted(r.no_face.len(), "image", "images"),
        r.ms_per_face
    );
    for point in &r.points {
        print_point(point);
    }
}
