//! Two-image comparison: drop two files on the window (or type their paths), see both aligned
//! faces, their similarity and the verdict.

use egui::{RichText, TextureHandle, TextureOptions, Ui};

use super::palette::{ERROR, GOOD};
use super::state::AppState;
use super::textures::to_color_image;
use crate::session::{Command, CompareResult};

#[derive(Default)]
pub struct CompareView {
    paths: [String; 2],
    /// Judge with the selected person's rule (their trained head when one is in use).
    as_person: bool,
    /// The two aligned faces of comparison number `.0`, uploaded once when it arrives.
    faces: Option<(u64, [TextureHandle; 2])>,
}

impl CompareView {
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        egui::CentralPanel::default_margins().show(ui, |ui| self.panel(ui, state, out));
    }

    fn panel(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        self.take_dropped(ui);
        ui.heading("Compare two photos");
        ui.label("Drop two image files on the window, or type their paths.");
        // A grid, so that the two fields start where each other does.
        egui::Grid::new("compare paths").show(ui, |ui| {
            for (i, name) in ["First photo", "Second photo"].into_iter().enumerate() {
                let label = ui.label(name);
                // Sized, not a desired width: a grid cell gives a field only what it needs.
                let size = egui::vec2(520.0, ui.spacing().interact_size.y);
                ui.add_sized(size, egui::TextEdit::singleline(&mut self.paths[i]))
                    .labelled_by(label.id);
                ui.end_row();
            }
        });
        let ready = self.paths.iter().all(|p| !p.trim().is_empty());
        let person = state.selected.clone().filter(|_| self.as_person);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(ready, egui::Button::new("Compare"))
                .clicked()
            {
                out.push(Command::Compare(
                    self.paths[0].trim().into(),
                    self.paths[1].trim().into(),
                    person,
                ));
            }
            if let Some(selected) = &state.selected {
                ui.checkbox(&mut self.as_person, format!("by {selected}'s rule"))
                    .on_hover_text(
                        "their trained head when one is in use for them; else the saved \
                         detection threshold, as without",
                    );
            }
        });
        ui.separator();
        match &state.compared {
            Some(Err(e)) => {
                ui.label(RichText::new(e).color(ERROR));
            }
            Some(Ok(result)) => self.result(ui, result, state.compare_count),
            None => {}
        }
    }

    /// Fills the first empty slot, else shifts: the newest two drops are compared.
    fn take_dropped(&mut self, ui: &Ui) {
        let dropped: Vec<String> = ui.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().display().to_string())
                .collect()
        });
        for path in dropped {
            if self.paths[0].is_empty() {
                self.paths[0] = path;
            } else if self.paths[1].is_empty() {
                self.paths[1] = path;
            } else {
                self.paths = [std::mem::take(&mut self.paths[1]), path];
            }
        }
    }

    fn result(&mut self, ui: &mut Ui, result: &CompareResult, number: u64) {
        if self.faces.as_ref().is_none_or(|(n, _)| *n != number) {
            let ctx = ui.ctx();
            let load = |name, image| {
                ctx.load_texture(name, to_color_image(ctx, image), TextureOptions::LINEAR)
            };
            self.faces = Some((
                number,
                [load("compare-a", &result.a), load("compare-b", &result.b)],
            ));
        }
        if let Some((_, textures)) = &self.faces {
            ui.horizontal(|ui| {
                for tex in textures {
                    ui.add(
                        egui::Image::from_texture(tex).fit_to_exact_size(egui::vec2(224.0, 224.0)),
                    );
                }
            });
        }
        let (verdict, colour) = if result.same {
            ("Same person", GOOD)
        } else {
            ("Different people", ERROR)
        };
        ui.label(RichText::new(verdict).size(24.0).strong().color(colour));
        let score = if (result.score - result.similarity).abs() > 1e-6 {
            format!(" · score {:.3}", result.score)
        } else {
            String::new()
        };
        ui.label(format!("similarity {:.3}{score}", result.similarity));
        ui.label(format!("rule: {}", result.rule));
    }
}
