//! The data a person's siamese head trains on, gathered from the store under the engine's
//! model, and the one way a head is trained and saved: [`Engine::prepare_training`], then the
//! trainer's run (on any thread, with a progress bar or a live loss curve), then
//! [`save_trained`], which keeps it only if the person still has the images it learnt from.
//! `facegate train`, the window's Train and [`Engine::train_person`] all go this way.

use super::Engine;
use crate::store::{Gallery, ImageKind, Store, StoreError};
use crate::train::{
    EpochReport, SavedHead, TrainConfig, TrainData, TrainError, TrainReport, Trainer, prepare,
    save_head_if,
};
use crate::vision::Embedding;

impl Engine {
    /// The person's and the negatives' embeddings for the current model (cached ones are read,
    /// the rest computed and cached), each group in the order of the images' content hashes.
    /// The store lists faces by capture time and a random id, which differs between two stores
    /// holding the same photos; hash order makes "same images + same seed = same head" hold
    /// anywhere.
    pub fn training_data(&mut self, person: &str) -> Result<TrainData, TrainError> {
        self.store.require_person(person)?;
        // Whether the head is adopted is judged against the detection threshold: a damaged
        // settings file's default stands in for the user's, as for every decision.
        self.settings_sound()?;
        let mut group = |gallery: Gallery| -> Result<Vec<Embedding>, TrainError> {
            let hashes: std::collections::HashMap<uuid::Uuid, String> = self
                .store
                .faces(&gallery)?
                .into_iter()
                .map(|f| (f.meta.id, f.meta.sha256))
                .collect();
            let mut embeddings = self.embeddings(&gallery)?;
            embeddings.sort_by(|a, b| hashes.get(&a.0).cmp(&hashes.get(&b.0)));
            Ok(embeddings.into_iter().map(|(_, e)| e).collect())
        };
        let kind = |kind| Gallery::Person {
            name: person.to_owned(),
            kind,
        };
        Ok(TrainData {
            person: person.to_owned(),
            anchors: group(kind(ImageKind::Anchor))?,
            positives: group(kind(ImageKind::Positive))?,
            negatives: group(Gallery::Negatives)?,
            model: self.settings.model,
        })
    }

    /// A head for `person` ready to train: the trainer (the current model, the saved detection
    /// threshold for its adoption) and the images it learns from, for [`save_trained`].
    pub fn prepare_training(
        &mut self,
        person: &str,
        config: &TrainConfig,
    ) -> Result<(Trainer, Vec<String>), TrainError> {
        let images = training_images(&self.store, person)?;
        let data = self.training_data(person)?;
        let trainer = prepare(&data, self.settings.detection_threshold, config)?;
        Ok((trainer, images))
    }

    /// Trains `person`'s head on their anchor and positive images against the negatives, with
    /// the current model, and saves it (with `in_use`) for verification to pick up. `progress`
    /// is called after every epoch, for a progress bar or a live loss curve.
    pub fn train_person(
        &mut self,
        person: &str,
        config: &TrainConfig,
        progress: impl FnMut(&EpochReport),
    ) -> Result<TrainReport, TrainError> {
        let (trainer, images) = self.prepare_training(person, config)?;
        let trained = trainer.run(progress);
        let saved = SavedHead::new(&trained.report, trained.head);
        save_trained(self.store.root(), person, &saved, &images)?;
        Ok(trained.report)
    }
}

/// The images a head for `person` trains on (anchors and positives), by content hash, sorted.
pub fn training_images(store: &Store, person: &str) -> Result<Vec<String>, StoreError> {
    let mut hashes = Vec::new();
    for kind in [ImageKind::Anchor, ImageKind::Positive] {
        let gallery = Gallery::Person {
            name: person.to_owned(),
            kind,
        };
        hashes.extend(store.faces(&gallery)?.into_iter().map(|f| f.meta.sha256));
    }
    hashes.sort();
    Ok(hashes)
}

/// Saves a head trained (on any thread: the desktop app trains in the background) into the
/// store at `root`, if `person` still has the images it was trained on (`trained_on`, from
/// [`training_images`]): a person renamed, removed, or removed and added again with other faces
/// while it trained must not get a head learnt from someone else's.
pub fn save_trained(
    root: &std::path::Path,
    person: &str,
    head: &SavedHead,
    trained_on: &[String],
) -> Result<(), TrainError> {
    let store = Store::open(root)?;
    // Checked under the lock the head is written with: a rename or a removal cannot slip in
    // between the check and the write.
    let unchanged = |store: &Store| training_images(store, person).map(|now| now == trained_on);
    match save_head_if(&store, person, head, unchanged) {
        Ok(true) => Ok(()),
        Ok(false) | Err(TrainError::Store(StoreError::UnknownPerson(_))) => {
            Err(TrainError::ImagesChanged(person.to_owned()))
        }
        Err(e) => Err(e),
    }
}
