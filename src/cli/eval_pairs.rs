//! `facegate eval pairs`: accuracy, ROC AUC, EER and TAR at fixed FARs on a labelled pair list.

mod plot;

use std::collections::{BTreeMap, HashMap, HashSet};
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

/// Most distinct `fold` values a manifest may have.
const MAX_FOLDS: usize = 100;
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
    /// Add N impostor pairs across identities (the images' parent folders) so small FARs can be
    /// measured, at most 1000000; each pair once, so fewer when the images make fewer
    #[arg(long, default_value_t = 0, value_parser = super::checked::count::<0, { MAX_IMPOSTORS }>)]
    pub impostors: usize,
    /// Write a plot of the ROC and the score histograms
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
    /// Only the first N pairs (quick checks)
    #[arg(long, value_parser = super::checked::limit)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

/// Most impostor pairs `--impostors` adds (each pair holds two paths: about 100 MB at most).
const MAX_IMPOSTORS: usize = 1_000_000;

#[derive(Debug, serde::Deserialize)]
struct Row {
    path_a: String,
    path_b: String,
    /// Read as text and judged below, so that `true` or `-1` get the row's message, not
    /// csv's "invalid digit found in string" (journey s41 #5).
    same: String,
    fold: Option<u32>,
}

/// The columns a pairs file must have.
const COLUMNS: [&str; 3] = ["path_a", "path_b", "same"];

#[derive(Serialize)]
pub struct PairsReport {
    /// "sface", "mbf" or "sface+mbf", with the preprocessing when there is one.
    pub scorer: String,
    /// Where a single comparison is called a match by default (0 for the fused score).
    pub default_threshold: f32,
    pub pairs: usize,
    pub genuine: usize,
    pub images: usize,
    /// Impostor pairs `--impostors` asked for, and those added: fewer when the images make fewer
    /// distinct impostor pairs than asked (each is added once, none already listed).
    pub impostors_asked: usize,
    pub impostors_added: usize,
    /// The images' identities, as `--impostors` tells them apart: their parent folders.
    pub identities: usize,
    /// Images where no face was found; their pairs score -1 (a miss, as the protocol requires).
    pub no_face: Vec<String>,
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far: BTreeMap<String, Option<f64>>,
    /// The lowest threshold whose FAR is at most each target (the settings' floor comes from 1e-2).
    pub threshold_at_far: BTreeMap<String, Option<f32>>,
    /// (fold, threshold chosen on the other folds, accuracy on this fold)
    pub folds: Vec<(u32, f32, f64)>,
    /// Why the manifest's folds gave no k-fold accuracy, where they gave none.
    pub folds_unmeasured: Option<String>,
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
            match crate::engine::largest_face_embedding(self.store, pipeline, path) {
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
    let mut reader = super::checked::open_csv(&args.csv)?;
    // Said of the header itself: a file headed `a,b` with no rows was said to have "no rows
    // under its path_a,path_b,same header" (journey s41 #5).
    let header = reader
        .headers()
        .with_context(|| format!("reading {}", args.csv.display()))?
        .clone();
    anyhow::ensure!(
        !header.is_empty(),
        "{} has no pairs (it is empty): nothing to measure",
        args.csv.display()
    );
    if let Some(missing) = COLUMNS.iter().find(|c| !header.iter().any(|h| h == **c)) {
        anyhow::bail!(
            "{} has no {missing} column (its header is `{}`); the header must name {} and may \
             name fold",
            args.csv.display(),
            header.iter().collect::<Vec<_>>().join(","),
            COLUMNS.join(",")
        );
    }
    let mut rows: Vec<Row> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        // The columns it needs beside csv's own words (journey s36 #16: "missing field
        // `path_a`" left the user to guess the rest).
        .with_context(|| {
            format!(
                "reading {} (its header must name {} and may name fold)",
                args.csv.display(),
                COLUMNS.join(",")
            )
        })?;
    // Where --limit left rows out (it kept them all when the manifest is no longer).
    let cut = args.limit.filter(|&n| rows.len() > n);
    if let Some(n) = cut {
        rows.truncate(n);
    }
    anyhow::ensure!(
        !rows.is_empty(),
        "{} has no pairs (no rows under its {} header): nothing to measure",
        args.csv.display(),
        COLUMNS.join(",")
    );
    if let Some((i, r)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| !matches!(r.same.trim(), "0" | "1"))
    {
        anyhow::bail!(
            "{} row {}: same is {:?}; give 1 (same person) or 0 (different people)",
            args.csv.display(),
            i + 2,
            r.same
        );
    }
    // Each fold is scored against all the others, so the work grows with folds × pairs: a fold
    // per row (80,000 rows) ran for minutes. k-fold protocols use a handful (LFW: 10).
    let folds: std::collections::BTreeSet<u32> = rows.iter().filter_map(|r| r.fold).collect();
    anyhow::ensure!(
        folds.len() <= MAX_FOLDS,
        "{} has {} distinct folds; at most {MAX_FOLDS} are supported (LFW's protocol uses 10)",
        args.csv.display(),
        folds.len()
    );
    let mut pairs: Vec<(PathBuf, PathBuf, bool, Option<u32>)> = rows
        .iter()
        .map(|r| {
            (
                base.join(&r.path_a),
                base.join(&r.path_b),
                r.same.trim() == "1",
                r.fold,
            )
        })
        .collect();
    if let Some(out) = &args.plot {
        // Before the work: not into a pipe, not over the manifest or one of its photos.
        let inputs = super::checked::Inputs::of(
            std::iter::once(args.csv.as_path())
                .chain(pairs.iter().flat_map(|p| [p.0.as_path(), p.1.as_path()])),
        );
        super::checked::output_image("--plot", out, &inputs)?;
    }
    let identities = pairs
        .iter()
        .flat_map(|p| [p.0.parent(), p.1.parent()])
        .collect::<HashSet<_>>()
        .len();
    let mut impostors_added = 0;
    if args.impostors > 0 {
        let (extra, _) = extra_impostors(&pairs, args.impostors);
        impostors_added = extra.len();
        pairs.extend(extra.into_iter().map(|(a, b)| (a, b, false, None)));
    }
    let genuine = pairs.iter().filter(|p| p.2).count();
    let impostor = pairs.len() - genuine;
    anyhow::ensure!(
        genuine > 0 && impostor > 0,
        "{}: {genuine} genuine and {impostor} impostor pairs: nothing to measure, the ROC, EER and \
         accuracy need pairs of both kinds{}",
        args.csv.display(),
        if impostor == 0 {
            " (--impostors adds impostor pairs across identities)"
        } else {
            ""
        }
    );
    let store = cli.store()?;
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
    let (per_fold, folds_unmeasured) =
        match fold_ids.map(|ids| eval::k_fold_accuracy(&labelled, &ids)) {
            Some(Ok(per_fold)) => (per_fold, None),
            Some(Err(gap)) => (
                Vec::new(),
                Some(match cut {
                    // The folds follow one another in the manifest, and --limit keeps its first rows.
                    Some(n) => format!("{gap} (--limit {n} kept the manifest's first {n} pairs)"),
                    None => gap.to_string(),
                }),
            ),
            None => (Vec::new(), None),
        };
    let accuracies: Vec<f64> = per_fold.iter().map(|f| f.2).collect();
    let (mean, std) = eval::mean_std(&accuracies);
    let (best_threshold, accuracy_at_best) = eval::best_threshold(&labelled);
    Ok(PairsReport {
        scorer: scorer.label(),
        default_threshold: scorer.default_threshold(),
        pairs: scored.len(),
        genuine: scored.iter().filter(|p| p.same).count(),
        images: scorer.memo.len(),
        impostors_asked: args.impostors,
        impostors_added,
        identities,
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
        folds_unmeasured,
        mean_accuracy: (!per_fold.is_empty()).then_some(mean),
        std_accuracy: (!per_fold.is_empty()).then_some(std),
        folds: per_fold,
        best_threshold,
        accuracy_at_best,
        accuracy_at_default: eval::accuracy_at(&labelled, scorer.default_threshold()),
        scored,
    })
}

/// What would give more impostor pairs, said alike where too few were added and where a FAR
/// cannot be measured. "add --impostors" was advised for a manifest whose photos all lie in one
/// folder, where it adds none (journey s39 #12).
fn more_impostors(report: &PairsReport) -> &'static str {
    if report.identities < 2 {
        "--impostors pairs images of different people, told apart by their folders, and these \
         images all lie in one: put each person's images in a folder of their own"
    } else if report.impostors_added < report.impostors_asked {
        "these images make no more distinct ones: add images of more people"
    } else {
        "add --impostors"
    }
}

/// Up to `n` distinct impostor pairs: two images of different identities (parent folders), in
/// neither order already in `pairs`. Deterministic and spread over everyone: the candidate pairs
/// are numbered and walked with a stride coprime to their count, so no pair comes twice and the
/// walk ends once every candidate has been seen. Also returns how many such pairs there are.
fn extra_impostors(
    pairs: &[(PathBuf, PathBuf, bool, Option<u32>)],
    n: usize,
) -> (Vec<(PathBuf, PathBuf)>, u64) {
    let identity = |p: &Path| p.parent().map(Path::to_owned);
    // Sorted by identity, then path: each identity's images lie together.
    let mut images: Vec<(Option<PathBuf>, &PathBuf)> = pairs
        .iter()
        .flat_map(|p| [&p.0, &p.1])
        .map(|p| (identity(p), p))
        .collect();
    images.sort();
    images.dedup();
    let len = images.len();
    let index: HashMap<&Path, usize> = images
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (p.as_path(), i))
        .collect();
    // One past the last image of each image's identity.
    let mut group_end = vec![len; len];
    for i in (0..len.saturating_sub(1)).rev() {
        group_end[i] = if images[i].0 == images[i + 1].0 {
            group_end[i + 1]
        } else {
            i + 1
        };
    }
    // Candidate k pairs image i with image group_end[i] + (k - first[i]): every image of a later
    // identity, so each unordered pair of different identities has exactly one number.
    let mut first = Vec::with_capacity(len);
    let mut total = 0u64;
    for &end in &group_end {
        first.push(total);
        total += (len - end) as u64;
    }
    let listed: HashSet<(usize, usize)> = pairs
        .iter()
        .map(|p| {
            let (a, b) = (index[p.0.as_path()], index[p.1.as_path()]);
            (a.min(b), a.max(b))
        })
        .filter(|&(a, b)| group_end[a] <= b)
        .collect();
    let available = total - listed.len() as u64;
    let want = (n as u64).min(available) as usize;
    let mut out = Vec::with_capacity(want);
    if want == 0 {
        return (out, available);
    }
    let mut stride = ((total as f64 * 0.618_033_988_7) as u64).max(1);
    while gcd(stride, total) != 1 {
        stride += 1;
    }
    for step in 0..total {
        let k = ((u128::from(step) * u128::from(stride)) % u128::from(total)) as u64;
        let i = first.partition_point(|&f| f <= k) - 1;
        let j = group_end[i] + (k - first[i]) as usize;
        if listed.contains(&(i, j)) {
            continue;
        }
        out.push((images[i].1.clone(), images[j].1.clone()));
        if out.len() == want {
            break;
        }
    }
    (out, available)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
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
    if report.impostors_asked > 0 {
        println!(
            "{} added across identities{}",
            crate::shown::counted(report.impostors_added, "impostor pair", "impostor pairs"),
            if report.impostors_added < report.impostors_asked {
                format!(
                    " (of {} asked for: {})",
                    report.impostors_asked,
                    more_impostors(&report)
                )
            } else {
                String::new()
            }
        );
    }
    for (fold, threshold, acc) in &report.folds {
        println!(
            "  fold {fold}: accuracy {:.2} % at threshold {threshold:.3} (chosen on the other folds)",
            acc * 100.0
        );
    }
    if let Some(why) = &report.folds_unmeasured {
        println!("k-fold accuracy not measured: {why}");
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
                "TAR at FAR {far}: not measurable with this many impostor pairs ({})",
                more_impostors(&report)
            ),
        }
    }
    if let Some(out) = &args.plot {
        println!("plot written to {}", out.display());
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(rows: &[(&str, &str, bool)]) -> Vec<(PathBuf, PathBuf, bool, Option<u32>)> {
        rows.iter()
            .map(|&(a, b, same)| (PathBuf::from(a), PathBuf::from(b), same, None))
            .collect()
    }

    #[test]
    fn impostor_pairs_are_distinct_new_and_capped_at_what_the_images_make() {
        // a/1, b/1, b/2: two impostor pairs in all, one of them listed already.
        let pairs = listed(&[("a/1", "b/1", false), ("b/1", "b/2", true)]);
        let (extra, available) = extra_impostors(&pairs, 1000);
        assert_eq!(available, 1);
        assert_eq!(extra, [(PathBuf::from("a/1"), PathBuf::from("b/2"))]);

        // 4 identities of 3 images, one pair listed: 54 − 1 candidates, each once.
        let mut rows = Vec::new();
        let names: Vec<String> = (0..4)
            .flat_map(|p| (0..3).map(move |i| format!("p{p}/{i}.png")))
            .collect();
        for w in names.chunks(3) {
            rows.push((w[0].as_str(), w[1].as_str(), true));
            rows.push((w[1].as_str(), w[2].as_str(), true));
        }
        rows.push(("p0/0.png", "p1/0.png", false));
        let pairs = listed(&rows);
        let (all, available) = extra_impostors(&pairs, usize::MAX);
        assert_eq!((available, all.len()), (53, 53));
        let mut seen = HashSet::new();
        for (a, b) in &all {
            assert_ne!(a.parent(), b.parent(), "{a:?} {b:?}");
            let key = if a < b { (a, b) } else { (b, a) };
            assert!(seen.insert(key), "{a:?} {b:?} twice");
        }
        assert!(!seen.contains(&(&PathBuf::from("p0/0.png"), &PathBuf::from("p1/0.png"))));
        // Fewer asked: the first of the same walk, spread over every identity.
        let (some, _) = extra_impostors(&pairs, 10);
        assert_eq!(some[..], all[..10]);
        let people: HashSet<_> = some
            .iter()
            .flat_map(|(a, b)| [a.parent(), b.parent()])
            .collect();
        assert_eq!(people.len(), 4);
        // One identity only: none to make.
        let pairs = listed(&[("a/1", "a/2", true)]);
        assert_eq!(extra_impostors(&pairs, 5), (Vec::new(), 0));
    }
}
