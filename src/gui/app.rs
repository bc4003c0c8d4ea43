//! The frame loop: take what the session sent, let the chosen view draw from the state, then
//! send the commands the view collected. Views never touch the app; the state changes only
//! through [`AppState::apply`] and [`AppState::issued`].

use std::time::Instant;

use egui::{Align, Color32, Label, Layout, RichText, Ui};

use super::compare::CompareView;
use super::devices::{CameraChoice, Current};
use super::enrol::EnrolView;
use super::feed::Feed;
use super::manage::ManageView;
use super::opening::{Opened, Opening, WayBack};
use super::palette::{ERROR, GOOD, WARN};
use super::source::SourcePicker;
use super::state::{AppState, Message, Tone};
use super::stats::RateMeter;
use super::unlock::UnlockView;
use crate::camera::SourceSpec;
use crate::session::{Command, Event, Session, Timings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Enrol,
    Unlock,
    Compare,
    /// People & settings: remove, rename, negatives, model, calibration, camera.
    Manage,
}

pub struct FaceGateApp {
    live: Session,
    /// Everything the worker has reported; the tests read it.
    pub state: AppState,
    pub view: View,
    feed: Feed,
    enrol: EnrolView,
    unlock: UnlockView,
    compare: CompareView,
    manage: ManageView,
    sources: SourcePicker,
    /// Why this source was chosen at launch (e.g. no camera); gone once the user picks one.
    source_note: Option<String>,
    /// The message the user closed; a newer one shows again.
    dismissed: Option<u64>,
    inference_rate: RateMeter,
    /// Attributes and embeddings run on some frames only (staggered, a few times a second), so
    /// the status bar shows their last real cost rather than the 0 of the frames in between.
    last_run: Timings,
    opening: Option<Opening>,
    way_back: WayBack,
    /// The recording `--turn` was given for, by its name, and the side: told to the worker again
    /// whenever that recording is on screen again (the worker drops it at every change of
    /// source; final read s36 #7).
    recording_turn: Option<(String, crate::liveness::challenge::Direction)>,
}

impl FaceGateApp {
    pub fn new(live: Session) -> FaceGateApp {
        FaceGateApp::with_cameras(live, crate::camera::list_cameras())
    }

    /// [`FaceGateApp::new`] with the cameras already listed (the launch lists them once).
    pub fn with_cameras(live: Session, cameras: Vec<crate::camera::CameraInfo>) -> FaceGateApp {
        FaceGateApp {
            live,
            state: AppState::new(),
            view: View::Enrol,
            feed: Feed::default(),
            enrol: EnrolView::default(),
            unlock: UnlockView,
            compare: CompareView::default(),
            manage: ManageView::new(cameras.clone()),
            sources: SourcePicker::new(cameras),
            source_note: None,
            dismissed: None,
            inference_rate: RateMeter::default(),
            last_run: Timings::default(),
            opening: None,
            way_back: WayBack::default(),
            recording_turn: None,
        }
    }

    pub fn note(&mut self, note: Option<String>) {
        self.source_note = note;
    }

    /// Fixes the side Unlock's head turn asks of the recording on screen (`--turn`), for as
    /// long as that recording is the source.
    pub fn turn_recording(&mut self, turn: crate::liveness::challenge::Direction) {
        self.recording_turn = Some((self.live.source_name.clone(), turn));
        self.tell_turn();
    }

    /// Tells the worker the recording's side if the source on screen is that recording.
    fn tell_turn(&self) {
        if let Some((name, turn)) = &self.recording_turn
            && *name == self.live.source_name
        {
            self.live.send(Command::TurnFor(Some(*turn)));
        }
    }

    /// An error found outside the worker (a model missing at launch, a source that won't open)
    /// is shown exactly like one the worker reports.
    pub fn error(&mut self, text: String) {
        self.receive(Event::Error(text));
    }

    /// Sends a command to the worker, and shows its effect at once.
    pub fn send(&mut self, command: Command) {
        // The settings the user changed from, for the worker to apply only the change.
        let command = match command {
            Command::UpdateSettings { shown: None, asked } => Command::UpdateSettings {
                shown: self.state.settings.clone().map(Box::new),
                asked,
            },
            other => other,
        };
        self.state.issued(&command);
        self.live.send(command);
    }

    pub fn set_view(&mut self, view: View) {
        self.view = view;
        self.send(Command::SetMode(self.state.mode_for(view == View::Unlock)));
    }

    /// Opens `spec` on its own thread ([`Opening`]); [`FaceGateApp::poll`] switches over when
    /// it is ready.
    pub fn open_source(&mut self, spec: &SourceSpec) {
        self.open(spec.clone(), None);
    }

    /// Opens the camera the user picked and, once it streams, remembers it in the settings.
    fn open_camera(&mut self, choice: CameraChoice) {
        self.open(choice.spec.clone(), Some(choice));
    }

    fn open(&mut self, spec: SourceSpec, camera: Option<CameraChoice>) {
        let what = match &spec {
            SourceSpec::Camera { index, .. } => format!("camera {index}"),
            SourceSpec::Replay(path) | SourceSpec::Demo(path) => path.display().to_string(),
            SourceSpec::Synthetic => "the test pattern".into(),
        };
        self.receive(Event::Info(format!("opening {what}…")));
        // A newer choice replaces one still opening.
        let earlier = self.opening.take();
        match Opening::start(
            spec,
            camera,
            &self.live,
            earlier,
            &self.way_back,
            crate::camera::open,
        ) {
            Ok(opening) => self.opening = Some(opening),
            Err(e) => self.cannot_open(e),
        }
    }

    /// The source being opened, once it is ready (or failed).
    fn poll_opening(&mut self, ctx: &egui::Context) {
        let Some(opening) = &self.opening else {
            return;
        };
        let Some(outcome) = opening.poll() else {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
            return;
        };
        let camera = self.opening.take().and_then(|o| o.camera);
        if !matches!(outcome, Ok(Opened::Failed(_))) {
            // A source is on screen again, or none can be: nothing to go back to now.
            self.way_back.clear();
        }
        match outcome {
            Ok(Opened::Ready(source)) => {
                self.live.set_source(source);
                self.tell_turn();
                self.source_note = None;
                // The old source's trouble, and what was said of its faces, no longer apply.
                self.receive(Event::SourceRecovered);
                self.state.source_changed();
                self.receive(Event::Info(format!("showing {}", self.live.source_name)));
                if let Some(choice) = camera {
                    self.remember_camera(choice);
                }
            }
            Ok(Opened::Back { source, error }) => {
                self.live.set_source(source);
                self.tell_turn();
                let back = format!("back to {}", self.live.source_name);
                self.cannot_open(format!("{error}; {back}"));
            }
            Ok(Opened::Lost { error, reopen }) => {
                self.live.source_lost();
                self.state.source_changed();
                self.cannot_open(format!(
                    "{error}; the camera shown before was closed to open another source and \
                     will not open again: {reopen}. Pick a source above."
                ));
            }
            Ok(Opened::Failed(e)) => self.cannot_open(e),
            Err(()) => self.cannot_open("the thread opening it stopped"),
        }
    }

    fn cannot_open(&mut self, why: impl std::fmt::Display) {
        self.error(format!("cannot open that source: {why}"));
    }

    /// Saves the camera that now streams, in the mode it was asked for, as the one to open next
    /// time.
    fn remember_camera(&mut self, choice: CameraChoice) {
        if let (
            SourceSpec::Camera {
                index,
                width,
                height,
                fps,
            },
            Some(settings),
        ) = (&choice.spec, &self.state.settings)
        {
            let mut s = settings.clone();
            s.camera = *index;
            s.camera_name = choice.name;
            (s.camera_width, s.camera_height, s.camera_fps) = (*width, *height, *fps);
            if s.check(std::path::Path::new("settings")).is_empty() {
                self.send(Command::update_settings(s));
            }
        }
    }

    /// Size of the last frame shown, in pixels.
    pub fn frame_size(&self) -> [usize; 2] {
        self.feed.size()
    }

    pub fn source_name(&self) -> &str {
        &self.live.source_name
    }

    pub fn camera_fps(&self) -> f32 {
        self.feed.fps()
    }

    fn receive(&mut self, event: Event) {
        if let Some(follow_up) = self.state.apply(event) {
            self.send(follow_up);
        }
    }

    /// Takes every pending frame and event; never blocks.
    fn poll(&mut self, ctx: &egui::Context) {
        self.poll_opening(ctx);
        self.feed.poll(&self.live.frames);
        while let Ok(event) = self.live.events.try_recv() {
            if let Event::Analysis(a) = &event {
                self.inference_rate.tick(Instant::now());
                let t = a.timings;
                for (last, now) in [
                    (&mut self.last_run.attributes_ms, t.attributes_ms),
                    (&mut self.last_run.embed_ms, t.embed_ms),
                    // Only frames that verified something have a verify time: "verify 0.00 ms"
                    // read as a Verify that took no time (journey review, session 28).
                    (&mut self.last_run.verify_ms, t.verify_ms),
                ] {
                    if now > 0.0 {
                        *last = now;
                    }
                }
            }
            self.receive(event);
        }
        // After the events, so a frame and the analysis of it that came in together show together.
        self.feed.present(ctx, self.state.analysis.as_ref());
    }

    /// Everything inside the window; separate from [`eframe::App`] so tests can drive it.
    pub fn show(&mut self, ui: &mut Ui) {
        self.poll(ui.ctx());
        let mut out = Vec::new();
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui, &mut out));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        match self.view {
            View::Enrol => self.enrol.ui(ui, &self.state, &self.feed, &mut out),
            View::Unlock => self.unlock.ui(ui, &self.state, &self.feed),
            View::Compare => self.compare.ui(ui, &self.state, &mut out),
            View::Manage => {
                let current = Current {
                    name: self.live.source_name.clone(),
                    modes: self.live.modes.clone(),
                };
                if let Some(choice) = self.manage.ui(ui, &self.state, &current, &mut out) {
                    self.open_camera(choice);
                }
            }
        }
        for command in out {
            self.send(command);
        }
    }

    fn top_bar(&mut self, ui: &mut Ui, out: &mut Vec<Command>) {
        let mut view = self.view;
        ui.horizontal(|ui| {
            ui.heading("FaceGate");
            ui.separator();
            for (v, label) in [
                (View::Enrol, "Enrol & verify"),
                (View::Unlock, "Unlock"),
                (View::Compare, "Compare"),
                (View::Manage, "People & settings"),
            ] {
                ui.selectable_value(&mut view, v, label);
            }
            ui.separator();
            let mut on = self.state.attributes_on;
            if ui.checkbox(&mut on, "Age / gender / emotion").changed() {
                out.push(Command::SetAttributes(on));
            }
        });
        if view != self.view {
            self.set_view(view);
        }
        let chosen = ui
            .horizontal(|ui| self.sources.ui(ui, &self.live.source_name))
            .inner;
        match chosen {
            // A camera from the list: in the remembered mode, and remembered once it streams.
            Some(SourceSpec::Camera { index, .. }) => {
                let defaults = crate::store::Settings::default();
                let s = self.state.settings.as_ref().unwrap_or(&defaults);
                let choice = CameraChoice {
                    spec: SourceSpec::saved_camera(index, s),
                    name: self.sources.camera_name(index).unwrap_or_default(),
                };
                self.open_camera(choice);
            }
            Some(spec) => {
                self.open_source(&spec);
            }
            None => {}
        }
        self.message_line(ui);
    }

    /// A line of fixed height, empty or not, so the feed and the buttons below stay where they
    /// are when a message comes or goes. A message wraps onto up to [`MESSAGE_ROWS`] rows (cut
    /// at one, a warning's advice was lost: "…delete it" read "…del…"; journey review, session
    /// 30); one longer still is cut there, whole on hover.
    fn message_line(&mut self, ui: &mut Ui) {
        let row = ui.text_style_height(&egui::TextStyle::Body);
        let height = ui
            .spacing()
            .interact_size
            .y
            .max(row * MESSAGE_ROWS as f32 + 2.0);
        let size = egui::vec2(ui.available_width(), height);
        ui.allocate_ui_with_layout(size, Layout::left_to_right(Align::Center), |ui| {
            ui.set_min_size(size);
            // A cut-off label shows its whole text on hover by itself (a second tooltip of our
            // own drew the text twice).
            let one_line = |ui: &mut Ui, text: &str, colour: Color32| {
                ui.add(Label::new(RichText::new(text).color(colour)).truncate());
            };
            if let Some(problem) = &self.state.source_problem {
                one_line(ui, problem, ERROR);
            }
            let message = self.state.message.as_ref();
            let shown = |m: &&Message| {
                Some(m.id) != self.dismissed
                    && (m.tone != Tone::Done || m.said_at.elapsed() < Tone::DONE_LASTS)
            };
            if let Some(m) = message.filter(shown) {
                let dismiss_width = 70.0;
                ui.scope(|ui| {
                    ui.set_max_width(ui.available_width() - dismiss_width);
                    let colour = match m.tone {
                        Tone::Done => GOOD,
                        Tone::Warning => WARN,
                        Tone::Error => ERROR,
                    };
                    let mut job = egui::text::LayoutJob::single_section(
                        m.text.clone(),
                        egui::TextFormat {
                            font_id: egui::TextStyle::Body.resolve(ui.style()),
                            color: colour,
                            ..Default::default()
                        },
                    );
                    job.wrap.max_rows = MESSAGE_ROWS;
                    ui.add(Label::new(job).wrap());
                });
                if ui.small_button("dismiss").clicked() {
                    self.dismissed = Some(m.id);
                }
            }
            if let Some(note) = &self.source_note {
                one_line(ui, note, WARN);
            }
        });
    }

    fn status_bar(&self, ui: &mut Ui) {
        let analysis = self.state.analysis.as_ref();
        let t = analysis.map(|a| a.timings).unwrap_or_default();
        let latency = analysis.map_or(0.0, |a| a.latency_ms);
        ui.horizontal(|ui| {
            // A stage that has not run yet says so, rather than "0.00 ms".
            let last = |ms: f32, decimals: usize| match ms > 0.0 {
                true => format!("{ms:.decimals$} ms"),
                false => "–".to_owned(),
            };
            ui.label(format!(
                "camera {:.1} fps · inference {:.1} fps · detect {:.1} ms · last attributes {} · last embed {} · last verify {} · capture-to-result {:.0} ms",
                self.feed.fps(),
                self.inference_rate.rate(),
                t.detect_ms,
                last(self.last_run.attributes_ms, 1),
                last(self.last_run.embed_ms, 1),
                last(self.last_run.verify_ms, 2),
                latency
            ));
        });
    }
}

/// Rows the message line wraps onto before a message is cut.
const MESSAGE_ROWS: usize = 3;

impl eframe::App for FaceGateApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
