//! The inference worker: owns the engine (ONNX sessions, store) and turns frames and commands
//! into events. Runs detection on every frame it gets; embeds only when a mode or a request needs
//! it.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use super::capture::Tagged;
use super::manage::{self, ImportJob};
use super::messages::*;
use super::overlays::{self, AttributeOverlay};
use super::unlock::{Seen, Unlock};
use crate::auth::attempt::{Attempt, LivenessCheck, Step};
use crate::auth::quality;
use crate::camera::Frame;
use crate::engine::Engine;
use crate::runtime::Models;
use crate::shown::Reason;
use crate::store::{Gallery, ImageKind, Store};
use crate::vision::Face;
use crate::vision::Tracker;

/// A command as the channel delivers it.
type Cmd = Result<Command, crossbeam_channel::RecvError>;
/// Live frames are detected on a copy at most this wide: YuNet at 320×240 meets the 8 ms budget
/// where 640×480 does not, and a face at the capture gate (eyes ≥ 25 px apart at full size) is
/// still ~35 px wide there, well inside what YuNet finds. Captures still detect at full size,
/// and so do the frames an attempt judges (see `analyse`).
pub const LIVE_MAX_SIDE: u32 = 320;
/// In continuous mode, a face the tracker has verified is verified again after this long; in
/// between, its label keeps the last verdict. A new face is verified on its first frame, and
/// attempts and unlock verify every frame, since each frame is a vote there.
const VERDICT_PERIOD: Duration = Duration::from_millis(200);

/// `models`: the models, or why none could be found (said as it is: which folders were looked
/// in, what to run).
pub fn spawn(
    models: Result<Models, String>,
    store: Store,
    frames: Receiver<Tagged>,
    commands: Receiver<Command>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || {
            let models = match models {
                Ok(models) => models,
                Err(why) => return idle(&events, &wake, &commands, why),
            };
            let engine = match Engine::new(&models, store) {
                Ok(engine) => engine,
                Err(e) => return idle(&events, &wake, &commands, Reason(&e).to_string()),
            };
            let mut worker = Worker {
                engine,
                models,
                events,
                wake,
                person: None,
                mode: Mode::Detect,
                attempt: None,
                unlock: Unlock::default(),
                latest: None,
                source: 0,
                attributes: AttributeOverlay::default(),
                tracker: Tracker::default(),
                last_verdict: None,
                imports: VecDeque::new(),
            };
            worker.announce();
            while !stop.load(Ordering::Relaxed) {
                // An import takes one file per turn, then whatever command or frame is waiting:
                // the feed keeps its overlays while a folder of negatives goes in.
                let cmd = if worker.import_step() {
                    select! {
                        recv(commands) -> cmd => Some(cmd),
                        recv(frames) -> frame => worker.frame(frame),
                        default => None,
                    }
                } else {
                    select! {
                        recv(commands) -> cmd => Some(cmd),
                        recv(frames) -> frame => worker.frame(frame),
                    }
                };
                match cmd {
                    Some(Ok(Command::Shutdown) | Err(_)) => break,
                    Some(Ok(cmd)) => worker.handle(cmd),
                    None => {}
                }
            }
        })
        .expect("spawn the inference worker")
}

/// An error as the window says it: with its causes ([`Reason`]), and a gallery of two people
/// (refused by every decision) in the window's own terms: its images are framed in red where
/// they are shown; their ids, which the message would list, are not.
fn for_desk(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::NotOnePerson(n)) => n.for_desk(),
        _ => Reason(e).to_string(),
    }
}

/// Without models the feed still runs; every request gets the same explanation.
fn idle(
    events: &Sender<Event>,
    wake: &Arc<dyn Fn() + Send + Sync>,
    commands: &Receiver<Command>,
    why: String,
) {
    let off = format!("face analysis is off: {why}");
    let _ = events.send(Event::AnalysisOff(off.clone()));
    wake();
    while let Ok(cmd) = commands.recv() {
        match cmd {
            Command::Shutdown => return,
            // Sent as the window changes view or selection, not asked for by a click.
            Command::SelectPerson(_)
            | Command::SetMode(_)
            | Command::SetAttributes(_)
            | Command::RefreshScores
            | Command::SourceChanged(_) => {}
            // A click that cannot be answered says why, rather than nothing.
            _ => {
                let _ = events.send(Event::Error(off.clone()));
                wake();
            }
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
    attempt: Option<Attempt>,
    /// Unlock mode's state: searching for a known face, an attempt, or showing how one ended.
    unlock: Unlock,
    latest: Option<Arc<Frame>>,
    /// The number of the source on screen ([`Command::SourceChanged`]).
    source: u64,
    attributes: AttributeOverlay,
    tracker: Tracker,
    /// Continuous mode: the last verdict, for the tracked face it was made on.
    last_verdict: Option<LastVerdict>,
    /// Photos being imported, oldest request first.
    imports: VecDeque<ImportJob>,
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

    fn fail(&self, what: &str, e: impl std::error::Error + 'static) {
        self.send(Event::Error(format!("{what}: {}", for_desk(&e))));
    }

    /// A Verify or an Identify that could not be answered: the next one clears it.
    fn unanswered(&self, what: &str, e: impl std::error::Error + 'static) {
        self.send(Event::Unanswered(format!("{what}: {}", for_desk(&e))));
    }

    fn announce(&self) {
        // Told in the window, not only in a log nobody reads: the settings in use are not the
        // file's, and the first change saved keeps the file aside as settings.toml.bad.
        let (_, problems) = self.engine.store().settings_checked();
        if !problems.is_empty() {
            let list: Vec<String> = problems
                .into_iter()
                .map(|p| p.for_desk().to_string())
                .collect();
            self.send(Event::Error(format!(
                "settings: {} (a change made here saves new settings and keeps the old file as {})",
                list.join("; "),
                crate::store::SETTINGS_BACKUP
            )));
        }
        match self.engine.store().people() {
            Ok(people) => self.send(Event::Ready {
                people,
                settings: self.engine.settings().clone(),
            }),
            Err(e) => self.fail("cannot read the store", e),
        }
    }

    fn send_thumbnails(&self, person: &str, kind: ImageKind) {
        self.send(manage::thumbnails(&self.engine, person, kind));
    }

    /// The person's score sets, and which rule decides for them (their trained head or cosine).
    fn send_scores(&mut self, person: &str) {
        match self.engine.person_scores(person) {
            Ok(scores) => self.send(Event::PersonScores(scores)),
            Err(e) => self.fail("cannot score the person's images", e),
        }
        let rule = manage::head_rule(&mut self.engine, person);
        self.send(rule);
    }

    /// Which negatives show someone enrolled, for the Manage view to offer their removal.
    /// After one of `person`'s images was saved or deleted: what the window shows of them
    /// follows, and a change to whom they are verified against can make a negative show them
    /// (said at once, not at the next calibration) or stop it.
    fn gallery_changed(&mut self, person: &str, kind: ImageKind) {
        self.send_thumbnails(person, kind);
        self.send_scores(person);
        if kind == ImageKind::Verification {
            self.send_negatives_showing();
        }
    }

    fn send_negatives_showing(&mut self) {
        match self.engine.negatives_showing(&[]) {
            Ok(found) => self.send(Event::NegativesShowing(found)),
            Err(e) => self.fail("cannot check the negatives", e),
        }
    }

    /// One file of the oldest import; when it ends, the selected person's galleries and scores
    /// follow.
    /// Returns whether imports remain.
    fn import_step(&mut self) -> bool {
        let Some(job) = self.imports.front_mut() else {
            return false;
        };
        let events = job.step(&mut self.engine);
        let finished = job.finished().then(|| job.gallery().clone());
        let finished_any = finished.is_some();
        for event in events {
            self.send(event);
        }
        if let (Some(gallery), Some(person)) = (finished, self.person.clone()) {
            if let Gallery::Person { name, kind } = &gallery
                && *name == person
            {
                self.send_thumbnails(&person, *kind);
            }
            // New negatives or someone else's photos are new impostors for the selected person.
            self.send_scores(&person);
        }
        if finished_any {
            self.send_negatives_showing();
        }
        if self.imports.front().is_some_and(ImportJob::finished) {
            self.imports.pop_front();
        }
        !self.imports.is_empty()
    }

    fn import(&mut self, gallery: Gallery, paths: &[std::path::PathBuf]) {
        match ImportJob::new(gallery, paths) {
            Ok(job) => self.imports.push_back(job),
            Err(e) => self.send(Event::CaptureRefused(e)),
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
            Command::AddPerson(name) => match self.engine.store().add_person(&name) {
                Ok(lookalike) => {
                    // Either way the message line answers this click, not an earlier one.
                    self.send(match lookalike {
                        Some(other) => {
                            Event::Warning(crate::store::names::lookalike_note(&name, &other))
                        }
                        None => Event::Info(format!("added {name}")),
                    });
                    if let Ok(people) = self.engine.store().people() {
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
                match self.engine.delete_face(&gallery, id) {
                    Ok(()) => self.gallery_changed(&person, kind),
                    Err(e) => self.fail("cannot delete the image", e),
                }
            }
            Command::SetMode(mode) => {
                self.mode = mode;
                self.unlock = Unlock::default();
                self.attempt = None;
            }
            Command::SourceChanged(number) => {
                self.unlock = Unlock::default();
                self.latest = None;
                self.tracker = Tracker::default();
                self.attributes = AttributeOverlay::default();
                self.source = number;
                // Begun, so counted; ended here, not finished on another picture.
                if self.attempt.take().is_some() {
                    self.send(Event::Error(
                        "Verify stopped: the source changed during the attempt".into(),
                    ));
                }
            }
            Command::Verify => self.start_attempt(),
            Command::Identify => self.identify_latest(),
            Command::UpdateSettings { shown, asked } => {
                // Only what the user changed, over the file as it is now: a threshold set by
                // `facegate calibrate` while the window was open is kept, not reverted.
                let shown = shown.map_or_else(|| self.engine.settings().clone(), |s| *s);
                let damaged = self.engine.settings_sound().is_err();
                match self.engine.apply_changes(&shown, &asked) {
                    Ok(change) => {
                        if damaged {
                            // The damage was said on the message line: say it is over.
                            self.send(Event::Info(format!(
                                "settings saved (the damaged file kept as {}): faces are \
                                 verified again",
                                crate::store::SETTINGS_BACKUP
                            )));
                        }
                        if change.vectors
                            && let Some(p) = self.person.clone()
                        {
                            self.send_scores(&p);
                        }
                    }
                    Err(e) => self.fail("cannot save the settings", e),
                }
                if self.engine.settings() != &asked {
                    self.send(Event::SettingsInForce(self.engine.settings().clone()));
                }
            }
            Command::SetAttributes(on) => self.attributes.on = on,
            Command::Train => super::jobs::train(
                &mut self.engine,
                self.person.clone(),
                &self.events,
                &self.wake,
            ),
            Command::EnableFaceUnlock => super::jobs::enable_face_unlock(
                &self.engine,
                self.person.clone(),
                &self.events,
                &self.wake,
            ),
            Command::ImportFiles { kind, paths } => match self.person.clone() {
                Some(name) => self.import(Gallery::Person { name, kind }, &paths),
                None => self.send(Event::CaptureRefused("choose or add a person first".into())),
            },
            Command::ImportNegatives(dir) => self.import(Gallery::Negatives, &[dir]),
            Command::RemovePerson(name) => {
                if self.person.as_deref() == Some(name.as_str()) {
                    self.person = None;
                    self.attempt = None;
                }
                for event in manage::remove(&mut self.engine, &name) {
                    self.send(event);
                }
                // The negatives said to show them show nobody now.
                self.send_negatives_showing();
            }
            Command::RenamePerson { from, to } => {
                let events = manage::rename(&mut self.engine, &from, &to);
                if matches!(events.first(), Some(Event::Renamed { .. }))
                    && self.person.as_deref() == Some(from.as_str())
                {
                    self.person = Some(to);
                    self.attempt = None;
                }
                for event in events {
                    self.send(event);
                }
                self.send_negatives_showing();
            }
            Command::Calibrate { far } => {
                for event in manage::calibrate(&mut self.engine, far) {
                    self.send(event);
                }
            }
            Command::RemoveNegatives(ids) => {
                // Only those that still show someone: the window's list may be older than a
                // deletion or a capture since.
                let showing = match self.engine.negatives_showing(&[]) {
                    Ok(found) => found,
                    Err(e) => return self.fail("cannot check the negatives", e),
                };
                // What is left to show is what was not removed (one that failed stays listed).
                let mut left = Vec::with_capacity(showing.len());
                let mut removed = 0;
                for (id, person) in showing {
                    if !ids.contains(&id) {
                        left.push((id, person));
                    } else if let Err(e) = self.engine.delete_face(&Gallery::Negatives, id) {
                        self.fail("cannot remove the negative", e);
                        left.push((id, person));
                    } else {
                        removed += 1;
                    }
                }
                self.send(Event::NegativesShowing(left));
                if removed > 0 {
                    // The warning about them on the message line is over: say so.
                    self.send(Event::Info(format!(
                        "removed {removed} negative{} that showed someone enrolled",
                        if removed == 1 { "" } else { "s" }
                    )));
                }
                if let Some(p) = self.person.clone() {
                    self.send_scores(&p);
                }
            }
            Command::RefreshScores => {
                if let Some(p) = self.person.clone() {
                    self.send_scores(&p);
                }
            }
            Command::Compare(a, b, person) => {
                let result = manage::compare(&mut self.engine, &a, &b, person.as_deref())
                    .map_err(|e| Reason(&e).to_string());
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
                self.send(Event::Captured {
                    kind,
                    id: stored.meta.id,
                });
                match self.engine.unlike_the_rest(&person, &[stored.meta.id]) {
                    Ok(unlike) => {
                        for u in unlike {
                            let what = format!("the {} image just saved", kind.dir_name());
                            self.send(Event::Warning(u.warning(&person, &what)));
                        }
                    }
                    Err(e) => tracing::warn!("cannot compare the new image: {e}"),
                }
                self.gallery_changed(&person, kind);
            }
            Err(crate::Error::Quality(issue)) => {
                self.send(Event::CaptureRefused(issue.to_string()))
            }
            Err(e) => self.fail("capture failed", e),
        }
    }

    /// The Verify button: one attempt for the selected person. It tests the match, so it asks
    /// for no head turn; Unlock is where liveness applies.
    fn start_attempt(&mut self) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::Error("choose a person to verify".into()));
        };
        let rule = self.engine.attempt_rule();
        match self.engine.begin_attempt(&person, rule, LivenessCheck::Off) {
            Ok(attempt) => self.attempt = Some(attempt),
            Err(e) => self.send(Event::Unanswered(for_desk(&e))),
        }
    }

    /// The Identify button: whom the current frame looks like among those enrolled, 1:N, on
    /// one frame. It opens nothing, so it is not an attempt (no K of N, no liveness, no
    /// lock-out): face login is the Unlock view's, through the attempt policy.
    fn identify_latest(&mut self) {
        let Some(frame) = self.latest.clone() else {
            return;
        };
        match self
            .engine
            .probe(&frame.image, Path::new("the current frame"))
        {
            Ok((_, probe)) => match self.engine.identify(&probe) {
                Ok(id) => self.send(Event::Identified(id)),
                Err(e) => self.unanswered("identification failed", e),
            },
            Err(e) => self.unanswered("cannot identify", e),
        }
    }

    /// A frame from the capture thread (none: it has gone, at shutdown).
    fn frame(&mut self, frame: Result<Tagged, crossbeam_channel::RecvError>) -> Option<Cmd> {
        match frame {
            // Another source's: the old picture's, or the new one's before the worker heard of it.
            Ok(tagged) if tagged.source != self.source => {}
            Ok(tagged) => self.analyse(tagged.frame),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
        None
    }

    fn analyse(&mut self, frame: Arc<Frame>) {
        let t0 = Instant::now();
        // Captures and attempt records refer to the frame being analysed.
        self.latest = Some(frame.clone());
        // Frames an attempt judges (Verify, Unlock) are detected as every other attempt's are
        // (`Engine::detect`, as `verify --replay` and the daemon): the liveness limits and the
        // texture model's crop were measured on those boxes and landmarks. The rest of the
        // live view detects at LIVE_MAX_SIDE, for speed.
        let judging = self.attempt.is_some() || self.mode == Mode::Unlock;
        let detected = if judging {
            self.engine.detect(&frame.image)
        } else {
            self.engine
                .detector()
                .detect_at(&frame.image, LIVE_MAX_SIDE)
        };
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
        let read = self
            .attributes
            .read(
                &self.models,
                self.engine.settings().attribute_nets(),
                &frame.image,
                &faces,
                &ids,
            )
            .unwrap_or_else(|e| {
                self.send(Event::Error(e));
                overlays::Read {
                    attributes: vec![None; faces.len()],
                    ran: false,
                }
            });
        timings.attributes_ms = if read.ran { ms(t) } else { 0.0 };
        let mut labels: Vec<FaceLabel> = faces
            .iter()
            .zip(read.attributes)
            .map(|(f, attributes)| FaceLabel {
                face: f.clone(),
                text: None,
                verified: None,
                attributes,
            })
            .collect();
        let t = Instant::now();
        if self.attempt.is_some() {
            self.attempt_frame(&frame, &faces, &ids, &mut labels, &mut timings);
        } else if self.mode == Mode::Unlock {
            let seen = Seen {
                faces: &faces,
                ids: &ids,
            };
            match self
                .unlock
                .frame(&mut self.engine, &frame, seen, &mut timings)
            {
                Ok(Some(status)) => self.send(Event::Unlock(status)),
                Ok(None) => {}
                Err(e) => self.send(Event::Error(format!("unlock: {e}"))),
            }
        } else if self.mode == Mode::Continuous {
            self.continuous_frame(&frame, &faces, &ids, &mut labels, &mut timings);
        }
        timings.verify_ms = (ms(t) - timings.embed_ms).max(0.0);
        self.send(Event::Analysis(Analysis {
            frame_index: frame.index,
            captured_at: frame.captured_at,
            frame_size: [frame.image.width() as usize, frame.image.height() as usize],
            faces: labels,
            timings,
            latency_ms: ms(frame.captured_at),
        }));
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

    /// One frame of the Verify attempt: the face it judged is labelled with its score; when the
    /// attempt ends, its verdict goes to the window.
    fn attempt_frame(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        ids: &[u64],
        labels: &mut [FaceLabel],
        timings: &mut Timings,
    ) {
        let Some(mut attempt) = self.attempt.take() else {
            return;
        };
        let person = attempt.person().to_owned();
        let seen =
            self.engine
                .attempt_frame(&mut attempt, &frame.image, faces, ids, Instant::now());
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => return self.unanswered("cannot verify", e),
        };
        timings.embed_ms = seen.embed_ms;
        if let Some((index, v)) = &seen.judged {
            labels[*index].text = Some(format!("{person} {:.2}", v.best));
            labels[*index].verified = Some(v.accepted);
        }
        match seen.step {
            Step::Pending(_) => self.attempt = Some(attempt),
            Step::Done(outcome) => match outcome.last {
                Some(verification) => {
                    self.send(Event::Verdict {
                        person,
                        verification,
                        attempt: Some(AttemptVerdict {
                            accepted: outcome.accepted,
                            refusal: outcome.refusal.map(|r| r.text().to_owned()),
                        }),
                    });
                }
                None => self.send(Event::Error(format!(
                    "could not verify {person}: {} before the time-out",
                    outcome.refusal.map_or("no face", |r| r.text())
                ))),
            },
        }
    }

    /// Continuous mode labels the selected person's score on every frame. It shows the match as
    /// it is now and decides nothing (no attempt, no lock-out): authentication is Verify and
    /// Unlock, through an attempt.
    fn continuous_frame(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        ids: &[u64],
        labels: &mut [FaceLabel],
        timings: &mut Timings,
    ) {
        let Some(person) = self.person.clone() else {
            return;
        };
        let Ok(index) = quality::main_face_index(faces, quality::AMBIGUOUS_FACE_RATIO) else {
            return;
        };
        if self.reuse_verdict(ids[index], &mut labels[index]) {
            // Same face, recent verdict: no embedding this frame.
            return;
        }
        let t = Instant::now();
        let verification = self
            .engine
            .embed(&frame.image, &faces[index])
            .inspect(|_| timings.embed_ms = ms(t))
            .and_then(|probe| self.engine.score(&person, &probe));
        let verification = match verification {
            Ok(v) => v,
            Err(e) => return self.unanswered("cannot verify", e),
        };
        let label = &mut labels[index];
        label.text = Some(format!("{person} {:.2}", verification.best));
        label.verified = Some(verification.accepted);
        self.last_verdict = Some(LastVerdict {
            track: ids[index],
            at: Instant::now(),
            text: label.text.clone(),
            verified: label.verified,
        });
        self.send(Event::Verdict {
            person,
            verification,
            attempt: None,
        });
    }
}

fn ms(since: Instant) -> f32 {
    since.elapsed().as_secs_f32() * 1e3
}
