//! The inference worker: owns the engine (ONNX sessions, store) and turns frames and commands
//! into events. Runs detection on every frame it gets; embeds only when a mode or a request needs
//! it. What the Enrol and Manage views are sent is in [`gallery`]; Verify, Identify and
//! Continuous in [`verify`]; Unlock in [`super::unlock`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

mod gallery;
mod verify;

use crate::auth::attempt::{Attempt, FRAMES_STOPPED_GRACE};
use crate::camera::Frame;
use crate::engine::{Early, Engine, SettingsChange};
use crate::runtime::Models;
use crate::session::capture::{Feed, Swap, Tagged};
use crate::session::manage::{self, ImportJob};
use crate::session::messages::*;
use crate::session::overlays::{self, AttributeOverlay};
use crate::session::unlock::{FRAMES_STOPPED, Seen, Unlock};
use crate::shown::Reason;
use crate::store::{Gallery, ImageKind, Settings, Store};
use crate::vision::Tracker;
use verify::LastVerdict;

/// A command as the channel delivers it.
type Cmd = Result<Command, crossbeam_channel::RecvError>;
/// Live frames are detected on a copy at most this wide: YuNet at 320×240 meets the 8 ms budget
/// where 640×480 does not, and a face at the capture gate (eyes ≥ 25 px apart at full size) is
/// still ~35 px wide there, well inside what YuNet finds. Captures still detect at full size,
/// and so do the frames an attempt judges (see `analyse`).
pub const LIVE_MAX_SIDE: u32 = 320;

/// `models`: the models, or why none could be found (said as it is: which folders were looked
/// in, what to run).
pub fn spawn(
    models: Result<Models, String>,
    store: Store,
    feed: Feed,
    commands: Receiver<Command>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || {
            // Who is enrolled is the store's to say, models or not: without them the window
            // said "nobody yet" over a store of eight people (journey s40 #7).
            let enrolled = store.people().unwrap_or_default();
            let models = match models {
                Ok(models) => models,
                Err(why) => return idle(&events, &wake, &commands, why, enrolled),
            };
            let engine = match Engine::new(&models, store) {
                Ok(engine) => engine,
                Err(e) => {
                    return idle(&events, &wake, &commands, Reason(&e).to_string(), enrolled);
                }
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
                rewind: feed.rewind,
                rewinds: 0,
                attributes: AttributeOverlay::default(),
                tracker: Tracker::default(),
                last_verdict: None,
                imports: VecDeque::new(),
                looked_elsewhere: Instant::now(),
                seen: gallery::Seen::default(),
            };
            worker.announce();
            while !stop.load(Ordering::Relaxed) {
                // An import takes one file per turn, then whatever command or frame is waiting:
                // the feed keeps its overlays while a folder of negatives goes in.
                // An attempt under way is woken at its deadline even if no frame comes, so
                // that a source gone quiet cannot leave it running.
                let wait = if worker.import_step() {
                    Some(Duration::ZERO)
                } else {
                    worker.attempt_deadline().map(|at| {
                        (at + FRAMES_STOPPED_GRACE).saturating_duration_since(Instant::now())
                    })
                };
                let cmd = match wait {
                    Some(wait) => select! {
                        recv(commands) -> cmd => Some(cmd),
                        recv(feed.frames) -> frame => worker.frame(frame),
                        default(wait) => None,
                    },
                    None => select! {
                        recv(commands) -> cmd => Some(cmd),
                        recv(feed.frames) -> frame => worker.frame(frame),
                    },
                };
                worker.end_stopped_attempts(Instant::now());
                worker.follow_elsewhere();
                match cmd {
                    Some(Ok(Command::Shutdown) | Err(_)) => {
                        // The window closes: attempts under way are settled, not left counted
                        // as failures without an audit line.
                        worker.stop_attempts("the window closed");
                        break;
                    }
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
    enrolled: Vec<String>,
) {
    let off = format!("face analysis is off: {why}");
    let _ = events.send(Event::PeopleElsewhere(enrolled));
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
            | Command::SourceChanged(_)
            | Command::TurnFor(_) => {}
            // A click that cannot be answered says why, rather than nothing (and a Verify
            // ends the window's wait for its verdict).
            Command::Verify => {
                let _ = events.send(Event::VerifyEnded(off.clone()));
                wake();
            }
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
    /// Starts a recording over as an attempt begins ([`crate::camera::FrameSource::rewind`]).
    rewind: Sender<Swap>,
    /// How many times it was asked to: frames of an earlier pass are not judged.
    rewinds: u64,
    attributes: AttributeOverlay,
    tracker: Tracker,
    /// Continuous mode: the last verdict, for the tracked face it was made on.
    last_verdict: Option<LastVerdict>,
    /// Photos being imported, oldest request first.
    imports: VecDeque<ImportJob>,
    /// When the store was last looked at for changes made elsewhere
    /// ([`Worker::follow_elsewhere`]).
    looked_elsewhere: Instant,
    /// What the window was last shown of the store: its people, and the face files of the
    /// galleries whose thumbnails it was sent.
    seen: gallery::Seen,
}

/// How often the worker looks whether the settings or the people were changed from elsewhere
/// (the CLI, another window).
const LOOK_ELSEWHERE: Duration = Duration::from_secs(1);

impl Worker {
    fn send(&self, event: Event) {
        let _ = self.events.send(event);
        (self.wake)();
    }

    /// Ends the Verify attempt under way, if any, as the engine settles one left unfinished
    /// (a refusal once a face was compared, else a step toward a pause): whether there was one.
    pub(super) fn end_verify(&mut self) -> bool {
        let Some(attempt) = self.attempt.take() else {
            return false;
        };
        if let Err(e) = self.engine.end_early(&attempt, Early::Abandoned) {
            self.fail("cannot settle the attempt", e);
        }
        true
    }

    /// [`Worker::end_verify`], telling the window why, which otherwise waited for its verdict
    /// with Verify disabled.
    fn stop_verify(&mut self, why: &str) {
        if self.end_verify() {
            self.send(Event::VerifyEnded(format!("Verify stopped: {why}")));
        }
    }

    /// The soonest deadline of the attempts under way (Verify's, Unlock's).
    fn attempt_deadline(&self) -> Option<Instant> {
        let verify = self.attempt.as_ref().map(Attempt::deadline);
        verify.into_iter().chain(self.unlock.deadline()).min()
    }

    /// Ends the attempts whose frames stopped before their deadline ([`Attempt::frames_stopped`]),
    /// which otherwise ran on with the window waiting.
    fn end_stopped_attempts(&mut self, now: Instant) {
        if self.attempt.as_ref().is_some_and(|a| a.frames_stopped(now))
            && let Some(attempt) = self.attempt.take()
        {
            self.engine.cut_short(&attempt);
            self.send(Event::VerifyEnded(format!(
                "Verify stopped: {FRAMES_STOPPED}"
            )));
        }
        if let Some(status) = self.unlock.expire(&mut self.engine, now) {
            self.send(Event::Unlock(status));
        }
    }

    /// The same for an Unlock attempt under way, and Unlock starts over. The view is told, or
    /// it kept the attempt's last prompt ("Turn your head…") until the next frame, for good if
    /// none came.
    /// `early`: how the attempt is settled (abandoned by the user's hand, or cut short by a
    /// frame that could not be judged).
    fn stop_unlock(&mut self, why: &str, early: Early) {
        let Some(attempt) = self.unlock.take_attempt() else {
            return;
        };
        if let Err(e) = self.engine.end_early(&attempt, early) {
            self.fail("cannot settle the attempt", e);
        }
        self.send(Event::Unlock(UnlockStatus::Searching {
            reason: format!("Unlock stopped: {why}"),
        }));
    }

    /// Both attempts under way, Verify's and Unlock's, stopped for the same reason.
    fn stop_attempts(&mut self, why: &str) {
        self.stop_verify(why);
        self.stop_unlock(why, Early::Abandoned);
    }

    fn fail(&self, what: &str, e: impl std::error::Error + 'static) {
        self.send(Event::Error(format!("{what}: {}", for_desk(&e))));
    }

    /// A Verify or an Identify that could not be answered: the next one clears it.
    fn unanswered(&self, what: &str, e: impl std::error::Error + 'static) {
        self.send(Event::Unanswered(format!("{what}: {}", for_desk(&e))));
    }

    fn announce(&mut self) {
        self.say_settings_problems();
        match self.engine.store().people() {
            Ok(people) => {
                self.seen.people = people.clone();
                self.send(Event::Ready {
                    people,
                    settings: self.engine.settings().clone(),
                })
            }
            Err(e) => self.fail("cannot read the store", e),
        }
        self.send_negatives_stored();
    }

    /// Shows what was changed from elsewhere meanwhile (the settings, the people, the selected
    /// person's images), looking at most once every [`LOOK_ELSEWHERE`].
    fn follow_elsewhere(&mut self) {
        // Not while an attempt runs: its rule was set when it began, and a model switched under
        // it scored the new model's cosines against the old model's threshold (a stranger was
        // verified; red team retest, session 28). Taken up once it ends. (Its person's images
        // are read again by the engine on each use, wherever they were changed.)
        if self.looked_elsewhere.elapsed() < LOOK_ELSEWHERE || self.attempt_deadline().is_some() {
            return;
        }
        self.looked_elsewhere = Instant::now();
        self.follow_settings();
        self.follow_store();
    }

    /// Takes settings saved from elsewhere meanwhile into force
    /// ([`Engine::follow_saved_settings`]), and shows them.
    fn follow_settings(&mut self) {
        let was_damaged = self.engine.settings_sound().is_err();
        // An error is said once: the engine does not try the same file again.
        match self.engine.follow_saved_settings() {
            Ok(Some(change)) => {
                self.send(Event::SettingsInForce(self.engine.settings().clone()));
                self.say_settings_problems();
                let mended = (was_damaged && self.engine.settings_sound().is_ok())
                    .then(|| "the settings file was mended: faces are verified again".into());
                self.took_effect(change, mended);
            }
            Ok(None) => {}
            Err(e) => self.fail("the settings saved meanwhile cannot be used", e),
        }
    }

    /// What follows from settings just put in force, saved in the window or from elsewhere:
    /// the one place for it (the two copies had drifted apart). `mended`: what to say when they
    /// ended damage that was said on the message line.
    fn took_effect(&mut self, change: SettingsChange, mended: Option<String>) {
        // A switch of model or preprocessing changes every vector: an attempt under way (its
        // rule set when it began) would judge the new model's scores by the old model's
        // threshold (read-through, session 28), so it ends before another frame is judged.
        // Decided on what was put in force, not on what the window asked: a model saved to the
        // file meanwhile comes in with any edit (design review, session 29: R1).
        if change.vectors {
            self.stop_attempts("the model or its preprocessing changed");
        }
        self.last_verdict = None;
        if let Some(text) = mended {
            self.send(Event::Info(text));
        }
        if change.vectors
            && let Some(p) = self.person.clone()
        {
            self.send_scores(&p);
        }
    }

    fn say_settings_problems(&self) {
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
    }

    fn handle(&mut self, cmd: Command) {
        // Any command may change what a verdict rests on (person, gallery, thresholds, mode).
        self.last_verdict = None;
        match cmd {
            Command::SelectPerson(person) => self.select_person(person),
            Command::AddPerson(name) => self.add_person(name),
            Command::Capture(kind) => self.capture(kind),
            Command::DeleteImage { kind, id } => self.delete_image(kind, id),
            Command::SetMode(mode) => {
                // The window says its view on every tab switch: only a change of mode ends
                // what the old one was doing.
                if mode != self.mode {
                    self.stop_attempts("the view changed");
                }
                self.mode = mode;
            }
            Command::SourceChanged(number) => {
                // Ended here, not finished on another picture.
                self.stop_attempts("the source changed during the attempt");
                self.latest = None;
                self.unlock.turn = None;
                self.tracker = Tracker::default();
                self.attributes = AttributeOverlay::default();
                self.source = number;
            }
            Command::TurnFor(turn) => self.unlock.turn = turn,
            Command::Verify => self.start_attempt(),
            Command::Identify => self.identify_latest(),
            Command::UpdateSettings { shown, asked } => self.update_settings(shown, asked),
            Command::SetAttributes(on) => self.attributes.on = on,
            Command::Train => super::jobs::train(
                &mut self.engine,
                self.person.clone(),
                &self.events,
                &self.wake,
            ),
            Command::EnableFaceUnlock { person, account } => super::jobs::enable_face_unlock(
                &self.engine,
                person,
                account,
                &self.events,
                &self.wake,
            ),
            Command::ImportFiles { kind, paths } => match self.person.clone() {
                Some(name) => self.import(Gallery::Person { name, kind }, &paths),
                None => self.send(Event::CaptureRefused("choose or add a person first".into())),
            },
            Command::ImportNegatives(dir) => self.import(Gallery::Negatives, &[dir]),
            Command::RemovePerson(name) => self.remove_person(&name),
            Command::RenamePerson { from, to } => self.rename_person(&from, to),
            Command::Calibrate { far } => {
                for event in manage::calibrate(&mut self.engine, far) {
                    self.send(event);
                }
            }
            Command::RemoveNegatives(ids) => self.remove_negatives(&ids),
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

    /// The window's person: their galleries and scores are sent, and a Verify for another ends.
    fn select_person(&mut self, person: Option<String>) {
        self.stop_verify("another person was chosen");
        if let Some(p) = &person {
            for kind in ImageKind::ALL {
                self.send_thumbnails(p, kind);
            }
            self.send_scores(p);
        }
        self.person = person;
    }

    /// A new person, said in the window (with a name it can be mistaken for, if any).
    fn add_person(&mut self, name: String) {
        match self.engine.store().add_person(&name) {
            Ok(lookalike) => {
                // Either way the message line answers this click, not an earlier one.
                self.send(match lookalike {
                    Some(other) => {
                        Event::Warning(crate::store::names::lookalike_note(&name, &other))
                    }
                    None => Event::Info(format!("added {name}")),
                });
                if let Ok(people) = self.engine.store().people() {
                    self.send_all(vec![Event::People {
                        added: name,
                        people,
                    }]);
                }
            }
            Err(e) => self.fail("cannot add the person", e),
        }
    }

    /// One of the selected person's images deleted.
    fn delete_image(&mut self, kind: ImageKind, id: uuid::Uuid) {
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

    /// Settings changed in the window, saved over the file as it is now and put in force.
    fn update_settings(&mut self, shown: Option<Box<Settings>>, asked: Settings) {
        // Only what the user changed, over the file as it is now: a threshold set by
        // `facegate calibrate` while the window was open is kept, not reverted.
        let shown = shown.map_or_else(|| self.engine.settings().clone(), |s| *s);
        let damaged = self.engine.settings_sound().is_err();
        match self.engine.apply_changes(&shown, &asked) {
            Ok(change) => {
                let mended = damaged.then(|| {
                    format!(
                        "settings saved (the damaged file kept as {}): faces are \
                         verified again",
                        crate::store::SETTINGS_BACKUP
                    )
                });
                self.took_effect(change, mended);
            }
            Err(e) => self.fail("cannot save the settings", e),
        }
        if self.engine.settings() != &asked {
            self.send(Event::SettingsInForce(self.engine.settings().clone()));
        }
    }

    /// A person wiped, with the attempts under way for them settled first.
    fn remove_person(&mut self, name: &str) {
        if self.person.as_deref() == Some(name) {
            self.stop_verify("the person was removed");
            self.person = None;
        }
        // An Unlock attempt under way may be theirs: settled before they go.
        self.stop_unlock("a person was removed", Early::Abandoned);
        let events = manage::remove(&mut self.engine, name);
        self.send_all(events);
        // The negatives said to show them show nobody now.
        self.send_negatives_showing();
    }

    /// A person renamed, the window's selection following them.
    fn rename_person(&mut self, from: &str, to: String) {
        // Settled under the name it was begun for.
        if self.person.as_deref() == Some(from) {
            self.stop_verify("the person was renamed");
        }
        self.stop_unlock("a person was renamed", Early::Abandoned);
        let events = manage::rename(&mut self.engine, from, &to);
        if matches!(events.first(), Some(Event::Renamed { .. }))
            && self.person.as_deref() == Some(from)
        {
            self.person = Some(to);
        }
        self.send_all(events);
        self.send_negatives_showing();
    }

    /// A frame from the capture thread (none: it has gone, at shutdown).
    fn frame(&mut self, frame: Result<Tagged, crossbeam_channel::RecvError>) -> Option<Cmd> {
        match frame {
            // Another source's: the old picture's, or the new one's before the worker heard of it;
            // or read before the source was last started over, for an attempt that began.
            Ok(tagged) if tagged.source != self.source || tagged.pass != self.rewinds => {}
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
            Err(e) => {
                if let Some(attempt) = self.attempt.take() {
                    return self.cut_short(&attempt, &e);
                }
                // An Unlock attempt under way is settled as one whose frames stopped, and
                // Unlock starts over, saying so: it kept "Turn your head…" for as long as
                // detection kept failing (design review, session 31).
                self.stop_unlock(
                    &format!("the face could not be detected ({})", for_desk(&e)),
                    Early::FramesStopped,
                );
                return self.fail("detection failed", e);
            }
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
        let seen = Seen {
            faces: &faces,
            ids: &ids,
        };
        // Only these verify anything: other frames have no verify time, rather than a few
        // nanoseconds shown as "verify 0.00 ms".
        let verifies =
            self.attempt.is_some() || matches!(self.mode, Mode::Unlock | Mode::Continuous);
        if self.attempt.is_some() {
            self.attempt_frame(&frame, seen, &mut labels, &mut timings);
        } else if self.mode == Mode::Unlock {
            let searching = self.unlock.deadline().is_none();
            let said = self
                .unlock
                .frame(&mut self.engine, &frame, seen, &mut timings);
            if searching && self.unlock.deadline().is_some() {
                self.play_from_the_start();
            }
            match said {
                Ok(Some(status)) => self.send(Event::Unlock(status)),
                Ok(None) => {}
                Err(e) => self.send(Event::Error(format!("unlock: {e}"))),
            }
        } else if self.mode == Mode::Continuous {
            self.continuous_frame(&frame, seen, &mut labels, &mut timings);
        }
        if verifies {
            timings.verify_ms = (ms(t) - timings.embed_ms).max(0.0);
        }
        self.send(Event::Analysis(Analysis {
            frame_index: frame.index,
            captured_at: frame.captured_at,
            frame_size: [frame.image.width() as usize, frame.image.height() as usize],
            faces: labels,
            timings,
            latency_ms: ms(frame.captured_at),
        }));
    }
}

impl Worker {
    /// An attempt began: a recording plays again from its start ([`Swap::Rewind`]), and
    /// frames read before that are passed over.
    fn play_from_the_start(&mut self) {
        if self.rewind.send(Swap::Rewind).is_ok() {
            self.rewinds += 1;
        }
    }
}

fn ms(since: Instant) -> f32 {
    since.elapsed().as_secs_f32() * 1e3
}
