//! What the window shows, as plain data: no egui here, so it can be tested without a window.
//!
//! Two inputs change it, and nothing else does: [`AppState::apply`] for what the worker reports,
//! and [`AppState::issued`] for the commands the user has just sent (so the window reacts to a
//! click at once instead of a frame later, when the worker answers).

use std::collections::HashMap;

use crate::auth::calibrate::PersonScores;
use crate::auth::{Identification, Verification};
use crate::engine::scores::Calibrated;
use crate::session::{
    Analysis, AttemptVerdict, CalibrationRefused, Command, CompareResult, Event, HeadRule,
    ImportProgress, Mode, Thumbnail, UnlockStatus,
};
use crate::store::{ImageKind, Settings};
use crate::train::{EpochReport, TrainReport};

/// A training run as the window shows it.
#[derive(Debug, Clone, Default)]
pub struct Training {
    pub history: Vec<EpochReport>,
    /// None while it runs.
    pub result: Option<Result<Box<TrainReport>, String>>,
}

impl Training {
    /// Running once the first epoch is in: the button stays usable if the worker never started.
    pub fn running(&self) -> bool {
        self.result.is_none() && !self.history.is_empty()
    }
}

/// The last verification shown in the verdict.
#[derive(Debug, Clone)]
pub struct ShownVerdict {
    pub person: String,
    pub verification: Verification,
    /// The outcome of a Verify attempt (K of N frames); None for one continuous-mode frame,
    /// which is shown as this frame's match, never as "Verified".
    pub attempt: Option<AttemptVerdict>,
}

/// A line for the user. `id` grows with each message, so dismissing one does not hide the next
/// even when its text is the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: u64,
    pub text: String,
    pub tone: Tone,
    /// When it was said: a note that something was done fades ([`Tone::DONE_LASTS`]).
    pub said_at: std::time::Instant,
    /// What later events can make it untrue, so that it does not outlive its cause.
    pub about: About,
}

/// How a message reads: done, a warning (it happened, but look), or an error (it did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Done,
    /// Done, but worth a look: a new person whose name looks like another's was added, and a
    /// red line read as "not added" (journey review, session 28).
    Warning,
    Error,
}

impl Tone {
    /// How long a note that something was done stays on the message line: "positive image
    /// saved" stayed through every view until something else was said.
    pub const DONE_LASTS: std::time::Duration = std::time::Duration::from_secs(6);
}

/// What a message says something about that can change under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum About {
    #[default]
    Nothing,
    /// Why a Verify or Identify got no answer ([`Event::Unanswered`]): cleared by the next
    /// question, or once which of the selected person's images are odd changes (a gallery
    /// refused as two people, since mended).
    Question,
    /// Negatives that show someone enrolled: follows their list as it shrinks.
    Negatives,
    /// One of a person's images (a capture that looks like someone else): cleared once it is
    /// no longer among their images (deleted: the advice was followed).
    Image(uuid::Uuid),
}

#[derive(Debug, Default)]
pub struct AppState {
    pub people: Vec<String>,
    pub selected: Option<String>,
    /// None until the worker has loaded the models.
    pub settings: Option<Settings>,
    pub thumbnails: HashMap<ImageKind, Vec<Thumbnail>>,
    pub analysis: Option<Analysis>,
    /// Why the worker has no models (it answers nothing then): shown where settings would be.
    pub analysis_off: Option<String>,
    pub verdict: Option<ShownVerdict>,
    /// A Verify attempt is running: single continuous-mode verdicts must not replace its result.
    pub verifying: bool,
    /// Why the last Verify ended with no verdict (locked out, no frames came, the view changed):
    /// said where the verdict goes. In the banner alone, beside other warnings, the section went
    /// blank on a lock-out (journey s41 #4).
    pub verify_ended: Option<String>,
    /// When [`Self::verify_ended`] was said: a lock-out's "283 more s" is a count at that
    /// moment, and the line stays until the next question (final read s41).
    pub verify_ended_at: Option<std::time::Instant>,
    /// Whom the running (or last) Verify was for: its end is said under them only. "Verify
    /// stopped: another person was chosen" came after the choice, and stood under the new
    /// person (final read s41).
    verify_for: Option<String>,
    pub continuous: bool,
    /// Age, gender and emotion overlays.
    pub attributes_on: bool,
    pub identification: Option<Identification>,
    /// The loss curve of the running (or last) training and its outcome.
    pub training: Option<Training>,
    /// The selected person's score sets, for FAR/FRR beside the slider and the consistency line.
    pub person_scores: Option<PersonScores>,
    pub unlock_status: Option<UnlockStatus>,
    pub compared: Option<Result<CompareResult, String>>,
    /// Counts comparisons, so a view can tell a new result from the one it already drew.
    pub compare_count: u64,
    pub message: Option<Message>,
    /// The camera or recording failed; the last picture stays.
    pub source_problem: Option<String>,
    /// The latest import of photos (running or finished), with every refusal and its reason.
    pub import: Option<ImportProgress>,
    /// The selected person's trained head, when it (not cosine) decides for them.
    pub head_rule: Option<HeadRule>,
    /// The last calibration's result; `calibrating` while one runs.
    pub calibration: Option<Result<Calibrated, CalibrationRefused>>,
    /// Messages said so far: the next one's id.
    said: u64,
    /// Negatives that show someone enrolled, with whom: offered for removal.
    pub negatives_showing: Vec<(uuid::Uuid, String)>,
    /// How many negatives are stored, once the worker has said.
    pub negatives_stored: Option<usize>,
    pub calibrating: bool,
}

impl AppState {
    pub fn new() -> AppState {
        AppState {
            attributes_on: true,
            ..AppState::default()
        }
    }

    /// Takes in one event from the worker. Returns a command the worker must then get, when the
    /// event calls for one (the first person, or one just added, becomes the selected one).
    #[must_use]
    pub fn apply(&mut self, event: Event) -> Option<Command> {
        match event {
            Event::Ready { people, settings } => {
                self.people = people;
                self.settings = Some(settings);
                if self.selected.is_none() {
                    return self.people.first().cloned().map(select);
                }
            }
            Event::People { added, people } => {
                self.people = people;
                return Some(select(added));
            }
            Event::PeopleElsewhere(people) => return self.on_people_elsewhere(people),
            Event::Gallery {
                person,
                kind,
                thumbnails,
            } => self.on_gallery(&person, kind, thumbnails),
            Event::Analysis(a) => self.analysis = Some(a),
            Event::Captured { kind, .. } => {
                self.say(format!("{} image saved", kind.dir_name()), Tone::Done)
            }
            Event::CaptureRefused(why) => self.say(format!("not saved: {why}"), Tone::Error),
            Event::Verdict {
                person,
                verification,
                attempt,
            } => self.on_verdict(person, verification, attempt),
            Event::Identified(id) => self.identification = Some(id),
            Event::TrainProgress(epoch) => self
                .training
                .get_or_insert_with(Training::default)
                .history
                .push(epoch),
            Event::Trained(result) => return self.on_trained(result),
            Event::Import(progress) => {
                if progress.finished() {
                    let tone = match (progress.saved, progress.refused.is_empty()) {
                        (0, false) => Tone::Error,
                        (_, false) => Tone::Warning,
                        _ if progress.warning.is_some() => Tone::Warning,
                        _ => Tone::Done,
                    };
                    self.say(import_summary(&progress), tone);
                }
                self.import = Some(progress);
            }
            Event::Removed {
                name,
                report,
                people,
            } => {
                self.people = people;
                self.identification = None;
                self.say(format!("removed {name}: {report}"), Tone::Done);
                if self.selected.as_deref() == Some(name.as_str()) {
                    return Some(Command::SelectPerson(self.people.first().cloned()));
                }
            }
            Event::Renamed { from, to, people } => {
                self.people = people;
                // It may name the old name.
                self.identification = None;
                self.say(format!("renamed {from} to {to}"), Tone::Done);
                if self.selected.as_deref() == Some(from.as_str()) {
                    return Some(select(to));
                }
            }
            Event::Calibrated(result) => {
                self.calibrating = false;
                self.calibration = Some(result);
            }
            Event::NegativesShowing(found) => self.on_negatives_showing(found),
            Event::HeadRule { person, head } => {
                if self.selected.as_deref() == Some(person.as_str()) {
                    self.head_rule = head;
                }
            }
            Event::PersonScores(scores) => {
                if self.selected.as_deref() == Some(scores.person.as_str()) {
                    // Which of the person's images are odd changed (one deleted, the model
                    // switched): why a Verify was refused as two people may be over.
                    let mended = self
                        .person_scores
                        .as_ref()
                        .is_some_and(|old| old.person == scores.person && old.odd != scores.odd);
                    if mended {
                        self.clear_error();
                    }
                    self.person_scores = Some(scores);
                }
            }
            Event::Unlock(status) => self.unlock_status = Some(status),
            Event::Compared(result) => {
                self.compared = Some(result);
                self.compare_count += 1;
            }
            Event::SettingsInForce(settings) => self.settings = Some(settings),
            Event::NegativesStored(n) => self.negatives_stored = Some(n),
            // Only the worker ends a Verify: an error of anything else (an overlay's on this
            // frame, an import's) left "verifying" off while the attempt ran on (design review
            // 2.1), and a second click ended it.
            Event::Error(e) => self.say(e, Tone::Error),
            Event::Unanswered(e) => self.say_unanswered(e),
            Event::VerifyEnded(e) => {
                self.verifying = false;
                if self.verify_for == self.selected {
                    self.verify_ended = Some(e);
                    self.verify_ended_at = Some(std::time::Instant::now());
                }
            }
            Event::Info(text) => self.say(text, Tone::Done),
            Event::SourceError(e) => self.source_problem = Some(e),
            Event::SourceRecovered => self.source_problem = None,
            Event::Warning(text) => self.say(text, Tone::Warning),
            Event::ImageWarning { id, text } => {
                self.say(text, Tone::Warning);
                if let Some(m) = self.message.as_mut() {
                    m.about = About::Image(id);
                }
            }
            Event::AnalysisOff(why) => {
                self.say(why.clone(), Tone::Error);
                self.analysis_off = Some(why);
            }
        }
        None
    }

    /// The people as changed from elsewhere (the CLI, another window).
    fn on_people_elsewhere(&mut self, people: Vec<String>) -> Option<Command> {
        if people == self.people {
            return None;
        }
        self.people = people;
        // It may name someone since renamed or removed.
        self.identification = None;
        let gone = self
            .selected
            .as_ref()
            .is_none_or(|p| !self.people.contains(p));
        gone.then(|| Command::SelectPerson(self.people.first().cloned()))
    }

    /// A gallery's thumbnails, for the person selected when they were asked for.
    fn on_gallery(&mut self, person: &str, kind: ImageKind, thumbnails: Vec<Thumbnail>) {
        // A late answer for someone no longer selected must not show under the new name.
        if self.selected.as_deref() == Some(person) {
            let held = |images: Option<&Vec<Thumbnail>>, id: uuid::Uuid| {
                images.is_some_and(|images| images.iter().any(|t| t.id == id))
            };
            // The warning said "delete it", and it was: gone from this gallery since
            // it was last shown (it stayed, as if still true; journey review, session
            // 30).
            if let Some(About::Image(id)) = self.message.as_ref().map(|m| m.about)
                && held(self.thumbnails.get(&kind), id)
                && !held(Some(&thumbnails), id)
            {
                self.message = None;
            }
            self.thumbnails.insert(kind, thumbnails);
        }
    }

    /// A verdict: a Verify attempt's, or a continuous frame's.
    fn on_verdict(
        &mut self,
        person: String,
        verification: Verification,
        attempt: Option<AttemptVerdict>,
    ) {
        if attempt.is_some() {
            self.verifying = false;
        }
        let shown = match attempt {
            Some(_) => true,
            // A continuous frame's, while Continuous is on and no attempt runs: one
            // computed before Continuous was turned off (one comes every 200 ms) would
            // bring back the match that turning it off took away.
            None => self.continuous && !self.verifying,
        };
        if shown {
            self.verify_ended = None;
            self.verdict = Some(ShownVerdict {
                person,
                verification,
                attempt,
            });
        }
    }

    /// A training run ended.
    fn on_trained(&mut self, result: Result<Box<TrainReport>, String>) -> Option<Command> {
        let in_use = result.as_ref().is_ok_and(|r| r.in_use);
        match &result {
            Ok(r) => {
                let using = if r.in_use {
                    "the head is"
                } else {
                    "cosine stays"
                };
                self.say(
                    format!("trained {}'s head: {using} in use", r.person),
                    Tone::Done,
                )
            }
            Err(e) => self.say(format!("training: {e}"), Tone::Error),
        }
        self.training.get_or_insert_with(Training::default).result = Some(result);
        // The rule in force may have changed: the readout beside the slider follows.
        (in_use || self.head_rule.is_some()).then_some(Command::RefreshScores)
    }

    /// The negatives that show someone enrolled, as they are now.
    fn on_negatives_showing(&mut self, found: Vec<(uuid::Uuid, String)>) {
        // Said when a negative is flagged that was not before, not only when their number
        // grows: a capture can flag one as a deletion clears another.
        let flagged = |id: &uuid::Uuid| self.negatives_showing.iter().any(|(f, _)| f == id);
        let new = found.iter().any(|(id, _)| !flagged(id));
        // By whom they show, not by ids: the message line is one line, and the
        // negatives are reached under People & settings, not by id.
        let text = format!(
            "{}: negatives should be other people's faces; remove {} under Negatives in \
             People & settings",
            crate::error::negatives_by_whom(&found),
            if found.len() == 1 { "it" } else { "them" }
        );
        match &mut self.message {
            _ if new => {
                self.say(text, Tone::Error);
                if let Some(m) = &mut self.message {
                    m.about = About::Negatives;
                }
            }
            // Fewer than it said: the line follows (keeping its id, so a line the user
            // dismissed stays dismissed), and goes with the last of them.
            Some(m) if m.about == About::Negatives => {
                if found.is_empty() {
                    self.message = None;
                } else {
                    m.text = text;
                }
            }
            _ => {}
        }
        // A calibration refused for negatives that show someone: over once they are.
        if let Some(Err(refused)) = &self.calibration
            && !refused.negatives.is_empty()
            && !refused
                .negatives
                .iter()
                .any(|id| found.iter().any(|(f, _)| f == id))
        {
            self.calibration = None;
        }
        self.negatives_showing = found;
    }

    /// An error that the next question replaces.
    fn say_unanswered(&mut self, e: String) {
        self.say(e, Tone::Error);
        if let Some(m) = &mut self.message {
            m.about = About::Question;
        }
    }

    /// Another source is on screen: answers about the faces of the old one no longer apply.
    pub fn source_changed(&mut self) {
        self.verdict = None;
        self.verify_ended = None;
        self.identification = None;
    }

    /// What a command the user has just sent changes before the worker answers.
    pub fn issued(&mut self, command: &Command) {
        match command {
            Command::SelectPerson(person) => {
                self.thumbnails.clear();
                self.verdict = None;
                self.verify_ended = None;
                self.identification = None;
                self.person_scores = None;
                self.head_rule = None;
                self.training = None;
                self.selected = person.clone();
            }
            // One question, one answer on screen: the last identification is not this
            // verification's, nor the last verification this identification's.
            Command::Verify => {
                self.verifying = true;
                self.verify_for = self.selected.clone();
                self.verdict = None;
                self.verify_ended = None;
                self.identification = None;
                self.clear_error();
            }
            Command::Identify => {
                self.identification = None;
                self.clear_error();
                if !self.continuous {
                    self.verdict = None;
                }
            }
            Command::SetMode(mode) => {
                match mode {
                    Mode::Continuous => self.continuous = true,
                    Mode::Detect => {
                        self.continuous = false;
                        // A continuous frame's match is about a frame no longer being judged;
                        // an attempt's verdict stays.
                        if self.verdict.as_ref().is_some_and(|v| v.attempt.is_none()) {
                            self.verdict = None;
                        }
                    }
                    // Leaving the enrol view keeps the choice for when the user comes back.
                    Mode::Unlock => {}
                }
                self.unlock_status = None;
            }
            Command::UpdateSettings { asked, .. } => self.settings = Some(asked.clone()),
            Command::SetAttributes(on) => self.attributes_on = *on,
            Command::Train => self.training = Some(Training::default()),
            Command::EnableFaceUnlock { .. } => self.say(
                "enabling face unlock: the administrator password may be asked".into(),
                Tone::Done,
            ),
            Command::Calibrate { .. } => {
                self.calibrating = true;
                self.calibration = None;
            }
            Command::ImportFiles { .. } | Command::ImportNegatives(_) => self.import = None,
            Command::RemovePerson(_)
            | Command::RenamePerson { .. }
            | Command::RefreshScores
            | Command::SourceChanged(_)
            | Command::TurnFor(_) => {}
            Command::AddPerson(_)
            | Command::Capture(_)
            | Command::DeleteImage { .. }
            | Command::RemoveNegatives(_)
            | Command::Compare(..)
            | Command::Shutdown => {}
        }
    }

    /// The mode the worker should be in for a view: unlock, or what the enrol view last chose.
    pub fn mode_for(&self, unlock: bool) -> Mode {
        if unlock {
            Mode::Unlock
        } else if self.continuous {
            Mode::Continuous
        } else {
            Mode::Detect
        }
    }

    /// The user can capture, verify and train only once someone is selected and models are in.
    pub fn person_ready(&self) -> bool {
        self.selected.is_some() && self.settings.is_some()
    }

    pub fn thumbnail_count(&self, kind: ImageKind) -> usize {
        self.thumbnails.get(&kind).map_or(0, Vec::len)
    }

    /// A new question: why the last one got no answer (a gallery refused as two people, since
    /// mended) is not left above this one's. Other messages (an import's refusals, a full disk)
    /// stay until something else is said.
    fn clear_error(&mut self) {
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.about == About::Question)
        {
            self.message = None;
        }
    }

    fn say(&mut self, text: String, tone: Tone) {
        // Ids never repeat, cleared messages included: the window hides the one dismissed by id.
        self.said += 1;
        self.message = Some(Message {
            id: self.said,
            text,
            tone,
            said_at: std::time::Instant::now(),
            about: About::Nothing,
        });
    }
}

/// "2 saved as verification images, 1 refused (group.jpg: two faces …)".
fn import_summary(p: &ImportProgress) -> String {
    let mut text = format!("{} of {} saved to {}", p.saved, p.total, p.gallery);
    if p.skipped > 0 {
        text.push_str(&format!(", {} already stored", p.skipped));
    }
    if let Some((file, why)) = p.refused.first() {
        text.push_str(&format!(", {} refused ({file}: {why}", p.refused.len()));
        if p.refused.len() > 1 {
            text.push_str(", …");
        }
        text.push(')');
    }
    if let Some(warning) = &p.warning {
        text.push_str(&format!(". Warning: {warning}"));
    }
    text
}

fn select(person: String) -> Command {
    Command::SelectPerson(Some(person))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Thresholds, verify};
    use crate::store::Gallery;
    use crate::vision::Embedding;

    fn ready(people: &[&str]) -> Event {
        Event::Ready {
            people: people.iter().map(|p| p.to_string()).collect(),
            settings: Settings::default(),
        }
    }

    fn verdict(attempt_done: bool) -> Event {
        let probe = Embedding::normalised(vec![1.0, 0.0]);
        let thresholds = Thresholds {
            detection: 0.3,
            verification: 0.6,
        };
        Event::Verdict {
            person: "Ann".into(),
            verification: verify(&probe, &[], thresholds),
            attempt: attempt_done.then_some(AttemptVerdict {
                accepted: false,
                refusal: None,
            }),
        }
    }

    /// Applies an event and sends on its follow-up command, as the app does.
    fn feed(state: &mut AppState, event: Event) -> Option<Command> {
        let follow_up = state.apply(event);
        if let Some(c) = &follow_up {
            state.issued(c);
        }
        follow_up
    }

    #[test]
    fn ready_selects_the_first_person_and_tells_the_worker() {
        let mut s = AppState::new();
        let c = feed(&mut s, ready(&["Ann", "Bob"]));
        assert!(matches!(c, Some(Command::SelectPerson(Some(p))) if p == "Ann"));
        assert_eq!(s.selected.as_deref(), Some("Ann"));
        assert!(s.person_ready());
    }

    #[test]
    fn an_added_person_becomes_selected_and_old_galleries_go() {
        let mut s = AppState::new();
        let _ = feed(&mut s, ready(&["Ann"]));
        let _ = s.apply(Event::Gallery {
            person: "Ann".into(),
            kind: ImageKind::Anchor,
            thumbnails: Vec::new(),
        });
        assert_eq!(s.thumbnails.len(), 1);
        let c = feed(
            &mut s,
            Event::People {
                added: "Bob".into(),
                // Abe came from elsewhere meanwhile: the first new name, not the one added.
                people: vec!["Abe".into(), "Ann".into(), "Bob".into()],
            },
        );
        assert!(matches!(c, Some(Command::SelectPerson(Some(p))) if p == "Bob"));
        assert!(s.thumbnails.is_empty());
        // A gallery that arrives late for Ann is not shown under Bob.
        let _ = s.apply(Event::Gallery {
            person: "Ann".into(),
            kind: ImageKind::Anchor,
            thumbnails: Vec::new(),
        });
        assert!(s.thumbnails.is_empty());
    }

    #[test]
    fn a_running_attempt_keeps_its_verdict_from_continuous_frames() {
        let mut s = AppState::new();
        s.issued(&Command::SetMode(Mode::Continuous));
        s.issued(&Command::Verify);
        assert!(s.verifying && s.verdict.is_none());
        let _ = s.apply(verdict(false));
        assert!(s.verdict.is_none(), "one frame does not end the attempt");
        let _ = s.apply(verdict(true));
        assert!(!s.verifying);
        assert!(s.verdict.as_ref().is_some_and(|v| v.attempt.is_some()));
        let _ = s.apply(verdict(false));
        assert!(s.verdict.as_ref().is_some_and(|v| v.attempt.is_none()));
    }

    #[test]
    fn a_newly_flagged_negative_is_said_even_when_their_number_does_not_grow() {
        let mut s = AppState::new();
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let _ = s.apply(Event::NegativesShowing(vec![(a, "Ann".into())]));
        let first = s.message.clone().expect("said");
        assert!(first.tone == Tone::Error && first.text.contains("1 of the negatives shows Ann"));
        // The same list again (a capture that changed nothing): not said twice.
        let _ = s.apply(Event::NegativesShowing(vec![(a, "Ann".into())]));
        assert_eq!(s.message.as_ref().unwrap().id, first.id);
        // One cleared, another flagged: as many as before, but a new one.
        let _ = s.apply(Event::NegativesShowing(vec![(b, "Bob".into())]));
        let second = s.message.clone().unwrap();
        assert_ne!(second.id, first.id);
        assert!(second.text.contains("shows Bob"), "{}", second.text);
        // Fewer: the line follows the list (the same line, so a dismissed one stays hidden)...
        let _ = s.apply(Event::NegativesShowing(vec![
            (a, "Ann".into()),
            (b, "Bob".into()),
        ]));
        let both = s.message.clone().unwrap();
        assert!(both.text.starts_with("2 of the negatives show Ann, Bob"));
        let _ = s.apply(Event::NegativesShowing(vec![(b, "Bob".into())]));
        let fewer = s.message.clone().unwrap();
        assert_eq!(fewer.id, both.id);
        assert!(
            fewer.text.starts_with("1 of the negatives shows Bob"),
            "{}",
            fewer.text
        );
        // ...and goes with the last of them.
        let _ = s.apply(Event::NegativesShowing(Vec::new()));
        assert!(s.message.is_none());
        // Another message is not touched by the list.
        let _ = s.apply(Event::NegativesShowing(vec![(a, "Ann".into())]));
        let _ = s.apply(Event::Info("removed Ann's image".into()));
        let _ = s.apply(Event::NegativesShowing(Vec::new()));
        assert_eq!(s.message.unwrap().text, "removed Ann's image");
    }

    #[test]
    fn a_refused_calibration_goes_once_the_negatives_that_refused_it_are_gone() {
        let mut s = AppState::new();
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let refused = |negatives: Vec<uuid::Uuid>| {
            Event::Calibrated(Err(CalibrationRefused {
                why: "not calibrated: …".into(),
                negatives,
            }))
        };
        let _ = s.apply(refused(vec![a, b]));
        let _ = s.apply(Event::NegativesShowing(vec![
            (a, "Ann".into()),
            (b, "Bo".into()),
        ]));
        assert!(
            matches!(s.calibration, Some(Err(_))),
            "sent with the refusal: kept"
        );
        let _ = s.apply(Event::NegativesShowing(vec![(b, "Bo".into())]));
        assert!(
            matches!(s.calibration, Some(Err(_))),
            "one of them is still there"
        );
        let _ = s.apply(Event::NegativesShowing(Vec::new()));
        assert!(
            s.calibration.is_none(),
            "removed: calibrate again, not a stale refusal"
        );
        // Another refusal (no impostors, say) is not about the negatives' list.
        let _ = s.apply(refused(Vec::new()));
        let _ = s.apply(Event::NegativesShowing(Vec::new()));
        assert!(matches!(s.calibration, Some(Err(_))));
    }

    #[test]
    fn why_a_verify_got_no_answer_goes_when_the_persons_images_change() {
        let mut s = AppState::new();
        let _ = feed(&mut s, ready(&["Ann"]));
        let mended = PersonScores {
            person: "Ann".into(),
            scores: Default::default(),
            consistency: None,
            odd: Vec::new(),
            images: 3,
        };
        let two_people = PersonScores {
            odd: vec![uuid::Uuid::new_v4()],
            ..mended.clone()
        };
        let _ = s.apply(Event::PersonScores(two_people.clone()));
        let _ = s.apply(Event::Unanswered(
            "cannot verify: Ann's 3 verification images do not all show one person".into(),
        ));
        // Scores sent again for another reason (an import of negatives ended): still true.
        let _ = s.apply(Event::PersonScores(two_people));
        assert!(s.message.is_some(), "nothing about her images changed");
        let _ = s.apply(Event::PersonScores(mended.clone()));
        assert!(
            s.message.is_none(),
            "the odd image was deleted: the reason is gone"
        );
        // A warning is not a question: it stays.
        let _ = s.apply(Event::Warning(
            "the image just saved matches none of Ann's".into(),
        ));
        let _ = s.apply(Event::PersonScores(PersonScores {
            odd: vec![uuid::Uuid::new_v4()],
            ..mended
        }));
        assert!(s.message.is_some());
        // Said in the tone of what happened: done, done but look, not done.
        assert_eq!(s.message.as_ref().unwrap().tone, Tone::Warning);
        let _ = s.apply(Event::Info("removed Ann's image".into()));
        assert_eq!(s.message.as_ref().unwrap().tone, Tone::Done);
        let _ = s.apply(Event::CaptureRefused("no face found".into()));
        assert_eq!(s.message.as_ref().unwrap().tone, Tone::Error);
    }

    #[test]
    fn a_warning_about_an_image_goes_when_the_image_does() {
        let mut s = AppState::new();
        let _ = feed(&mut s, ready(&["Ann"]));
        let (odd, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let gallery = |ids: &[uuid::Uuid]| Event::Gallery {
            person: "Ann".into(),
            kind: ImageKind::Verification,
            thumbnails: ids
                .iter()
                .map(|&id| crate::session::Thumbnail {
                    id,
                    image: image::RgbImage::new(1, 1),
                })
                .collect(),
        };
        let _ = s.apply(Event::ImageWarning {
            id: odd,
            text: "the verification image just saved matches none of Ann's".into(),
        });
        let _ = s.apply(gallery(&[other, odd]));
        assert!(s.message.is_some(), "still there: the warning stays");
        let _ = s.apply(gallery(&[other]));
        assert!(s.message.is_none(), "deleted: the advice was followed");
    }

    /// Only the worker's word ends a Verify: an overlay's or an import's error on the way
    /// leaves the attempt running, and the button disabled (design review 2.1).
    #[test]
    fn only_the_end_of_the_attempt_ends_the_wait_and_each_message_is_new() {
        let mut s = AppState::new();
        s.issued(&Command::Verify);
        let _ = s.apply(Event::Error(
            "attribute overlay: the age model failed".into(),
        ));
        let _ = s.apply(Event::Unanswered("cannot identify: no face".into()));
        assert!(s.verifying, "the attempt runs on");
        let _ = s.apply(Event::VerifyEnded("no model".into()));
        assert!(!s.verifying);
        assert_eq!(s.verify_ended.as_deref(), Some("no model"));
        let _ = s.apply(Event::Error("no model".into()));
        let first = s.message.clone().unwrap();
        assert!(first.tone == Tone::Error);
        let _ = s.apply(Event::Error("no model".into()));
        assert_ne!(s.message.as_ref().unwrap().id, first.id);
        // Said until the next question: a new Verify, or another person chosen.
        s.issued(&Command::Verify);
        assert_eq!(s.verify_ended, None);
    }

    /// A Verify ended by choosing someone else is not said under them: its end comes after
    /// the choice ("Verify stopped: another person was chosen" stood under the new person;
    /// final read s41). An end for the person still chosen is said, with when.
    #[test]
    fn a_verify_ends_quietly_under_someone_else() {
        let mut s = AppState::new();
        s.issued(&Command::SelectPerson(Some("Ann".into())));
        s.issued(&Command::Verify);
        s.issued(&Command::SelectPerson(Some("Bob".into())));
        let _ = s.apply(Event::VerifyEnded(
            "Verify stopped: another person was chosen".into(),
        ));
        assert!(!s.verifying, "the wait is over");
        assert_eq!(s.verify_ended, None, "not said under Bob");
        s.issued(&Command::Verify);
        let _ = s.apply(Event::VerifyEnded("Bob is locked out for 30 more s".into()));
        assert_eq!(
            s.verify_ended.as_deref(),
            Some("Bob is locked out for 30 more s")
        );
        assert!(s.verify_ended_at.is_some());
    }

    #[test]
    fn the_mode_follows_the_view_and_the_continuous_choice() {
        let mut s = AppState::new();
        assert_eq!(s.mode_for(false), Mode::Detect);
        s.issued(&Command::SetMode(Mode::Continuous));
        s.issued(&Command::SetMode(Mode::Unlock));
        assert!(s.continuous, "kept while in the unlock view");
        assert_eq!(s.mode_for(false), Mode::Continuous);
        assert_eq!(s.mode_for(true), Mode::Unlock);
        // Continuous off: its last frame's match goes; an attempt's verdict would stay.
        let _ = s.apply(verdict(false));
        assert!(s.verdict.is_some());
        s.issued(&Command::SetMode(Mode::Detect));
        assert!(s.verdict.is_none() && !s.continuous);
        let _ = s.apply(verdict(true));
        s.issued(&Command::SetMode(Mode::Detect));
        assert!(s.verdict.as_ref().is_some_and(|v| v.attempt.is_some()));
    }

    #[test]
    fn comparisons_are_counted_and_errors_replace_results() {
        let mut s = AppState::new();
        let _ = s.apply(Event::Compared(Err("no face in a.png".into())));
        assert_eq!(s.compare_count, 1);
        assert!(matches!(&s.compared, Some(Err(e)) if e.contains("a.png")));
    }

    #[test]
    fn removing_the_selected_person_selects_the_next_and_renaming_follows() {
        let mut s = AppState::new();
        let _ = feed(&mut s, ready(&["Ann", "Bob"]));
        let c = feed(
            &mut s,
            Event::Renamed {
                from: "Ann".into(),
                to: "Anne".into(),
                people: vec!["Anne".into(), "Bob".into()],
            },
        );
        assert!(matches!(c, Some(Command::SelectPerson(Some(p))) if p == "Anne"));
        let c = feed(
            &mut s,
            Event::Removed {
                name: "Anne".into(),
                report: Default::default(),
                people: vec!["Bob".into()],
            },
        );
        assert!(matches!(c, Some(Command::SelectPerson(Some(p))) if p == "Bob"));
        assert!(s.message.unwrap().text.starts_with("removed Anne"));
    }

    #[test]
    fn a_finished_import_names_each_refusal() {
        let mut s = AppState::new();
        let progress = ImportProgress {
            gallery: Gallery::Person {
                name: "Ann".into(),
                kind: ImageKind::Anchor,
            },
            total: 2,
            done: 2,
            saved: 1,
            skipped: 0,
            refused: vec![("b.png".into(), "no face found".into())],
            warning: None,
        };
        let _ = s.apply(Event::Import(progress));
        let m = s.message.unwrap();
        assert_eq!(m.tone, Tone::Warning, "one saved: done, but look");
        assert_eq!(
            m.text,
            "1 of 2 saved to Ann's anchor images, 1 refused (b.png: no face found)"
        );
    }

    #[test]
    fn source_trouble_comes_and_goes() {
        let mut s = AppState::new();
        let _ = s.apply(Event::SourceError("camera gone".into()));
        assert!(s.source_problem.is_some());
        let _ = s.apply(Event::SourceRecovered);
        assert!(s.source_problem.is_none());
    }

    #[test]
    fn a_setting_that_could_not_be_saved_shows_the_one_in_force() {
        let mut s = AppState::new();
        let _ = feed(&mut s, ready(&["Ann"]));
        let asked = Settings {
            detection_threshold: 0.5,
            ..Settings::default()
        };
        s.issued(&Command::update_settings(asked.clone()));
        assert_eq!(s.settings.as_ref(), Some(&asked), "shown at once");
        let _ = s.apply(Event::Error(
            "cannot save the settings: the disk is full".into(),
        ));
        let _ = s.apply(Event::SettingsInForce(Settings::default()));
        assert_eq!(
            s.settings,
            Some(Settings::default()),
            "back to what is in force"
        );
    }
}
