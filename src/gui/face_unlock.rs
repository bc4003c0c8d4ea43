//! The enrol view's "System face unlock" section: one button that lets the selected person's
//! face unlock the account the window runs as, after a confirmation that names both.
//!
//! It sat under Train as "Enable face unlock for this account", naming neither whose face nor
//! which account: with someone else selected, their face would have unlocked this account
//! (journey s40 #3). The administrator password pkexec asks for authorises root's part; the
//! question here is the account owner's.

use egui::{RichText, Ui};

use super::palette::WARN;
use super::short_name;
use super::state::AppState;
use crate::session::Command;

#[derive(Default)]
pub struct FaceUnlockSection {
    /// The account this window runs as, looked up once (None: it has no name).
    account: Option<Option<String>>,
    /// The person whose face was asked to unlock the account, until confirmed or cancelled.
    confirming: Option<String>,
}

impl FaceUnlockSection {
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("System face unlock");
        let account = self
            .account
            .get_or_insert_with(crate::unlock::current_account)
            .clone();
        // A question about someone no longer selected (removed, or another chosen elsewhere)
        // is not asked later about them.
        if self.confirming != state.selected {
            self.confirming = None;
        }
        let Some(person) = state.selected.clone() else {
            ui.label("Choose a person first.");
            return;
        };
        let Some(account) = account else {
            ui.label("This window's account has no name, so face unlock cannot be enabled for it.");
            return;
        };
        let button = ui.button(format!(
            "Let {}'s face unlock {account}…",
            short_name(&person)
        ));
        button.clone().on_hover_text(
            "copies this person's verification images into the system store, so login and sudo \
             for this account accept their face (after a confirmation; the administrator \
             password is asked; the password stays the fallback)",
        );
        if button.clicked() {
            self.confirming = Some(person);
        }
        self.confirm(ui, &account, out);
    }

    fn confirm(&mut self, ui: &mut Ui, account: &str, out: &mut Vec<Command>) {
        let Some(person) = self.confirming.clone() else {
            return;
        };
        // In full: this question's whole point is whose face (two names can share a shortened
        // start).
        let shown = crate::shown::Escaped(&person).to_string();
        let modal =
            egui::Modal::new(egui::Id::unique("confirm-face-unlock")).show(ui.ctx(), |ui| {
                ui.set_max_width(440.0);
                ui.heading(format!("Let {shown}'s face unlock {account}?"));
                ui.label(format!(
                    "{shown}'s verification images are copied into the system store, and login, \
                 the lock screen and sudo for the account {account} then accept {shown}'s face. \
                 Enable it only for your own face on your own account."
                ));
                ui.label(
                    RichText::new(
                        "The administrator password is asked next. Your password always works too.",
                    )
                    .color(WARN),
                );
                ui.horizontal(|ui| {
                    if ui.button(format!("Enable for {account}")).clicked() {
                        out.push(Command::EnableFaceUnlock {
                            person: person.clone(),
                            account: account.to_owned(),
                        });
                        self.confirming = None;
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirming = None;
                    }
                });
            });
        if modal.should_close() {
            self.confirming = None;
        }
    }
}
