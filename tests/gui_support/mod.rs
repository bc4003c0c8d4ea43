//! The headless harness the window suites share (tests/gui*.rs): the real app with a real
//! worker and models, driven through egui_kittest, and a wait on the app's state.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use facegate::camera::{self, ReplayOptions, SourceSpec};
use facegate::gui::FaceGateApp;
use facegate::session::Session;
use facegate::store::{ImageKind, Store};

use crate::common;
pub use crate::common::enrol_id01_from_deepface;

pub fn app(data: &Path, source: SourceSpec) -> FaceGateApp {
    let source = camera::open_with(&source, ReplayOptions::default()).unwrap();
    let store = Store::open(data).unwrap();
    FaceGateApp::new(Session::start(
        source,
        Ok(common::models()),
        store,
        Arc::new(|| {}),
    ))
}

/// The window at the size the screenshots are taken at, or taller when a test needs the end of
/// a long side panel on screen.
pub fn harness(app: FaceGateApp, height: f32) -> Harness<'static, FaceGateApp> {
    let mut h = Harness::new_ui_state(|ui, app: &mut FaceGateApp| app.show(ui), app);
    h.set_size(egui::vec2(1280.0, height));
    h
}

/// Steps the UI until `done` holds (the worker runs on its own thread), or fails after `secs`.
pub fn wait_for(
    h: &mut Harness<'_, FaceGateApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&FaceGateApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}; the app says: {:?}; verifying {}, faces in view {:?}",
            h.state().state.message,
            h.state().state.verifying,
            h.state().state.analysis.as_ref().map(|a| a.faces.len())
        );
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    println!("{what}: {:.1} s", start.elapsed().as_secs_f32());
}

pub fn demo() -> SourceSpec {
    SourceSpec::Demo(common::fixture("astronaut.png"))
}

pub fn models_loaded(h: &mut Harness<'_, FaceGateApp>) {
    wait_for(h, 60, "the models to load", |a| a.state.settings.is_some());
}

pub fn add_person(h: &mut Harness<'_, FaceGateApp>, name: &str) {
    h.get_by_role_and_label(Role::TextInput, "new:").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "new:")
        .type_text(name);
    h.run_steps(2);
    h.get_by_label("Add person").click();
    h.run_steps(2);
    wait_for(h, 10, "the new person's (empty) galleries", |a| {
        a.state.selected.as_deref() == Some(name)
            && a.state.thumbnails.len() == ImageKind::ALL.len()
    });
    h.run_steps(2);
}

/// Clicks "Capture verification" `times` times, each time waiting for the new thumbnail.
pub fn capture_verification(h: &mut Harness<'_, FaceGateApp>, times: usize) {
    for i in 1..=times {
        h.get_by_label("Capture verification (V)").click();
        h.run_steps(2);
        wait_for(h, 20, "a verification image", |a| {
            a.state.thumbnail_count(ImageKind::Verification) == i
        });
        // Let the demo feed move on so the next capture is a different frame.
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Clicks Verify and waits for the attempt's verdict.
pub fn verify_and_wait(h: &mut Harness<'_, FaceGateApp>) {
    h.get_by_role_and_label(Role::Button, "Verify").click();
    h.run_steps(2);
    wait_for(h, 30, "a verdict", |a| {
        a.state
            .verdict
            .as_ref()
            .is_some_and(|v| v.attempt.is_some())
    });
    h.run_steps(2);
}

/// A file dropped from a file manager.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `files` on the window where the pointer is now.
pub fn drop_files(h: &mut Harness<'_, FaceGateApp>, files: &[PathBuf]) {
    h.input_mut().dropped_files = files
        .iter()
        .map(|f| Arc::new(Dropped(f.clone())) as egui::DroppedFileHandle)
        .collect();
    h.step();
}

/// The cameraman's face from camera.png: small in his photo, so cropped and enlarged past the
/// capture gate. The stranger among a person's images in the window's tests.
pub fn cameraman_face() -> image::RgbImage {
    let photo = facegate::imageio::load(&common::fixture("camera.png")).unwrap();
    let face = image::imageops::crop_imm(&photo, 126, 53, 200, 200).to_image();
    image::imageops::resize(&face, 512, 512, image::imageops::FilterType::Triangle)
}
