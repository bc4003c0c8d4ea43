//! Two faces compared under the rule in force: the one function behind both the window's Compare
//! and `facegate compare`, so they can never disagree again (issue 17: the window used the saved
//! threshold while the CLI used the model's default).
//!
//! The rule: when the comparison is made for a person whose trained head is in use (it beat
//! cosine on their held-out pairs), that head at probability > 0.5; otherwise cosine at the
//! detection threshold in the settings (the saved one, which is the model's default until the
//! user moves the slider or runs `calibrate`). Two photos of strangers have no head, so without a
//! person it is always the saved cosine threshold.

use serde::Serialize;

use super::Engine;
use crate::auth::Scorer;
use crate::train::{HEAD_THRESHOLD, Head};
use crate::vision::{EmbedderKind, Embedding};

/// Where the threshold of a [`CompareRule`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// The detection threshold in the settings.
    Settings,
    /// The model's default threshold: a model other than the saved one was asked for, and the
    /// saved threshold belongs to the saved model.
    ModelDefault,
    /// The person's trained head, in use for them.
    Head,
    /// Given by the caller (`facegate compare --threshold`).
    Given,
}

/// How two faces are judged: the scorer, its threshold and why.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRule {
    pub model: EmbedderKind,
    pub scorer: Scorer,
    /// "Same person" means score > threshold (cosine, or the head's probability).
    pub threshold: f32,
    pub source: RuleSource,
    /// Whose rule was asked for: their head when the scorer is a head; without one in use,
    /// the saved threshold, and [`CompareRule::describe`] says so (the line read as if the
    /// person had not been given; journey s37 #13).
    pub person: Option<String>,
    #[serde(skip)]
    head: Option<Head>,
}

/// Two faces judged under a [`CompareRule`].
#[derive(Debug, Clone, Serialize)]
pub struct FaceComparison {
    /// The scorer's score: the cosine, or the head's probability.
    pub score: f32,
    /// Cosine similarity, always (what a person can compare across rules).
    pub cosine: f32,
    pub same: bool,
    pub rule: CompareRule,
}

impl CompareRule {
    /// Cosine at a threshold the caller chose.
    pub fn given(model: EmbedderKind, threshold: f32) -> CompareRule {
        CompareRule {
            model,
            scorer: Scorer::Cosine,
            threshold,
            source: RuleSource::Given,
            person: None,
            head: None,
        }
    }

    /// Judges two embeddings of this rule's model.
    pub fn judge(&self, a: &Embedding, b: &Embedding) -> FaceComparison {
        let cosine = a.cosine(b);
        let score = match &self.head {
            Some(head) => head.probability(a, b),
            None => cosine,
        };
        FaceComparison {
            score,
            cosine,
            same: score > self.threshold,
            rule: self.clone(),
        }
    }

    /// One line naming the scorer, its threshold and where it comes from, e.g. "cosine > 0.363
    /// (the saved detection threshold, SFace's default)".
    pub fn describe(&self) -> String {
        // The person asked for, when their head is not what judges (journey s37 #13).
        let asked = match (&self.person, self.source) {
            (Some(person), RuleSource::Settings | RuleSource::ModelDefault) => {
                format!("; {person} has no trained head in use")
            }
            _ => String::new(),
        };
        match (self.source, &self.person) {
            (RuleSource::Head, Some(person)) => format!(
                "{person}'s trained head, probability > {} (it beat cosine on their held-out pairs; {})",
                self.threshold, self.model
            ),
            (RuleSource::ModelDefault, _) => format!(
                "cosine > {:.3} ({}'s default; the saved threshold belongs to the saved model{asked})",
                self.threshold, self.model
            ),
            (RuleSource::Given, _) => format!(
                "cosine > {:.3} (given with --threshold; {})",
                self.threshold, self.model
            ),
            _ => {
                let default = self.model.default_threshold();
                let which = if (self.threshold - default).abs() < 1e-6 {
                    format!("{}'s default", self.model)
                } else {
                    format!("{}'s default is {default:.3}", self.model)
                };
                format!(
                    "cosine > {:.3} (the saved detection threshold, {which}{asked})",
                    self.threshold
                )
            }
        }
    }
}

impl Engine {
    /// The rule two faces are compared by now: `person`'s trained head when one is in use for
    /// them under the current model, else cosine at the saved detection threshold (none while
    /// the settings are damaged, as for every decision: see [`Engine::gallery`]).
    pub fn compare_rule(&mut self, person: Option<&str>) -> crate::Result<CompareRule> {
        self.settings_sound()?;
        let model = self.settings.model;
        // A head is saved per model and checked against it when loaded, so it fits the
        // embeddings of the current model.
        if let Some(person) = person
            && let Some(head) = self.head_in_use(person)
        {
            return Ok(CompareRule {
                model,
                scorer: Scorer::Head,
                threshold: HEAD_THRESHOLD,
                source: RuleSource::Head,
                person: Some(person.to_owned()),
                head: Some(head.clone()),
            });
        }
        Ok(CompareRule {
            model,
            scorer: Scorer::Cosine,
            threshold: self.settings.detection_threshold,
            source: RuleSource::Settings,
            person: person.map(str::to_owned),
            head: None,
        })
    }

    /// Compares two faces' embeddings (from [`Engine::aligned_probe`] or [`Engine::probe`])
    /// under [`Engine::compare_rule`]: what the window's Compare and `facegate compare` both
    /// call.
    pub fn compare_faces(
        &mut self,
        a: &Embedding,
        b: &Embedding,
        person: Option<&str>,
    ) -> crate::Result<FaceComparison> {
        Ok(self.compare_rule(person)?.judge(a, b))
    }
}
