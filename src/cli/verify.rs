//! `facegate verify`, `facegate identify` and `facegate lookalike`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::camera::{self, ReplayOptions, SourceSpec};
use crate::live::Tracker;
use crate::liveness::{LivenessScore, PassiveConfig, PassiveWindow};
use crate::verify::Verification;
use crate::verify::engine::{AttemptDetails, Engine};
use crate::verify::live::{LiveRule, LiveSession, LiveState};
use crate::{Error, imageio};

/// `verify` exit statuses beyond the shared ones.
pub const EXIT_LOCKED_OUT: u8 = 4;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    pub name: String,
    /// Photo to verify
    #[arg(required_unless_present_any = ["replay", "camera"], conflicts_with_all = ["replay", "camera"])]
    pub image: Option<PathBuf>,
    /// Run the live rule (K of the last N frames) on a video file or image folder
    #[arg(long, value_name = "VIDEO_OR_DIR", conflicts_with = "camera")]
    pub replay: Option<PathBuf>,
    /// Run the live rule on camera N (face unlock, e.g. from PAM)
    #[arg(long, value_name = "N")]
    pub camera: Option<u32>,
    /// Seconds before a live attempt gives up [default: from settings]
    #[arg(long)]
    pub timeout: Option<f32>,
    /// Also require natural face motion (passive liveness over 2-s windows): refuses a photo
    /// held up to the camera or replayed as video
    #[arg(long)]
    pub liveness: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IdentifyArgs {
    pub image: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LookalikeArgs {
    pub image: PathBuf,
    /// Folder with one sub-folder of photos per identity
    #[arg(long)]
    pub gallery: PathBuf,
    #[arg(long)]
    pub json: bool,
}

fn print_verification(name: &str, v: &Verification) {
    let verdict = if v.accepted { "ACCEPTED" } else { "REJECTED" };
    println!(
        "{verdict}: {name} matched {}/{} verification images ({:.0} %, need {:.0} %); best {:.3}, template {:.3}, match above {:.3}",
        v.matched,
        v.total,
        v.share * 100.0,
        v.thresholds.verification * 100.0,
        v.best,
        v.template_score,
        v.thresholds.detection
    );
    for c in &v.comparisons {
        println!(
            "  {} {:.3}{}",
            c.image,
            c.score,
            if c.matched { "  match" } else { "" }
        );
    }
}

/// Maps the library's refusals onto verify's exit statuses.
fn refusal(e: Error) -> anyhow::Result<u8> {
    match e {
        Error::NoFace(path) => {
            eprintln!("no face found in {}", path.display());
            Ok(exit::NO_FACE)
        }
        Error::LockedOut { .. } => {
            eprintln!("{e}");
            Ok(EXIT_LOCKED_OUT)
        }
        other => Err(other.into()),
    }
}

pub fn verify(cli: &Cli, args: &VerifyArgs) -> anyhow::Result<u8> {
    let mut engine = cli.engine()?;
    if let Some(replay) = &args.replay {
        return verify_live(&mut engine, args, SourceSpec::Replay(replay.clone()));
    }
    if let Some(index) = args.camera {
        return verify_live(&mut engine, args, SourceSpec::camera(index));
    }
    let path = args
        .image
        .as_ref()
        .expect("clap requires an image without --replay");
    let img = imageio::load(path)?;
    match engine.verify(&args.name, &img, path) {
        Ok(verdict) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                print_verification(&args.name, &verdict.verification);
            }
            Ok(if verdict.verification.accepted {
                exit::OK
            } else {
                exit::DIFFERENT
            })
        }
        Err(e) => refusal(e),
    }
}

#[derive(Serialize)]
struct LiveReport {
    person: String,
    accepted: bool,
    frames: u64,
    frames_with_face: u64,
    seconds: f32,
    last: Option<Verification>,
    /// With `--liveness`: the live window, or the last window judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    liveness: Option<LivenessScore>,
}

/// The live rule on a camera, or on a recorded clip or folder in real time as a camera would
/// deliver it.
fn verify_live(engine: &mut Engine, args: &VerifyArgs, spec: SourceSpec) -> anyhow::Result<u8> {
    let person = &args.name;
    engine.store.require_person(person)?;
    if let Some(seconds) = engine.lockout_remaining(person) {
        return refusal(Error::LockedOut {
            person: person.clone(),
            seconds,
        });
    }
    let settings = engine.settings.clone();
    let rule = LiveRule {
        k: settings.live_k,
        n: settings.live_n,
        timeout: Duration::from_secs_f32(args.timeout.unwrap_or(settings.live_timeout_s)),
    };
    let mut source = camera::open_with(&spec, ReplayOptions::default())?;
    let label = PathBuf::from(source.describe());
    let start = Instant::now();
    let mut session = LiveSession::new(rule, start);
    let (mut frames, mut with_face, mut last) = (0u64, 0u64, None);
    // With --liveness, the frames the live rule reads are also judged in non-overlapping 2-s
    // windows; one live window is needed besides K of N verified frames, within the time-out.
    let mut passive = args
        .liveness
        .then(|| PassiveWindow::new(PassiveConfig::default()));
    let mut judged: Option<LivenessScore> = None;
    // Verification and liveness must rest on one presentation: the live window takes only frames
    // that verified as the person, and both start over when the tracked face changes (a photo
    // for the match and someone else's moving face for liveness would otherwise add up).
    let mut tracker = Tracker::default();
    let mut track = None;
    let mut last_frame = None;
    loop {
        let live_ok = passive.is_none() || judged.is_some_and(|s| s.live);
        match session.state() {
            LiveState::Accepted if live_ok => break,
            LiveState::TimedOut => break,
            LiveState::Accepted if start.elapsed() >= rule.timeout => break,
            _ => {}
        }
        let frame = source.next_frame()?;
        frames += 1;
        let verdict = match engine.probe(&frame.image, &label) {
            Ok((face, probe)) => {
                with_face += 1;
                let id = tracker.update(std::slice::from_ref(&face))[0];
                if track.replace(id).is_some_and(|t| t != id) {
                    session = LiveSession::new(rule, start);
                    judged = None;
                    if let Some(window) = &mut passive {
                        window.clear();
                    }
                }
                let v = engine.verify_frame(person, &probe)?;
                let accepted = v.accepted;
                if let Some(window) = &mut passive
                    && accepted
                    && !judged.is_some_and(|s| s.live)
                {
                    let t = frame.captured_at.saturating_duration_since(start);
                    window.push(&frame.image, &face, t.as_secs_f64());
                    if window.is_full() {
                        judged = window.score();
                        window.clear();
                    }
                }
                last = Some(v);
                Some(accepted)
            }
            Err(Error::NoFace(_) | Error::Quality(_)) => None,
            Err(e) => return Err(e.into()),
        };
        last_frame = Some(frame);
        session.push(verdict, Instant::now());
    }
    let verified = session.state() == LiveState::Accepted;
    let live = passive.is_none() || judged.is_some_and(|s| s.live);
    let accepted = verified && live;
    engine.record_attempt(
        person,
        accepted,
        AttemptDetails {
            last: last.as_ref(),
            liveness: judged.map(|s| s.score),
            frame: last_frame.as_ref().map(|f| &f.image),
        },
    )?;
    let report = LiveReport {
        person: person.clone(),
        accepted,
        frames,
        frames_with_face: with_face,
        seconds: start.elapsed().as_secs_f32(),
        last,
        liveness: judged,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let (ok, n) = session.progress();
        println!(
            "{}: {person} after {} frames in {:.1} s ({ok} of the last {n} verified, need {} of {})",
            if accepted {
                "ACCEPTED"
            } else if verified {
                "REJECTED (no natural face motion: looks like a photo)"
            } else {
                "REJECTED (timed out)"
            },
            report.frames,
            report.seconds,
            rule.k,
            rule.n
        );
        if let Some(s) = &judged {
            println!(
                "  liveness {:.2} (live at {:.2}) over {:.1} s, {} frames: non-rigid motion {:.4}, frame change {:.2}, texture {:.3}",
                s.score,
                PassiveConfig::default().threshold,
                s.span_s,
                s.frames,
                s.nonrigid,
                s.temporal,
                s.texture
            );
        } else if passive.is_some() {
            println!("  liveness: no complete window of one face before the time-out");
        }
    }
    if verified && !live {
        eprintln!("no natural face motion: looks like a photo; refused");
    }
    Ok(if accepted { exit::OK } else { exit::DIFFERENT })
}

pub fn identify(cli: &Cli, args: &IdentifyArgs) -> anyhow::Result<u8> {
    let mut engine = cli.engine()?;
    let img = imageio::load(&args.image)?;
    let probe = match engine.probe(&img, &args.image) {
        Ok((_, p)) => p,
        Err(e) => return refusal(e),
    };
    let id = engine.identify_embedding(&probe)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&id)?);
    } else {
        match &id.identity {
            Some(name) => println!("identified: {name}"),
            None => println!("unknown: nobody enrolled passes verification"),
        }
        for c in &id.ranking {
            println!(
                "  {:<24} mean {:.3}  matched {}/{}",
                c.name, c.mean_score, c.verification.matched, c.verification.total
            );
        }
    }
    Ok(if id.identity.is_some() {
        exit::OK
    } else {
        exit::DIFFERENT
    })
}

#[derive(Serialize)]
struct Resemblance {
    identity: String,
    best_similarity: f32,
    photo: PathBuf,
}

/// Nearest identity in a folder-per-identity gallery. Resemblance, not identity: nobody here
/// enrolled, and a stranger always has *some* nearest neighbour.
pub fn lookalike(cli: &Cli, args: &LookalikeArgs) -> anyhow::Result<u8> {
    let mut engine = cli.engine()?;
    let img = imageio::load(&args.image)?;
    let probe = match engine.probe(&img, &args.image) {
        Ok((_, p)) => p,
        Err(e) => return refusal(e),
    };
    let mut best: BTreeMap<String, (f32, PathBuf)> = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&args.gallery)
        .map_err(|e| anyhow::anyhow!("cannot read gallery {}: {e}", args.gallery.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let identity = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for photo in super::people::image_files(std::slice::from_ref(&dir))? {
            // Unreadable photos and photos without a face are simply not candidates.
            let Ok(embedding) = engine.store.photo_embedding(&mut engine.pipeline, &photo) else {
                continue;
            };
            let sim = probe.cosine(&embedding);
            let entry = best
                .entry(identity.clone())
                .or_insert((f32::NEG_INFINITY, photo.clone()));
            if sim > entry.0 {
                *entry = (sim, photo);
            }
        }
    }
    let mut ranking: Vec<Resemblance> = best
        .into_iter()
        .map(|(identity, (best_similarity, photo))| Resemblance {
            identity,
            best_similarity,
            photo,
        })
        .collect();
    ranking.sort_by(|a, b| b.best_similarity.total_cmp(&a.best_similarity));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&ranking)?);
    } else if let Some(top) = ranking.first() {
        println!(
            "looks most like {} (similarity {:.3}, {}): a resemblance, not an identification",
            top.identity,
            top.best_similarity,
            top.photo.display()
        );
        for r in ranking.iter().skip(1).take(4) {
            println!("  then {} ({:.3})", r.identity, r.best_similarity);
        }
    } else {
        println!("no faces found in the gallery {}", args.gallery.display());
    }
    Ok(exit::OK)
}
