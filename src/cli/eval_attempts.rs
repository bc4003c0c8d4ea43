//! `facegate eval attempts`: how often an unlock attempt lets a stranger in (FAR) or keeps the
//! owner out (FRR), on a labelled set of photos, with 95 % upper confidence bounds, over a grid of
//! (detection threshold, verification share); and the lowest threshold that meets a stated FAR.
//!
//! Each person with more than K photos enrols with their first K. One-frame attempts: each of
//! their other photos against their gallery (genuine), every photo of everyone else against it
//! (impostor). Live attempts: K-of-N over runs of consecutive photos. The decisions are the
//! product's own ([`crate::auth::verify`], [`crate::auth::votes::Votes`]); see [`sim`].

mod sim;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{Cli, exit};
use crate::auth::votes::KofN;
use crate::pipeline::{FacePipeline, PipelineOptions};
use crate::store::{MAX_LIVE_N, Settings, threshold_floor};
use crate::vision::EmbedderKind;
use sim::{Grid, Person, Protocol, Tally};

/// Confidence of the upper bounds.
const LEVEL: f64 = 0.95;
/// Most photos `--enrol` takes per person (a gallery is a handful; [`needed`] walks up to it).
const MAX_ENROL: usize = 1000;

#[derive(Debug, Args)]
pub struct AttemptsArgs {
    /// A folder with one sub-folder of photos per identity, or a CSV with path,identity columns (paths relative to the CSV; rows without an identity, or with label_source "derived", are skipped)
    pub source: PathBuf,
    #[arg(long, value_enum, default_value_t = EmbedderKind::Sface)]
    pub model: EmbedderKind,
    /// Photos each person enrols with (their first K, 1 to 1000); people with more than K are
    /// enrolled
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = super::checked::count::<1, { MAX_ENROL }>)]
    pub enrol: usize,
    /// Live rule: this many of --live-n consecutive frames must verify (1 to 30, as the settings allow) [default: the settings' default]
    #[arg(long, value_name = "K", value_parser = super::checked::count::<1, { MAX_LIVE_N }>)]
    pub live_k: Option<usize>,
    /// Live rule: frames per live attempt (1 to 30, as the settings allow) [default: the settings' default]
    #[arg(long, value_name = "N", value_parser = super::checked::count::<1, { MAX_LIVE_N }>)]
    pub live_n: Option<usize>,
    /// Detection thresholds to try [default: the model's floor and 32 steps of 0.01 above it, plus its default]
    #[arg(long, value_name = "FROM:TO:STEP")]
    pub thresholds: Option<String>,
    /// Verification shares to try, each 0 to 1 (with K = 3, 0.6 is 2 of 3 and 1 is 3 of 3)
    #[arg(long, value_delimiter = ',', default_values_t = [0.6f32, 1.0], value_parser = super::checked::unit)]
    pub shares: Vec<f32>,
    /// Only identities with at least this many usable photos (others neither enrol nor attack)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_images: usize,
    /// Highest acceptable false-accept rate per one-frame attempt, on its 95 % upper bound (0.002 %: Android's class 1)
    #[arg(long, default_value_t = 0.00002, value_parser = super::checked::unit_f64)]
    pub far: f64,
    /// Highest acceptable false-reject rate per one-frame attempt (0 to 1)
    #[arg(long, default_value_t = 0.05, value_parser = super::checked::unit_f64)]
    pub frr: f64,
    #[arg(long)]
    pub json: bool,
}

/// A measured error rate.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    pub errors: u64,
    pub attempts: u64,
    /// errors / attempts (None without attempts).
    pub rate: Option<f64>,
    /// Clopper–Pearson one-sided 95 % upper bound.
    pub upper95: f64,
}

impl From<Tally> for Rate {
    fn from(t: Tally) -> Rate {
        Rate {
            errors: t.errors,
            attempts: t.attempts,
            rate: (t.attempts > 0).then(|| t.errors as f64 / t.attempts as f64),
            upper95: crate::bounds::upper(t.errors, t.attempts, LEVEL),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    pub detection: f32,
    pub share: f32,
    /// Gallery images that must match at this share (of `enrol`).
    pub needed: usize,
    pub one_frame_far: Rate,
    pub one_frame_frr: Rate,
    pub live_far: Rate,
    pub live_frr: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub detection: f32,
    pub share: f32,
    /// Whether it meets both targets; when false this is only the closest point.
    pub meets: bool,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct AttemptsReport {
    pub source: String,
    /// The embedder's cache id ("sface", "w600k_mbf").
    pub model: String,
    pub protocol: Protocol,
    /// Identities kept (with at least `min_images` usable photos) and their photos.
    pub identities: usize,
    pub images: usize,
    /// Photos where no face was found (left out).
    pub no_face: Vec<String>,
    pub enrolled: usize,
    pub live_genuine_people: usize,
    pub far_target: f64,
    pub frr_max: f64,
    /// How the choice reads the targets.
    pub criterion: String,
    /// Impostor attempts needed to show `far_target` at 95 % even with no false accept.
    pub impostor_attempts_needed: u64,
    /// The settings' defaults for this model today.
    pub defaults: Option<PointReport>,
    pub points: Vec<PointReport>,
    pub choice: Option<Choice>,
    /// Among the points that meet both targets, the one with the lowest one-frame FRR (it may
    /// sit at a higher threshold with a lower share than `choice`).
    pub lowest_frr: Option<Choice>,
    pub embedding_s: f64,
    pub simulation_s: f64,
}

/// The labelled photos: (identity, paths) in listing order.
fn labelled(source: &Path) -> anyhow::Result<Vec<(String, Vec<PathBuf>)>> {
    if source.is_dir() {
        return super::people::identity_folders(source);
    }
    let base = source.parent().unwrap_or(Path::new(".")).to_owned();
    let mut reader = super::checked::open_csv(source)?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {}", source.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(path), Some(identity)) = (column("path"), column("identity")) else {
        anyhow::bail!(
            "{} needs path and identity columns (or pass a folder of one sub-folder per identity)",
            source.display()
        );
    };
    let derived = column("label_source");
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    // Each identity's place in `out` (a search per row made 200,000 identities take minutes).
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", source.display()))?;
        let id = row.get(identity).unwrap_or("").trim();
        if id.is_empty() || derived.and_then(|c| row.get(c)) == Some("derived") {
            continue;
        }
        let file = base.join(row.get(path).unwrap_or(""));
        match index.get(id) {
            Some(&i) => out[i].1.push(file),
            None => {
                index.insert(id.to_owned(), out.len());
                out.push((id.to_owned(), vec![file]));
            }
        }
    }
    Ok(out)
}

/// The most thresholds one run sweeps: each is a pass over every attempt.
const MAX_THRESHOLDS: usize = 1000;

/// `FROM:TO:STEP`, each value rounded to 1e-4.
fn parse_range(spec: &str) -> anyhow::Result<Vec<f32>> {
    let parts: Vec<f64> = spec
        .split(':')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--thresholds {spec}: expected FROM:TO:STEP"))?;
    let [from, to, step] = parts[..] else {
        anyhow::bail!("--thresholds {spec}: expected FROM:TO:STEP");
    };
    anyhow::ensure!(
        step > 0.0 && to >= from,
        "--thresholds {spec}: need FROM ≤ TO and a positive STEP"
    );
    // Counted once, as a float first: a tiny STEP gives more thresholds than a usize holds.
    let count = ((to - from) / step + 1e-6).floor() + 1.0;
    anyhow::ensure!(
        count <= MAX_THRESHOLDS as f64,
        "--thresholds {spec}: that is {count:.0} thresholds; at most {MAX_THRESHOLDS} (a larger STEP)"
    );
    let count = count as usize;
    Ok((0..count)
        .map(|i| ((from + i as f64 * step) * 1e4).round() as f32 / 1e4)
        .collect())
}

fn default_thresholds(model: EmbedderKind) -> Vec<f32> {
    let from = (threshold_floor(model) * 100.0).round() / 100.0;
    let mut out: Vec<f32> = (0..33)
        .map(|i| ((from + i as f32 * 0.01) * 100.0).round() / 100.0)
        .collect();
    out.push(model.default_threshold());
    out
}

/// Smallest number of `enrol` gallery images that reaches `share` (as [`crate::auth::verify`]
/// compares it).
fn needed(share: f32, enrol: usize) -> usize {
    (1..=enrol)
        .find(|&m| m as f32 / enrol as f32 >= share)
        .unwrap_or(enrol + 1)
}

/// A point the settings accept (their own range check), with attempts of both kinds measured.
fn settable(p: &PointReport, model: EmbedderKind) -> bool {
    let settings = Settings {
        model,
        detection_threshold: p.detection,
        verification_threshold: p.share,
        ..Settings::default()
    };
    settings.check(std::path::Path::new("")).is_empty()
        && p.one_frame_far.attempts > 0
        && p.one_frame_frr.attempts > 0
}

/// The one-frame FRR (1 without genuine attempts).
fn frr_of(p: &PointReport) -> f64 {
    p.one_frame_frr.rate.unwrap_or(1.0)
}

/// The targets: the one-frame FAR's 95 % upper bound within `far`, the one-frame FRR within `frr`.
fn meets(p: &PointReport, far: f64, frr: f64) -> bool {
    p.one_frame_far.upper95 <= far && frr_of(p) <= frr
}

/// The lowest detection threshold (the settings accept) whose one-frame FAR upper bound meets
/// `far` and whose one-frame FRR meets `frr`; ties go to the lower FRR. Without one, the point
/// nearest to both targets (the smallest worst ratio to its target).
fn choose(points: &[PointReport], model: EmbedderKind, far: f64, frr: f64) -> Option<Choice> {
    let best = points
        .iter()
        .filter(|p| settable(p, model) && meets(p, far, frr))
        .min_by(|a, b| {
            a.detection
                .total_cmp(&b.detection)
                .then(frr_of(a).total_cmp(&frr_of(b)))
                .then(a.share.total_cmp(&b.share))
        });
    if let Some(p) = best {
        return Some(Choice {
            detection: p.detection,
            share: p.share,
            meets: true,
            note: "the lowest detection threshold that meets both targets".into(),
        });
    }
    let worst = |p: &PointReport| (p.one_frame_far.upper95 / far).max(frr_of(p) / frr);
    let p = points
        .iter()
        .filter(|p| settable(p, model))
        .min_by(|a, b| worst(a).total_cmp(&worst(b)))?;
    let mut misses = Vec::new();
    if p.one_frame_far.upper95 > far {
        misses.push(format!(
            "its FAR bound is {} (target {})",
            pct(p.one_frame_far.upper95, 4),
            pct(far, 4)
        ));
    }
    if frr_of(p) > frr {
        misses.push(format!(
            "its FRR is {} (target {})",
            pct(frr_of(p), 2),
            pct(frr, 2)
        ));
    }
    Some(Choice {
        detection: p.detection,
        share: p.share,
        meets: false,
        note: format!(
            "no point meets both targets; the closest: {}",
            misses.join(", ")
        ),
    })
}

/// Among the points that meet both targets (as [`choose`] reads them), the lowest one-frame FRR;
/// ties go to the lower FAR bound.
fn lowest_frr(points: &[PointReport], model: EmbedderKind, far: f64, frr: f64) -> Option<Choice> {
    points
        .iter()
        .filter(|p| settable(p, model) && meets(p, far, frr))
        .min_by(|a, b| {
            frr_of(a)
                .total_cmp(&frr_of(b))
                .then(a.one_frame_far.upper95.total_cmp(&b.one_frame_far.upper95))
        })
        .map(|p| Choice {
            detection: p.detection,
            share: p.share,
            meets: true,
            note: "the lowest FRR that meets both targets".into(),
        })
}

/// Impostor attempts needed before a run with no false accept shows `far` at 95 %.
fn attempts_needed(far: f64) -> u64 {
    if far <= 0.0 || far >= 1.0 {
        return 0;
    }
    ((1.0 - LEVEL).ln() / (-far).ln_1p()).ceil() as u64
}

fn pct(x: f64, decimals: usize) -> String {
    format!("{:.*} %", decimals, x * 100.0)
}

pub fn evaluate(cli: &Cli, args: &AttemptsArgs) -> anyhow::Result<AttemptsReport> {
    let defaults = Settings::for_model(args.model);
    let (k, n) = (
        args.live_k.unwrap_or(defaults.live_k),
        args.live_n.unwrap_or(defaults.live_n),
    );
    let protocol = Protocol {
        enrol: args.enrol,
        live: KofN::new(k, n)
            .with_context(|| format!("--live-k {k} of --live-n {n} breaks {}", KofN::range()))?,
    };
    let thresholds = match &args.thresholds {
        Some(spec) => parse_range(spec)?,
        None => default_thresholds(args.model),
    };
    let grid = Grid::new(thresholds, args.shares.clone())?;

    let listed = labelled(&args.source)?;
    let total: usize = listed.iter().map(|(_, f)| f.len()).sum();
    anyhow::ensure!(
        total > 0,
        "no photos in {} by identity: give a folder with one sub-folder of photos per person \
         (as LFW's), or a CSV with `path` and `identity` columns",
        crate::shown::Shown(&args.source)
    );
    let store = cli.store()?;
    let mut pipeline = FacePipeline::new(
        &cli.models()?,
        PipelineOptions {
            embedder: args.model,
            ..PipelineOptions::default()
        },
    )?;
    let started = Instant::now();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} photos, {eta} left")
            .expect("valid template"),
    );
    bar.set_message(format!("embedding with {}", pipeline.cache_id()));
    let mut people = Vec::new();
    let mut no_face = Vec::new();
    for (name, files) in &listed {
        let mut images = Vec::with_capacity(files.len());
        for f in files {
            match crate::engine::largest_face_embedding(&store, &mut pipeline, f) {
                Ok(e) => images.push(e),
                Err(crate::Error::NoFace(_)) => no_face.push(f.display().to_string()),
                Err(e) => return Err(e).with_context(|| format!("embedding {}", f.display())),
            }
            bar.inc(1);
        }
        if images.len() >= args.min_images.max(1) {
            people.push(Person {
                name: name.clone(),
                images,
            });
        }
    }
    bar.finish_and_clear();
    let embedding_s = started.elapsed().as_secs_f64();
    tracing::info!(
        "{} identities kept: first {:?}",
        people.len(),
        people.first().map(|p| &p.name)
    );

    // Nobody to enrol: every rate would be a dash, and it exited 0 (journey s38 #4), where
    // `eval pairs` with nothing to measure refuses.
    let most = people.iter().map(|p| p.images.len()).max().unwrap_or(0);
    if most <= protocol.enrol {
        let lower = match most {
            0 | 1 => String::new(),
            n => format!("lower --enrol (--enrol {} at most) or ", n - 1),
        };
        anyhow::bail!(
            "nobody in {} has more than {} photos with a face (the most is {most}): each person \
             is enrolled with their first {} and attempts with the rest, so there is nothing to \
             measure; {lower}give more photos per person",
            crate::shown::Shown(&args.source),
            protocol.enrol,
            protocol.enrol,
        );
    }
    let started = Instant::now();
    let simulation = sim::simulate(&people, &grid, protocol);
    let simulation_s = started.elapsed().as_secs_f64();
    let points: Vec<PointReport> = grid
        .points()
        .zip(&simulation.points)
        .map(|(th, t)| PointReport {
            detection: th.detection,
            share: th.verification,
            needed: needed(th.verification, protocol.enrol),
            one_frame_far: t.one_frame_far.into(),
            one_frame_frr: t.one_frame_frr.into(),
            live_far: t.live_far.into(),
            live_frr: t.live_frr.into(),
        })
        .collect();
    let today = points
        .iter()
        .find(|p| {
            p.detection == defaults.detection_threshold
                && p.share == defaults.verification_threshold
        })
        .cloned();
    Ok(AttemptsReport {
        source: args.source.display().to_string(),
        model: pipeline.cache_id(),
        protocol,
        identities: people.len(),
        images: people.iter().map(|p| p.images.len()).sum(),
        no_face,
        enrolled: simulation.enrolled,
        live_genuine_people: simulation.live_genuine_people,
        far_target: args.far,
        frr_max: args.frr,
        criterion: "one-frame FAR's 95 % upper bound ≤ far_target and one-frame FRR ≤ frr_max, \
                    lowest detection threshold first"
            .into(),
        impostor_attempts_needed: attempts_needed(args.far),
        defaults: today,
        choice: choose(&points, args.model, args.far, args.frr),
        lowest_frr: lowest_frr(&points, args.model, args.far, args.frr),
        points,
        embedding_s,
        simulation_s,
    })
}

fn rate_cell(r: &Rate, decimals: usize) -> String {
    match r.rate {
        Some(x) => format!("{} ({})", pct(x, decimals), r.errors),
        None => "–".into(),
    }
}

fn bound_cell(r: &Rate, decimals: usize) -> String {
    if r.attempts == 0 {
        "–".into()
    } else {
        pct(r.upper95, decimals)
    }
}

fn describe(p: &PointReport, enrol: usize) -> String {
    format!(
        "detection {}, share {} ({} of {enrol}): one-frame FAR {} (≤ {}), FRR {} (≤ {}); \
         live FAR {} (≤ {}), FRR {} (≤ {})",
        p.detection,
        p.share,
        p.needed,
        rate_cell(&p.one_frame_far, 4),
        bound_cell(&p.one_frame_far, 4),
        rate_cell(&p.one_frame_frr, 2),
        bound_cell(&p.one_frame_frr, 2),
        rate_cell(&p.live_far, 4),
        bound_cell(&p.live_far, 4),
        rate_cell(&p.live_frr, 2),
        bound_cell(&p.live_frr, 2),
    )
}

pub fn run(cli: &Cli, args: &AttemptsArgs) -> anyhow::Result<u8> {
    if let Some(notice) = args.model.licence_notice() {
        eprintln!("{notice}");
    }
    let report = evaluate(cli, args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(exit::OK);
    }
    let (p, first) = (&report.protocol, report.points.first());
    let attempts = |f: fn(&PointReport) -> &Rate| first.map_or(0, |x| f(x).attempts);
    println!(
        "{} on {}: {} identities, {} photos (no face in {}); {} enrolled with their first {}.",
        report.model,
        report.source,
        report.identities,
        report.images,
        report.no_face.len(),
        report.enrolled,
        p.enrol
    );
    println!(
        "One-frame attempts: {} genuine, {} impostor. Live ({} of {} consecutive photos): {} genuine \
         (from {} people), {} impostor.",
        attempts(|x| &x.one_frame_frr),
        attempts(|x| &x.one_frame_far),
        p.live.k(),
        p.live.n(),
        attempts(|x| &x.live_frr),
        report.live_genuine_people,
        attempts(|x| &x.live_far),
    );
    println!(
        "Rates with their error counts; ≤: the 95 % upper bound (Clopper–Pearson, one-sided).\n"
    );
    println!(
        "| detection | share | 1-frame FAR | ≤ | 1-frame FRR | ≤ | live FAR | ≤ | live FRR | ≤ |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for x in &report.points {
        println!(
            "| {} | {} ({}/{}) | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.detection,
            x.share,
            x.needed,
            p.enrol,
            rate_cell(&x.one_frame_far, 4),
            bound_cell(&x.one_frame_far, 4),
            rate_cell(&x.one_frame_frr, 2),
            bound_cell(&x.one_frame_frr, 2),
            rate_cell(&x.live_far, 4),
            bound_cell(&x.live_far, 4),
            rate_cell(&x.live_frr, 2),
            bound_cell(&x.live_frr, 2),
        );
    }
    println!();
    if let Some(d) = &report.defaults {
        println!("Today's defaults: {}", describe(d, p.enrol));
    }
    let impostors = attempts(|x| &x.one_frame_far);
    if impostors < report.impostor_attempts_needed {
        println!(
            "Too few impostor attempts to show FAR ≤ {} at 95 %: {} needed even with no false \
             accept, {} here.",
            pct(report.far_target, 4),
            report.impostor_attempts_needed,
            impostors
        );
    }
    match &report.choice {
        Some(c) => {
            let point = report
                .points
                .iter()
                .find(|x| x.detection == c.detection && x.share == c.share)
                .expect("the choice is a grid point");
            println!(
                "{} (FAR bound ≤ {} and FRR ≤ {} per one-frame attempt): {}: {}",
                if c.meets { "Chosen" } else { "Not met" },
                pct(report.far_target, 4),
                pct(report.frr_max, 2),
                c.note,
                describe(point, p.enrol)
            );
        }
        None => println!("No grid point the settings accept was measured."),
    }
    if let Some(c) = &report.lowest_frr
        && report
            .choice
            .as_ref()
            .is_some_and(|x| (x.detection, x.share) != (c.detection, c.share))
    {
        let point = report
            .points
            .iter()
            .find(|x| x.detection == c.detection && x.share == c.share)
            .expect("a grid point");
        println!("Lowest FRR that meets both: {}", describe(point, p.enrol));
    }
    eprintln!(
        "embedding {:.1} s, simulation {:.1} s",
        report.embedding_s, report.simulation_s
    );
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_shares_and_targets() {
        assert_eq!(parse_range("0.3:0.32:0.01").unwrap(), [0.3, 0.31, 0.32]);
        assert!(parse_range("0.3:0.2:0.01").is_err());
        assert!(parse_range("0.3").is_err());
        let many = parse_range("0:1:0.0001").unwrap_err().to_string();
        assert!(many.contains("10001 thresholds; at most 1000"), "{many}");
        assert_eq!(parse_range("0:0.999:0.001").unwrap().len(), 1000);
        // Just under 1000 steps by the division, 1001 thresholds by the count.
        assert!(parse_range("0:0.01:0.00001").is_err());
        assert_eq!(needed(0.6, 3), 2);
        assert_eq!(needed(1.0, 3), 3);
        assert_eq!(needed(0.5, 4), 2);
        // ln(0.05) / ln(1 − 2e-5): about 3 / 2e-5.
        assert_eq!(attempts_needed(0.00002), 149_786);
        assert!(crate::bounds::upper(0, 149_786, LEVEL) <= 0.00002);
        assert!(crate::bounds::upper(0, 149_785, LEVEL) > 0.00002);
        let d = default_thresholds(EmbedderKind::Sface);
        assert_eq!((d[0], d[32], d.len()), (0.29, 0.61, 34));
    }

    fn point(detection: f32, share: f32, far: (u64, u64), frr: (u64, u64)) -> PointReport {
        let rate = |(errors, attempts)| Rate::from(Tally { errors, attempts });
        PointReport {
            detection,
            share,
            needed: 2,
            one_frame_far: rate(far),
            one_frame_frr: rate(frr),
            live_far: rate((0, 0)),
            live_frr: rate((0, 0)),
        }
    }

    #[test]
    fn chooses_the_lowest_threshold_that_meets_both() {
        let points = [
            point(0.36, 0.6, (200, 800_000), (10, 600)),
            point(0.42, 0.6, (5, 800_000), (20, 600)),
            point(0.42, 1.0, (2, 800_000), (25, 600)),
            point(0.45, 0.6, (1, 800_000), (28, 600)),
            point(0.50, 0.6, (0, 800_000), (60, 600)),
        ];
        let c = choose(&points, EmbedderKind::Sface, 0.00002, 0.05).unwrap();
        assert!(c.meets);
        assert_eq!((c.detection, c.share), (0.42, 0.6));
        // A stricter FAR: none meets both at 5 % FRR; the closest is named, not met.
        let c = choose(&points, EmbedderKind::Sface, 0.000001, 0.05).unwrap();
        assert!(!c.meets);
        assert!(c.note.contains("FAR bound"), "{}", c.note);
        // The lowest FRR among those that meet both: here the same point.
        let c = lowest_frr(&points, EmbedderKind::Sface, 0.00002, 0.05).unwrap();
        assert_eq!((c.detection, c.share), (0.42, 0.6));
        let points = [
            point(0.40, 1.0, (3, 800_000), (29, 600)),
            point(0.44, 0.6, (4, 800_000), (15, 600)),
        ];
        let first = choose(&points, EmbedderKind::Sface, 0.00002, 0.05).unwrap();
        assert_eq!((first.detection, first.share), (0.40, 1.0));
        let best = lowest_frr(&points, EmbedderKind::Sface, 0.00002, 0.05).unwrap();
        assert_eq!((best.detection, best.share), (0.44, 0.6));
    }
}
