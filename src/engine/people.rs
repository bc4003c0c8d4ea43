//! Managing people from the window: removing (the wipe) and renaming keep the engine's cached
//! vectors in line with the store; and the scores of the rule really in force for a person
//! whose trained head decides.

use super::Engine;
use crate::Result;
use crate::auth::calibrate::ScoreSets;
use crate::store::WipeReport;

impl Engine {
    /// Removes every trace of `person` (see [`crate::store::Store::wipe_person`]) and forgets
    /// their vectors, so a new person of the same name starts clean.
    pub fn remove_person(&mut self, person: &str) -> Result<WipeReport> {
        let report = self.store.wipe_person(person)?;
        self.galleries.remove(person);
        self.heads = super::scoring::HeadCache::default();
        Ok(report)
    }

    /// Renames `from` to `to` (see [`crate::store::Store::rename_person`]); returns an enrolled
    /// name that `to` looks like.
    pub fn rename_person(&mut self, from: &str, to: &str) -> Result<Option<String>> {
        let lookalike = self.store.rename_person(from, to)?;
        self.galleries.remove(from);
        self.heads = super::scoring::HeadCache::default();
        Ok(lookalike)
    }

    /// When `person`'s trained head decides for them: its probability on their own image pairs
    /// (genuine) and on their images against the negatives and everyone else (impostor), for
    /// FAR and FRR at [`crate::train::HEAD_THRESHOLD`]. None while cosine decides.
    pub fn head_scores(&mut self, person: &str) -> Result<Option<ScoreSets>> {
        self.store.require_person(person)?;
        let Some(head) = self.head_in_use(person).cloned() else {
            return Ok(None);
        };
        let (own, others) = self.own_and_others(person)?;
        Ok(Some(ScoreSets::scored(&own, &others, |a, b| {
            head.probability(a, b)
        })))
    }
}
