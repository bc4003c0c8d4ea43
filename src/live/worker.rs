//! The inference worker: owns the engine (ONNX sessions, store) and turns frames and commands
//! into events. Runs detection on every frame it gets; embeds only when a mode or a request needs
//! it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use image::imageops;
use uuid::Uuid;

use super::messages::*;
use super::tracker::Tracker;
use crate::camera::Frame;
use crate::liveness::Direction;
use crate::liveness::unlock::{CheckStep, UnlockCheck};
use crate::runtime::Models;
use crate::store::{Gallery, ImageKind, Store};
use crate::verify::engine::{AttemptDetails, Engine};
use crate::verify::live::{LiveRule, LiveSession, LiveState};
use crate::verify::quality::{self, QualityIssue};
use crate::verify::{self, Verification};
use crate::vision::attributes::{AttributeModel, Attributes, Smoother};
use crate::vision::{Embedding, Face, align_arcface};

const THUMBNAIL_SIDE: u32 = 64;
/// Attributes change slowly; refreshing each face a few times a second keeps the labels live
/// without taking frames from detection.
const ATTRIBUTE_PERIOD: Duration = Duration::from_millis(250);
/// Weight of each new attribute reading: settles in about two seconds at four readings a second.
const ATTRIBUTE_SMOOTHING: f32 = 0.3;
/// Live frames are detected on a copy at most this wide: YuNet at 320×240 meets the 8 ms budget
/// where 640×480 does not, and a face at the capture gate (eyes ≥ 25 px apart at full size) is
/// still ~35 px wide there, well inside what YuNet finds. Captures still detect at full size.
pub const LIVE_MAX_SIDE: u32 = 320;
/// In continuous mode, a face the tracker has verified is verified again after this long; in
/// between, its label keeps the last verdict. A new face is verified on its first frame, and
/// attempts and unlock verify every frame, since each frame is a vote there.
const VERDICT_PERIOD: Duration = Duration::from_millis(200);

pub fn spawn(
    models: Option<Models>,
    store: Store,
    frames: Receiver<Arc<Frame>>,
    commands: Receiver<Command>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || {
            let Some(models) = models else {
                return idle(
                    &events,
                    &wake,
                    &commands,
                    "no models folder; run `make setup`".into(),
                );
            };
            let engine = match Engine::new(&models, store) {
                Ok(engine) => engine,
                Err(e) => return idle(&events, &wake, &commands, format!("{e:#}")),
            };
            let mut worker = Worker {
                engine,
                models,
                events,
                wake,
                person: None,
                mode: Mode::Detect,
                attempt: None,
                unlock: None,
                unlock_check: None,
                galleries: HashMap::new(),
                latest: None,
                attributes: None,
                attributes_on: true,
                tracker: Tracker::default(),
                smoother: Smoother::new(ATTRIBUTE_SMOOTHING),
                last_attributes: HashMap::new(),
                last_verdict: None,
            };
            worker.announce();
            while !stop.load(Ordering::Relaxed) {
                select! {
                    recv(commands) -> cmd => match cmd {
                        Ok(Command::Shutdown) | Err(_) => break,
                        Ok(cmd) => worker.handle(cmd),
                    },
                    recv(frames) -> frame => match frame {
                        Ok(frame) => worker.analyse(frame),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    },
                }
            }
        })
        .expect("spawn the inference worker")
}

/// Without models the feed still runs; every request gets the same explanation.
fn idle(
    events: &Sender<Event>,
    wake: &Arc<dyn Fn() + Send + Sync>,
    commands: &Receiver<Command>,
    why: String,
) {
    let _ = events.send(Event::Error(format!("face analysis is off: {why}")));
    wake();
    while let Ok(cmd) = commands.recv() {
        if matches!(cmd, Command::Shutdown) {
            return;
        }
    }
}

struct Worker {
    engine: Engine,
    models: Models,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    person: Option<String>,
    mode: Mode,
    /// A Verify attempt in progress (for `person`).
    attempt: Option<LiveSession>,
    /// Unlock mode: the candidate being verified and their live session, or a final status.
    unlock: Option<(String, LiveSession)>,
    /// Unlock with liveness on: the check for the current candidate (head turn + passive score).
    unlock_check: Option<UnlockCheck>,
    /// Verification embeddings per person, so frames never touch the disk.
    galleries: HashMap<String, Vec<(Uuid, Embedding)>>,
    latest: Option<Arc<Frame>>,
    /// Built on first use, so a user who never turns attributes on never loads them.
    attributes: Option<AttributeModel>,
    attributes_on: bool,
    tracker: Tracker,
    smoother: Smoother<u64>,
    /// When each tracked face last had its attributes refreshed.
    last_attributes: HashMap<u64, Instant>,
    /// Continuous mode: the last verdict, for the tracked face it was made on.
    last_verdict: Option<LastVerdict>,
}

struct LastVerdict {
    track: u64,
    at: Instant,
    text: Option<String>,
    verified: Option<bool>,
}

impl Worker {
    fn send(&self, event: Event) {
        let _ = self.events.send(event);
        (self.wake)();
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        self.send(Event::Error(format!("{what}: {e:#}")));
    }

    fn announce(&self) {
        match self.engine.store.people() {
            Ok(people) => self.send(Event::Ready {
                people,
                settings: self.engine.settings.clone(),
            }),
            Err(e) => self.fail("cannot read the store", e),
        }
    }

    fn live_rule(&self) -> LiveRule {
        let s = &self.engine.settings;
        LiveRule {
            k: s.live_k,
            n: s.live_n,
            timeout: Duration::from_secs_f32(s.live_timeout_s),
        }
    }

    fn gallery(&mut self, person: &str) -> crate::Result<&[(Uuid, Embedding)]> {
        if !self.galleries.contains_key(person) {
            let g = self.engine.embeddings(&Gallery::Person {
                name: person.to_owned(),
                kind: ImageKind::Verification,
            })?;
            self.galleries.insert(person.to_owned(), g);
        }
        Ok(&self.galleries[person])
    }

    fn send_thumbnails(&self, person: &str, kind: ImageKind) {
        let gallery = Gallery::Person {
            name: person.to_owned(),
            kind,
        };
        let faces = match self.engine.store.faces(&gallery) {
            Ok(f) => f,
            Err(e) => return self.fail("cannot list images", e),
        };
        let thumbnails = faces
            .iter()
            .filter_map(|f| {
                let crop = self.engine.store.load_crop(f).ok()?;
                let aligned = align_arcface(&crop, &f.meta.face).image;
                Some(Thumbnail {
                    id: f.meta.id,
                    image: imageops::thumbnail(&aligned, THUMBNAIL_SIDE, THUMBNAIL_SIDE),
                })
            })
            .collect();
        self.send(Event::Gallery {
            person: person.to_owned(),
            kind,
            thumbnails,
        });
    }

    /// Collects the embeddings here (cached, quick), then fits the head on its own thread so
    /// frames keep flowing while the loss curve grows in the window.
    fn train(&mut self) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::Trained(Err("choose a person first".into())));
        };
        let config = crate::train::TrainConfig::default();
        let threshold = self.engine.settings.detection_threshold;
        let trainer = crate::train::collect(&mut self.engine, &person)
            .and_then(|data| crate::train::prepare(&data, threshold, &config));
        let trainer = match trainer {
            Ok(t) => t,
            Err(e) => return self.send(Event::Trained(Err(e.to_string()))),
        };
        let events = self.events.clone();
        let wake = self.wake.clone();
        let root = self.engine.store.root().to_owned();
        let spawned = std::thread::Builder::new()
            .name("train".into())
            .spawn(move || {
                let trained = trainer.run(|epoch| {
                    let _ = events.send(Event::TrainProgress(*epoch));
                    wake();
                });
                let saved = crate::train::SavedHead::new(&trained.report, trained.head);
                let result = crate::store::Store::open(&root)
                    .map_err(crate::train::TrainError::from)
                    .and_then(|store| crate::train::save_head(&store, &person, &saved))
                    .map(|()| Box::new(trained.report))
                    .map_err(|e| e.to_string());
                let _ = events.send(Event::Trained(result));
                wake();
            });
        if let Err(e) = spawned {
            self.send(Event::Trained(Err(format!("cannot start training: {e}"))));
        }
    }

    fn send_scores(&mut self, person: &str) {
        match crate::verify::calibrate::person_scores(&mut self.engine, person) {
            Ok(scores) => self.send(Event::PersonScores(scores)),
            Err(e) => self.fail("cannot score the person's images", e),
        }
    }

    fn handle(&mut self, cmd: Command) {
        // Any command may change what a verdict rests on (person, gallery, thresholds, mode).
        self.last_verdict = None;
        match cmd {
            Command::SelectPerson(person) => {
                self.attempt = None;
                if let Some(p) = &person {
                    for kind in ImageKind::ALL {
                        self.send_thumbnails(p, kind);
                    }
                    self.send_scores(p);
                }
                self.person = person;
            }
            Command::AddPerson(name) => match self.engine.store.add_person(&name) {
                Ok(()) => {
                    if let Ok(people) = self.engine.store.people() {
                        self.send(Event::People(people));
                    }
                }
                Err(e) => self.fail("cannot add the person", e),
            },
            Command::Capture(kind) => self.capture(kind),
            Command::DeleteImage { kind, id } => {
                let Some(person) = self.person.clone() else {
                    return;
                };
                let gallery = Gallery::Person {
                    name: person.clone(),
                    kind,
                };
                match self.engine.store.delete_face(&gallery, id) {
                    Ok(()) => {
                        self.galleries.remove(&person);
                        self.send_thumbnails(&person, kind);
                        self.send_scores(&person);
                    }
                    Err(e) => self.fail("cannot delete the image", e),
                }
            }
            Command::SetMode(mode) => {
                self.mode = mode;
                self.unlock = None;
                self.unlock_check = None;
                self.attempt = None;
            }
            Command::Verify => self.start_attempt(),
            Command::Identify => self.identify_latest(),
            Command::UpdateSettings(settings) => {
                let model_changed = settings.model != self.engine.settings.model;
                let vectors_changed =
                    model_changed || settings.preprocess != self.engine.settings.preprocess;
                if let Err(e) = self.engine.store.save_settings(&settings) {
                    return self.fail("cannot save the settings", e);
                }
                if model_changed {
                    // A different embedder needs its own session.
                    let options = crate::pipeline::PipelineOptions {
                        embedder: settings.model,
                        ..Default::default()
                    };
                    match crate::pipeline::FacePipeline::new(&self.models, options) {
                        Ok(p) => self.engine.pipeline = p,
                        Err(e) => return self.fail("cannot load the model", e),
                    }
                }
                self.engine.pipeline.preprocess = settings.preprocess;
                if vectors_changed {
                    // Gallery vectors depend on the model and the preprocessing.
                    self.galleries.clear();
                }
                self.engine.settings = settings.clone();
                self.send(Event::SettingsSaved(settings));
                if vectors_changed && let Some(p) = self.person.clone() {
                    self.send_scores(&p);
                }
            }
            Command::SetAttributes(on) => self.attributes_on = on,
            Command::Train => self.train(),
            Command::Compare(a, b) => {
                let result = self.compare(&a, &b).map_err(|e| format!("{e:#}"));
                self.send(Event::Compared(result));
            }
            Command::Shutdown => {}
        }
    }

    fn capture(&mut self, kind: ImageKind) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::CaptureRefused("choose or add a person first".into()));
        };
        let Some(frame) = self.latest.clone() else {
            return self.send(Event::CaptureRefused("no frame yet".into()));
        };
        let gallery = Gallery::Person {
            name: person.clone(),
            kind,
        };
        match self.engine.capture(&gallery, &frame.image, None) {
            Ok((stored, _)) => {
                self.galleries.remove(&person);
                self.send(Event::Captured {
                    kind,
                    id: stored.meta.id,
                });
                self.send_thumbnails(&person, kind);
                self.send_scores(&person);
            }
            Err(crate::Error::Quality(issue)) => {
                self.send(Event::CaptureRefused(issue.to_string()))
            }
            Err(e) => self.fail("capture failed", e),
        }
    }

    fn start_attempt(&mut self) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::Error("choose a person to verify".into()));
        };
        if let Some(seconds) = self.engine.lockout_remaining(&person) {
            return self.send(Event::Error(format!(
                "{person} is locked out for {seconds} more s"
            )));
        }
        self.attempt = Some(LiveSession::new(self.live_rule(), Instant::now()));
    }

    fn identify_latest(&mut self) {
        let Some(frame) = self.latest.clone() else {
            return;
        };
        match self
            .engine
            .probe(&frame.image, Path::new("the current frame"))
        {
            Ok((_, probe)) => match self.engine.identify_embedding(&probe) {
                Ok(id) => self.send(Event::Identified(id)),
                Err(e) => self.fail("identification failed", e),
            },
            Err(e) => self.fail("cannot identify", e),
        }
    }

    fn compare(&mut self, a: &Path, b: &Path) -> crate::Result<CompareResult> {
        let mut side = |p: &Path| -> crate::Result<_> {
            let img = crate::imageio::load(p)?;
            let probe = self.engine.pipeline.probe(&img, p)?;
            Ok((align_arcface(&img, &probe.face).image, probe.embedding))
        };
        let (crop_a, ea) = side(a)?;
        let (crop_b, eb) = side(b)?;
        let similarity = ea.cosine(&eb);
        let threshold = self.engine.settings.detection_threshold;
        Ok(CompareResult {
            a: crop_a,
            b: crop_b,
            similarity,
            threshold,
            same: similarity > threshold,
        })
    }

    fn analyse(&mut self, frame: Arc<Frame>) {
        let t0 = Instant::now();
        // Captures and attempt records refer to the frame being analysed.
        self.latest = Some(frame.clone());
        let detected = self
            .engine
            .pipeline
            .detector
            .detect_at(&frame.image, LIVE_MAX_SIDE);
        let faces = match detected {
            Ok(f) => f,
            Err(e) => return self.fail("detection failed", e),
        };
        let mut timings = Timings {
            detect_ms: ms(t0),
            ..Timings::default()
        };
        let ids = self.tracker.update(&faces);
        let t = Instant::now();
        let attributes = self.attributes_for(&frame, &faces, &ids);
        timings.attributes_ms = if attributes.1 { ms(t) } else { 0.0 };
        let mut labels: Vec<FaceLabel> = faces
            .iter()
            .zip(attributes.0)
            .map(|(f, attributes)| FaceLabel {
                face: f.clone(),
                text: None,
                verified: None,
                attributes,
            })
            .collect();
        let verifying = self.attempt.is_some() || self.mode == Mode::Continuous;
        let main = quality::main_face(&faces, quality::AMBIGUOUS_FACE_RATIO)
            .ok()
            .and_then(|face| faces.iter().position(|f| std::ptr::eq(f, face)));
        if let Some(index) = main
            && self.reuse_verdict(ids[index], &mut labels[index])
        {
            // Same face, recent verdict: no embedding this frame.
        } else if verifying || self.mode == Mode::Unlock {
            if let Some((index, probe)) = self.embed_face(&frame, &faces, main, &mut timings) {
                let t = Instant::now();
                if self.mode == Mode::Unlock {
                    self.unlock_step(&frame.image, &probe, &mut labels[index]);
                } else if let Some(person) = self.person.clone() {
                    self.verify_step(&person, &probe, &mut labels[index]);
                    if self.attempt.is_none() {
                        self.last_verdict = Some(LastVerdict {
                            track: ids[index],
                            at: Instant::now(),
                            text: labels[index].text.clone(),
                            verified: labels[index].verified,
                        });
                    }
                }
                timings.verify_ms = ms(t);
            } else if self.mode == Mode::Unlock {
                let reason = match quality::main_face(&faces, quality::AMBIGUOUS_FACE_RATIO) {
                    Err(QualityIssue::ManyFaces(n)) => {
                        format!("{n} people in view; only one at a time")
                    }
                    _ => "no face in view".to_owned(),
                };
                self.unlock_no_face(reason);
            } else if let Some(attempt) = &mut self.attempt {
                attempt.push(None, Instant::now());
                self.finish_attempt_if_done(None);
            }
        }
        self.send(Event::Analysis(Analysis {
            frame_index: frame.index,
            captured_at: frame.captured_at,
            faces: labels,
            timings,
            latency_ms: ms(frame.captured_at),
        }));
    }

    /// Smoothed attributes per face (refreshing those due), and whether any model ran.
    fn attributes_for(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        ids: &[u64],
    ) -> (Vec<Option<Attributes>>, bool) {
        self.smoother.retain(|id| ids.contains(id));
        self.last_attributes.retain(|id, _| ids.contains(id));
        if !self.attributes_on {
            return (vec![None; faces.len()], false);
        }
        if self.attributes.is_none() {
            match AttributeModel::new(&self.models) {
                Ok(m) => self.attributes = Some(m),
                Err(e) => {
                    self.attributes_on = false;
                    self.fail("age, gender and emotion are off", e);
                    return (vec![None; faces.len()], false);
                }
            }
        }
        let model = self.attributes.as_mut().expect("loaded above");
        let now = Instant::now();
        let mut ran = false;
        let out = faces
            .iter()
            .zip(ids)
            .map(|(face, id)| {
                let due = self
                    .last_attributes
                    .get(id)
                    .is_none_or(|t| now.duration_since(*t) >= ATTRIBUTE_PERIOD);
                if due {
                    self.last_attributes.insert(*id, now);
                    ran = true;
                    match model.analyze(&frame.image, face) {
                        Ok(Some(fresh)) => return Some(self.smoother.update(*id, &fresh)),
                        Ok(None) => return None,
                        Err(e) => tracing::warn!("attributes failed: {e}"),
                    }
                }
                self.smoother.get(id).copied()
            })
            .collect();
        (out, ran)
    }

    /// Continuous mode only: labels the tracked face with its last verdict while that is recent.
    fn reuse_verdict(&self, track: u64, label: &mut FaceLabel) -> bool {
        let recent = self.mode == Mode::Continuous
            && self.attempt.is_none()
            && self
                .last_verdict
                .as_ref()
                .is_some_and(|v| v.track == track && v.at.elapsed() < VERDICT_PERIOD);
        if recent && let Some(v) = &self.last_verdict {
            label.text.clone_from(&v.text);
            label.verified = v.verified;
        }
        recent
    }

    /// `main` (the person nearest the camera, if the frame has exactly one) and its embedding.
    fn embed_face(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        main: Option<usize>,
        timings: &mut Timings,
    ) -> Option<(usize, Embedding)> {
        let index = main?;
        let t = Instant::now();
        let embedding = self
            .engine
            .pipeline
            .embed(&frame.image, &faces[index])
            .ok()?;
        timings.embed_ms = ms(t);
        Some((index, embedding))
    }

    fn verify_step(&mut self, person: &str, probe: &Embedding, label: &mut FaceLabel) {
        let loaded = self.gallery(person).map(<[_]>::is_empty);
        let verification = match loaded {
            // The engine picks the person's scorer: their trained head when it beat cosine.
            Ok(false) => self.engine.score(person, probe, &self.galleries[person]),
            Ok(true) => {
                self.attempt = None;
                return self.send(Event::Error(format!(
                    "{person} has no verification images yet; capture some first"
                )));
            }
            Err(e) => return self.fail("cannot load the verification images", e),
        };
        label.text = Some(format!("{person} {:.2}", verification.best));
        label.verified = Some(verification.accepted);
        if let Some(attempt) = &mut self.attempt {
            attempt.push(Some(verification.accepted), Instant::now());
            self.finish_attempt_if_done(Some(verification));
        } else {
            self.send(Event::Verdict {
                person: person.to_owned(),
                verification,
                attempt_done: false,
            });
        }
    }

    /// Records the end of an attempt (lock-out and audit line). The current frame goes along, to
    /// be kept if the attempt failed and the user opted in.
    fn record(
        &mut self,
        person: &str,
        accepted: bool,
        last: Option<&Verification>,
        liveness: Option<f32>,
    ) {
        let frame = self.latest.clone();
        let details = AttemptDetails {
            last,
            liveness,
            frame: frame.as_deref().map(|f| &f.image),
        };
        if let Err(e) = self.engine.record_attempt(person, accepted, details) {
            self.fail("cannot record the attempt", e);
        }
    }

    fn finish_attempt_if_done(&mut self, last: Option<Verification>) {
        let (Some(attempt), Some(person)) = (&self.attempt, self.person.clone()) else {
            return;
        };
        let state = attempt.state();
        if state == LiveState::Pending {
            return;
        }
        self.attempt = None;
        let accepted = state == LiveState::Accepted;
        self.record(&person, accepted, last.as_ref(), None);
        match last {
            Some(mut verification) => {
                verification.accepted = accepted;
                self.send(Event::Verdict {
                    person,
                    verification,
                    attempt_done: true,
                });
            }
            None => self.send(Event::Error(format!(
                "could not verify {person}: no face in view before the time-out"
            ))),
        }
    }

    /// Verified, and liveness is on but not yet passed.
    fn liveness_pending(&self) -> bool {
        self.engine.settings.liveness
            && matches!(&self.unlock, Some((_, s)) if s.state() == LiveState::Accepted)
            && !self.unlock_check.as_ref().is_some_and(UnlockCheck::passed)
    }

    /// One frame of the liveness check after the candidate verified.
    fn liveness_step(&mut self, face: Option<&Face>, label: Option<&mut FaceLabel>) {
        let Some((name, _)) = &self.unlock else {
            return;
        };
        let name = name.clone();
        let now = Instant::now();
        let check = self
            .unlock_check
            .get_or_insert_with(|| UnlockCheck::new(Direction::random(), now));
        let (status, verified) = match check.step(face, now) {
            CheckStep::Running {
                prompt,
                progress,
                score,
            } => (
                UnlockStatus::Liveness {
                    name: name.clone(),
                    prompt,
                    progress,
                    score,
                },
                None,
            ),
            CheckStep::Passed { score } => {
                self.record(&name, true, None, Some(score));
                (
                    UnlockStatus::Welcome {
                        name: name.clone(),
                        liveness: Some(score),
                    },
                    Some(true),
                )
            }
            CheckStep::Failed { reason, first } => {
                if first {
                    let score = self.unlock_check.as_ref().and_then(UnlockCheck::score);
                    self.record(&name, false, None, score);
                }
                (UnlockStatus::Refused { reason }, Some(false))
            }
            CheckStep::Retry => {
                self.unlock = None;
                self.unlock_check = None;
                (
                    UnlockStatus::Searching {
                        reason: "Look at the camera".into(),
                    },
                    None,
                )
            }
        };
        if let Some(label) = label {
            label.text = Some(format!("{name}: liveness"));
            label.verified = verified;
        }
        self.send(Event::Unlock(status));
    }

    fn unlock_no_face(&mut self, reason: String) {
        if self.liveness_pending() {
            // A turned head is sometimes missed; the challenge's time-out covers a face gone.
            return self.liveness_step(None, None);
        }
        if !matches!(&self.unlock, Some((_, s)) if s.state() == LiveState::Accepted) {
            self.unlock = None;
            self.unlock_check = None;
            self.send(Event::Unlock(UnlockStatus::Searching { reason }));
        }
    }

    fn unlock_step(&mut self, image: &image::RgbImage, probe: &Embedding, label: &mut FaceLabel) {
        if self.engine.settings.liveness {
            let now = Instant::now();
            self.unlock_check
                .get_or_insert_with(|| UnlockCheck::new(Direction::random(), now))
                .observe(image, &label.face, now);
        }
        if self.liveness_pending() {
            let face = label.face.clone();
            return self.liveness_step(Some(&face), Some(label));
        }
        if let Some((name, session)) = &self.unlock
            && session.state() == LiveState::Accepted
        {
            label.text = Some(format!("{name}: verified"));
            label.verified = Some(true);
            return;
        }
        let people = match self.engine.store.people() {
            Ok(p) => p,
            Err(e) => return self.fail("cannot read the store", e),
        };
        for p in &people {
            if let Err(e) = self.gallery(p) {
                return self.fail("cannot load the verification images", e);
            }
        }
        // Borrowed from the worker's galleries: a frame copies no vectors.
        let galleries: Vec<(String, &[(Uuid, Embedding)])> = people
            .into_iter()
            .map(|p| {
                let g = self.galleries[&p].as_slice();
                (p, g)
            })
            .collect();
        let id = verify::identify(probe, &galleries, self.engine.thresholds());
        let Some(top) = id.ranking.first() else {
            return self.send(Event::Unlock(UnlockStatus::Refused {
                reason: "nobody is enrolled with verification images".into(),
            }));
        };
        let name = top.name.clone();
        if let Some(seconds) = self.engine.lockout_remaining(&name) {
            label.text = Some(format!("{name}: locked"));
            label.verified = Some(false);
            return self.send(Event::Unlock(UnlockStatus::Refused {
                reason: format!("{name} is locked out for {seconds} more s after failed attempts"),
            }));
        }
        if self
            .unlock
            .as_ref()
            .is_none_or(|(n, s)| *n != name || s.state() != LiveState::Pending)
        {
            self.unlock = Some((
                name.clone(),
                LiveSession::new(self.live_rule(), Instant::now()),
            ));
            // A new candidate: their liveness starts from their own frames.
            self.unlock_check = None;
        }
        let rule = self.live_rule();
        let (_, session) = self.unlock.as_mut().expect("set above");
        let state = session.push(Some(top.verification.accepted), Instant::now());
        label.text = Some(format!("{name} {:.2}", top.mean_score));
        label.verified = Some(top.verification.accepted);
        let status = match state {
            // Verified; with liveness on, the attempt is recorded when the check ends.
            LiveState::Accepted if self.engine.settings.liveness => UnlockStatus::Liveness {
                name,
                prompt: "Hold still".into(),
                progress: 0.0,
                score: self.unlock_check.as_ref().and_then(UnlockCheck::score),
            },
            LiveState::Accepted => {
                self.record(&name, true, Some(&top.verification), None);
                UnlockStatus::Welcome {
                    name,
                    liveness: None,
                }
            }
            LiveState::TimedOut => {
                self.record(&name, false, Some(&top.verification), None);
                UnlockStatus::Refused {
                    reason: format!(
                        "not recognised: closest is {name} (similarity {:.2}, {} of {} images matched)",
                        top.mean_score, top.verification.matched, top.verification.total
                    ),
                }
            }
            LiveState::Pending if top.verification.accepted => UnlockStatus::Progress {
                name,
                verified: session.progress().0,
                needed: rule.k,
            },
            LiveState::Pending => UnlockStatus::Searching {
                reason: format!(
                    "not recognised yet (closest: {name}, similarity {:.2})",
                    top.mean_score
                ),
            },
        };
        self.send(Event::Unlock(status));
    }
}

fn ms(since: Instant) -> f32 {
    since.elapsed().as_secs_f32() * 1e3
}
