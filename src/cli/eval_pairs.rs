//! `facegate eval pairs`: accuracy, ROC AUC, EER and TAR at fixed FARs on a labelled pair list.

mod plot;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{Cli, exit};
use crate::eval::{self, ScoredPair};
use crate::pipeline::{FacePipeline, PipelineOptions};
use crate::store::Store;
use crate::vision::{EmbedderKind, Embedding, Preprocess};

#[derive(Debug, Args)]
pub struct PairsArgs {
    /// CSV with path_a,path_b,same[,fold]; paths relative to the CSV
    pub csv: PathBuf,
    #[arg(long, value_enum, default_value_t = EmbedderKind::Sface)]
    pub model: EmbedderKind,
    /// Normalise each aligned face before embedding
    #[arg(long, value_enum, default_value_t = Preprocess::None)]
    pub preprocess: Preprocess,
    /// Score with both embedders: the mean of each cosine minus that model's default threshold
    #[arg(long, conflicts_with = "model")]
    pub fuse: bool,
    /// Add N impostor pairs across identities (the images' parent folders) so small FARs can be measured
    #[arg(long, default_value_t = 0)]
    pub impostors: usize,
    /// Write a plot of the ROC and the score histograms
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
    /// Only the first N pairs (quick checks)
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    path_a: String,
    path_b: String,
    same: u8,
    fold: Option<u32>,
}

#[derive(Serialize)]
pub struct PairsReport {
    /// "sface", "mbf" or "sface+mbf", with the preprocessing when there is one.
    pub scorer: String,
    /// Where a single comparison is called a match by default (0 for the fused score).
    pub default_threshold: f32,
    pub pairs: usize,
    pub genuine: usize,
    pub images: usize,
    /// Images where no face was found; their pairs score -1 (a miss, as the protocol requires).
    pub no_face: Vec<String>,
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far: BTreeMap<String, Option<f64>>,
    /// The lowest threshold whose FAR is at most each target (the settings' floor comes from 1e-2).
    pub threshold_at_far: BTreeMap<String, Option<f32>>,
    /// (fold, threshold chosen on the other folds, accuracy on this fold)
    pub folds: Vec<(u32, f32, f64)>,
    pub mean_accuracy: Option<f64>,
    pub std_accuracy: Option<f64>,
    pub best_threshold: f32,
    pub accuracy_at_best: f64,
    pub accuracy_at_default: f64,
    #[serde(skip)]
    pub scored: Vec<ScoredPair>,
}

/// Embeds each image once per model (cached by content hash in the store, so a second run is
/// fast) and scores pairs with one model or the fusion of several.
struct Scorer<'a> {
    pipelines: Vec<FacePipeline>,
    store: &'a Store,
    memo: HashMap<PathBuf, Option<Vec<Embedding>>>,
}

impl Scorer<'_> {
    fn embeddings(&mut self, path: &Path) -> anyhow::Result<Option<Vec<Embedding>>> {
        if let Some(e) = self.memo.get(path) {
            return Ok(e.clone());
        }
        let mut all = Vec::with_capacity(self.pipelines.len());
        for pipeline in &mut self.pipelines {
            match crate::engine::photo_embedding(self.store, pipeline, path) {
                Ok(e) => all.push(e),
                Err(crate::Error::NoFace(_)) => {
                    self.memo.insert(path.to_owned(), None);
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.memo.insert(path.to_owned(), Some(all.clone()));
        Ok(Some(all))
    }

    /// One model: its cosine. Several: the mean of each cosine minus that model's threshold, so
    /// the models' different score scales meet at a common decision point, 0.
    fn score(&self, a: &[Embedding], b: &[Embedding]) -> f32 {
        if self.pipelines.len() == 1 {
            return a[0].cosine(&b[0]);
        }
        let shifted = self
            .pipelines
            .iter()
            .zip(a.iter().zip(b))
            .map(|(p, (ea, eb))| ea.cosine(eb) - p.embedder.kind().default_threshold());
        shifted.sum::<f32>() / self.pipelines.len() as f32
    }

    fn default_threshold(&self) -> f32 {
        match self.pipelines.as_slice() {
            [p] => p.embedder.kind().default_threshold(),
            _ => 0.0,
        }
    }

    fn label(&self) -> String {
        let models: Vec<String> = self.pipelines.iter().map(|p| p.cache_id()).collect();
        models.join("+")
    }
}

pub fn evaluate(cli: &Cli, args: &PairsArgs) -> anyhow::Result<PairsReport> {
    let base = args.csv.parent().unwrap_or(Path::new(".")).to_owned();
    let mut reader = csv::Reader::from_path(&args.csv)
        .with_context(|| format!("reading {}", args.csv.display()))?;
    let mut rows: Vec<Row> = reader.deserialize().collect::<Result<_, _>>()?;
    if let Some(n) = args.limit {
        rows.truncate(n);
    }
    let mut pairs: Vec<(PathBuf, PathBuf, bool, Option<u32>)> = rows
        .iter()
        .map(|r| {
            (
                base.join(&r.path_a),
                base.join(&r.path_b),
                r.same == 1,
                r.fold,
            )
        })
        .collect();
    if args.impostors > 0 {
        pairs.extend(
            extra_impostors(&pairs, args.impostors)
                .into_iter()
                .map(|(a, b)| (a, b, false, None)),
        );
    }
    let store = Store::open(&cli.data_dir()?)?;
    let models = cli.models()?;
    let kinds = if args.fuse {
        vec![EmbedderKind::Sface, EmbedderKind::Mbf]
    } else {
        vec![args.model]
    };
    let pipelines = kinds
        .into_iter()
        .map(|embedder| {
            let options = PipelineOptions {
                embedder,
                preprocess: args.preprocess,
                ..PipelineOptions::default()
            };
            FacePipeline::new(&models, options)
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let mut scorer = Scorer {
        pipelines,
        store: &store,
        memo: HashMap::new(),
    };
    let bar = ProgressBar::new(pairs.len() as u64).with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} pairs, {eta} left")
            .expect("valid template"),
    );
    bar.set_message(format!("embedding with {}", scorer.label()));
    let mut scored = Vec::with_capacity(pairs.len());
    let mut folds = Vec::new();
    let mut no_face = std::collections::BTreeSet::new();
    for (a, b, same, fold) in &pairs {
        let (ea, eb) = (scorer.embeddings(a)?, scorer.embeddings(b)?);
        for (path, e) in [(a, &ea), (b, &eb)] {
            if e.is_none() {
                no_face.insert(path.display().to_string());
            }
        }
        let score = match (ea, eb) {
            (Some(ea), Some(eb)) => scorer.score(&ea, &eb),
            _ => -1.0,
        };
        scored.push(ScoredPair { score, same: *same });
        folds.push(*fold);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let labelled: Vec<ScoredPair> = scored[..rows.len()].to_vec();
    let fold_ids: Option<Vec<u32>> = folds[..rows.len()].iter().copied().collect();
    let per_fold = fold_ids
        .map(|ids| eval::k_fold_accuracy(&labelled, &ids))
        .unwrap_or_default();
    let accuracies: Vec<f64> = per_fold.iter().map(|f| f.2).collect();
    let (mean, std) = eval::mean_std(&accuracies);
    let (best_threshold, accuracy_at_best) = eval::best_threshold(&labelled);
    Ok(PairsReport {
        scorer: scorer.label(),
        default_threshold: scorer.default_threshold(),
        pairs: scored.len(),
        genuine: scored.iter().filter(|p| p.same).count(),
        images: scorer.memo.len(),
        no_face: no_face.into_iter().collect(),
        auc: eval::roc_auc(&scored),
        eer: eval::eer(&scored),
        tar_at_far: [1e-2, 1e-3, 1e-4]
            .into_iter()
            .map(|far| (format!("{far:e}"), eval::tar_at_far(&scored, far)))
            .collect(),
        threshold_at_far: [1e-2, 1e-3, 1e-4]
            .into_iter()
            .map(|far| (format!("{far:e}"), eval::threshold_at_far(&scored, far)))
            .collect(),
        mean_accuracy: (!per_fold.is_empty()).then_some(mean),
        std_accuracy: (!per_fold.is_empty()).then_some(std),
        folds: per_fold,
        best_threshold,
        accuracy_at_best,
        accuracy_at_default: eval::accuracy_at(&labelled, scorer.default_threshold()),
        scored,
    })
}

/// `n` pairs of images from different identities (parent folder names), deterministic.
fn extra_impostors(
    pairs: &[(PathBuf, PathBuf, bool, Option<u32>)],
    n: usize,
) -> Vec<(PathBuf, PathBuf)> {
    let mut images: Vec<PathBuf> = pairs
        .iter()
        .flat_map(|p| [p.0.clone(), p.1.clone()])
        .collect();
    images.sort();
    images.dedup();
    let identity = |p: &Path| p.parent().map(Path::to_owned);
    let mut out = Vec::with_capacity(n);
    let len = images.len();
    // A fixed stride walk over the sorted list: reproducible, spread over everyone, no RNG.
    let (mut i, mut j) = (0usize, len / 2 + 1);
    let mut attempts = 0;
    while out.len() < n && len > 1 && attempts < n * 4 {
        attempts += 1;
        i = (i + 7919) % len;
        j = (j + 104_729) % len;
        let (a, b) = (&images[i], &images[j]);
        if identity(a) != identity(b) {
            out.push((a.clone(), b.clone()));
        }
    }
    out
}

pub fn run(cli: &Cli, args: &PairsArgs) -> anyhow::Result<u8> {
    if let Some(notice) = (if args.fuse {
        EmbedderKind::Mbf
    } else {
        args.model
    })
    .licence_notice()
    {
        eprintln!("{notice}");
    }
    let report = evaluate(cli, args)?;
    if let Some(out) = &args.plot {
        plot::roc_plot(&report, out)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(exit::OK);
    }
    println!(
        "{}: {} pairs ({} genuine) over {} images; no face found in {}",
        report.scorer,
        report.pairs,
        report.genuine,
        report.images,
        report.no_face.len()
    );
    for (fold, threshold, acc) in &report.folds {
        println!(
            "  fold {fold}: accuracy {:.2} % at threshold {threshold:.3} (chosen on the other folds)",
            acc * 100.0
        );
    }
    if let (Some(m), Some(s)) = (report.mean_accuracy, report.std_accuracy) {
        println!("mean accuracy {:.2} % ± {:.2}", m * 100.0, s * 100.0);
    }
    println!(
        "ROC AUC {:.4}, EER {:.2} %, accuracy {:.2} % at the default threshold {:.3}, best {:.2} % at {:.3}",
        report.auc,
        report.eer * 100.0,
        report.accuracy_at_default * 100.0,
        report.default_threshold,
        report.accuracy_at_best * 100.0,
        report.best_threshold
    );
    for (far, tar) in &report.tar_at_far {
        let at = report.threshold_at_far.get(far).copied().flatten();
        match tar {
            Some(t) => println!(
                "TAR at FAR {far}: {:.2} % (threshold {})",
                t * 100.0,
                at.map_or("–".into(), |a| format!("{a:.3}"))
            ),
            None => println!(
                "TAR at FAR {far}: not measurable with this many impostor pairs (add --impostors)"
            ),
        }
    }
    if let Some(out) = &args.plot {
        println!("plot written to {}", out.display());
    }
    Ok(exit::OK)
}
