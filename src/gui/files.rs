//! Files from outside the window: dropped on it, or chosen in the desktop's file dialog (rfd,
//! through the xdg desktop portal) on a thread of its own, so the window never waits on it.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, TryRecvError};
use egui::{Rect, Ui};

/// Paths dropped on the window this frame (files from a file manager; never in-memory bytes).
pub fn dropped(ui: &Ui) -> Vec<PathBuf> {
    ui.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    })
}

/// Files are being dragged over the window.
pub fn hovering(ui: &Ui) -> bool {
    ui.input(|i| !i.raw.hovered_files.is_empty())
}

/// Whether the pointer was last seen inside `rect` (a drop lands where the pointer is).
pub fn pointer_in(ui: &Ui, rect: Rect) -> bool {
    ui.input(|i| i.pointer.latest_pos())
        .is_some_and(|p| rect.contains(p))
}

/// What a file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose<T> {
    Files(T),
    Folder(T),
}

/// One file dialog at a time, answered on a thread.
pub struct Dialog<T: Copy + Send + 'static> {
    pending: Option<(T, Receiver<Option<Vec<PathBuf>>>)>,
}

impl<T: Copy + Send + 'static> Default for Dialog<T> {
    fn default() -> Self {
        Dialog { pending: None }
    }
}

/// What a dialog gave back.
pub enum Answer<T> {
    Chosen(T, Vec<PathBuf>),
    /// Cancelled, or no dialog could be shown (no file-chooser portal on this desktop).
    Nothing(T),
}

impl<T: Copy + Send + 'static> Dialog<T> {
    pub fn open(&self) -> bool {
        self.pending.is_some()
    }

    /// Opens the desktop's dialog for `purpose` (images, or a folder) unless one is open.
    pub fn start(&mut self, ctx: &egui::Context, purpose: Purpose<T>, title: &str) {
        if self.pending.is_some() {
            return;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let ctx = ctx.clone();
        let title = title.to_owned();
        let (tag, folder) = match purpose {
            Purpose::Files(t) => (t, false),
            Purpose::Folder(t) => (t, true),
        };
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let dialog = rfd::FileDialog::new().set_title(title);
                let chosen = if folder {
                    dialog.pick_folder().map(|p| vec![p])
                } else {
                    // Both cases: GTK's filter patterns are case-sensitive, and cameras
                    // name their files IMG_0001.JPG.
                    let extensions: Vec<String> = crate::imageio::listing::extensions()
                        .flat_map(|e| [e.to_owned(), e.to_ascii_uppercase()])
                        .collect();
                    dialog.add_filter("images", &extensions).pick_files()
                };
                let _ = tx.send(chosen);
                ctx.request_repaint();
            });
        if spawned.is_ok() {
            self.pending = Some((tag, rx));
        }
    }

    /// The answer, once the dialog has closed.
    pub fn poll(&mut self) -> Option<Answer<T>> {
        let (tag, rx) = self.pending.as_ref()?;
        let tag = *tag;
        let answer = match rx.try_recv() {
            Ok(Some(paths)) if !paths.is_empty() => Answer::Chosen(tag, paths),
            Ok(_) | Err(TryRecvError::Disconnected) => Answer::Nothing(tag),
            Err(TryRecvError::Empty) => return None,
        };
        self.pending = None;
        Some(answer)
    }
}

/// Said when a dialog gave nothing back: it may never have appeared.
pub const NO_DIALOG: &str = "no file chosen (if no dialog appeared, this desktop has no file-chooser portal: drop the files on the window instead)";
