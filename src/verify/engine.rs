//! The verification engine: the store, the face pipeline and the rules, behind the CLI and the
//! desktop app alike.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use image::RgbImage;
use uuid::Uuid;

use super::lockout::{self, Lockout};
use super::quality::{self, QualityConfig, QualityReport};
use super::{Identification, Scorer, Thresholds, Verification, identify, verify, verify_with};
use crate::pipeline::{FacePipeline, PipelineOptions};
use crate::runtime::Models;
use crate::store::audit::{AuditEntry, AuditScores};
use crate::store::{Gallery, ImageKind, Settings, Store, StoredFace};
use crate::train::Head;
use crate::vision::{EmbedderKind, Embedding, Face};
use crate::{Error, Result};

pub struct Engine {
    pub store: Store,
    pub pipeline: FacePipeline,
    pub settings: Settings,
    pub quality: QualityConfig,
    /// Heads as last read, so live frames do not read and unseal the file each time.
    heads: HashMap<(String, EmbedderKind), CachedHead>,
}

/// A person's head in use (None: scoring with cosine) and the stamp of the file it came from.
/// Training may happen in another thread or process, so a changed stamp means read it again.
struct CachedHead {
    stamp: Option<(SystemTime, u64)>,
    head: Option<Head>,
}

/// What an attempt's audit line records besides its outcome, when the caller has it.
#[derive(Debug, Default, Clone, Copy)]
pub struct AttemptDetails<'a> {
    /// The verification the verdict rests on (the last one of a live attempt).
    pub last: Option<&'a Verification>,
    pub liveness: Option<f32>,
    /// The frame the attempt ended on: kept for a failed attempt when the user opted in.
    pub frame: Option<&'a RgbImage>,
}

/// A verification with the face it was made on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    pub person: String,
    pub face: Face,
    pub verification: Verification,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Engine {
    /// Opens the engine with the store's saved settings (model and thresholds).
    pub fn new(models: &Models, store: Store) -> Result<Engine> {
        let settings = store.settings();
        let options = PipelineOptions {
            embedder: settings.model,
            preprocess: settings.preprocess,
            ..PipelineOptions::default()
        };
        Ok(Engine {
            pipeline: FacePipeline::new(models, options)?,
            store,
            settings,
            quality: QualityConfig::default(),
            heads: HashMap::new(),
        })
    }

    pub fn thresholds(&self) -> Thresholds {
        self.settings.thresholds()
    }

    /// Checks quality and stores the face of `img` in `gallery`.
    pub fn capture(
        &mut self,
        gallery: &Gallery,
        img: &RgbImage,
        source: Option<&str>,
    ) -> Result<(StoredFace, QualityReport)> {
        let faces = self.pipeline.detect(img)?;
        let (face, report) = quality::check(img, &faces, &self.quality)?;
        let stored = self.store.save_face(gallery, img, face, source)?;
        // Embed now so a later verification only embeds the probe.
        self.store.embedding(&stored, &mut self.pipeline)?;
        Ok((stored, report))
    }

    /// `(image id, embedding)` of every stored face in `gallery`, embedding only uncached ones.
    pub fn embeddings(&mut self, gallery: &Gallery) -> Result<Vec<(Uuid, Embedding)>> {
        let faces = self.store.faces(gallery)?;
        let mut out = Vec::with_capacity(faces.len());
        for f in &faces {
            match self.store.embedding(f, &mut self.pipeline) {
                Ok(e) => out.push((f.meta.id, e)),
                Err(e) => tracing::warn!("skipping stored face {}: {e}", f.png.display()),
            }
        }
        Ok(out)
    }

    fn verification_gallery(&mut self, person: &str) -> Result<Vec<(Uuid, Embedding)>> {
        self.embeddings(&Gallery::Person {
            name: person.to_owned(),
            kind: ImageKind::Verification,
        })
    }

    /// The probe face of a photo or frame: the person nearest the camera. Two faces of about the
    /// same size are an error: whose verification would it be?
    pub fn probe(&mut self, img: &RgbImage, name: &Path) -> Result<(Face, Embedding)> {
        let faces = self.pipeline.detect(img)?;
        let face = match quality::main_face(&faces, quality::AMBIGUOUS_FACE_RATIO) {
            Ok(f) => f.clone(),
            Err(quality::QualityIssue::NoFace) => return Err(Error::NoFace(name.to_owned())),
            Err(issue) => return Err(issue.into()),
        };
        let embedding = self.pipeline.embed(img, &face)?;
        Ok((face, embedding))
    }

    /// Verifies `img` as `person`, honouring and updating the lock-out.
    pub fn verify(&mut self, person: &str, img: &RgbImage, name: &Path) -> Result<Verdict> {
        self.store.require_person(person)?;
        let mut lock: Lockout = self.store.read_state(person, lockout::STATE_FILE);
        if let Some(seconds) = lock.remaining(now_unix()) {
            return Err(Error::LockedOut {
                person: person.to_owned(),
                seconds,
            });
        }
        let gallery = self.verification_gallery(person)?;
        if gallery.is_empty() {
            return Err(Error::NoVerificationImages(person.to_owned()));
        }
        let (face, probe) = self.probe(img, name)?;
        let verification = self.score(person, &probe, &gallery);
        lock.record(verification.accepted, now_unix());
        self.store.write_state(person, lockout::STATE_FILE, &lock)?;
        self.audit(
            person,
            "photo",
            verification.accepted,
            AttemptDetails {
                last: Some(&verification),
                frame: Some(img),
                ..AttemptDetails::default()
            },
        );
        Ok(Verdict {
            person: person.to_owned(),
            face,
            verification,
        })
    }

    /// Verifies without touching the lock-out: for the live loop, where many frames make one
    /// attempt and only the attempt's outcome is recorded (see [`Engine::record_attempt`]).
    pub fn verify_frame(&mut self, person: &str, probe: &Embedding) -> Result<Verification> {
        let gallery = self.verification_gallery(person)?;
        Ok(self.score(person, probe, &gallery))
    }

    /// The person's trained head for the current model, if it beat cosine on held-out pairs
    /// (`facegate train`). A damaged head file is reported and ignored: cosine still works.
    pub fn head_in_use(&mut self, person: &str) -> Option<&Head> {
        let model = self.settings.model;
        let stamp = self
            .store
            .require_person(person)
            .ok()
            .and_then(|dir| std::fs::metadata(dir.join(crate::train::head_file(model))).ok())
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let key = (person.to_owned(), model);
        let fresh = self.heads.get(&key).is_some_and(|c| c.stamp == stamp);
        if !fresh {
            let head = match crate::train::load_head(&self.store, person, model) {
                Ok(Some(saved)) if saved.in_use => Some(saved.weights),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("ignoring {person}'s trained head, scoring with cosine: {e}");
                    None
                }
            };
            self.heads.insert(key.clone(), CachedHead { stamp, head });
        }
        self.heads[&key].head.as_ref()
    }

    /// `probe` against `gallery` (the person's verification embeddings) with the person's
    /// scorer: their head's probability at 0.5 when one is in use, else cosine at the detection
    /// threshold. For callers that keep their own copy of the gallery (the live worker).
    pub fn score(
        &mut self,
        person: &str,
        probe: &Embedding,
        gallery: &[(Uuid, Embedding)],
    ) -> Verification {
        let thresholds = self.thresholds();
        match self.head_in_use(person) {
            Some(head) if head.dim() == probe.0.len() => {
                let thresholds = Thresholds {
                    detection: crate::train::HEAD_THRESHOLD,
                    ..thresholds
                };
                verify_with(probe, gallery, thresholds, Scorer::Head, |p, g| {
                    head.probability(p, g)
                })
            }
            _ => verify(probe, gallery, thresholds),
        }
    }

    pub fn lockout_remaining(&self, person: &str) -> Option<u64> {
        self.store
            .read_state::<Lockout>(person, lockout::STATE_FILE)
            .remaining(now_unix())
    }

    /// Records a live attempt's outcome in the lock-out and the audit log.
    pub fn record_attempt(
        &mut self,
        person: &str,
        accepted: bool,
        details: AttemptDetails,
    ) -> Result<()> {
        let mut lock: Lockout = self.store.read_state(person, lockout::STATE_FILE);
        lock.record(accepted, now_unix());
        self.store.write_state(person, lockout::STATE_FILE, &lock)?;
        self.audit(person, "live", accepted, details);
        Ok(())
    }

    fn audit(&self, person: &str, channel: &str, accepted: bool, details: AttemptDetails) {
        let frame = details
            .frame
            .filter(|_| !accepted && self.settings.save_failed_frames)
            .and_then(|img| match self.store.save_failed_frame(img) {
                Ok(path) => Some(path),
                Err(e) => {
                    // The attempt still counts and is logged; only its picture is missing.
                    tracing::warn!("could not save the frame of the failed attempt: {e}");
                    None
                }
            });
        self.store.audit(&AuditEntry {
            unix_time: now_unix(),
            person: person.to_owned(),
            channel: channel.to_owned(),
            accepted,
            scores: details.last.map(|v| AuditScores {
                share: v.share,
                best: v.best,
                template_score: v.template_score,
                scorer: format!("{:?}", v.scorer).to_lowercase(),
            }),
            liveness: details.liveness,
            frame,
        });
    }

    /// 1:N: who among the enrolled is this?
    pub fn identify_embedding(&mut self, probe: &Embedding) -> Result<Identification> {
        let mut people = Vec::new();
        for name in self.store.people()? {
            let gallery = self.verification_gallery(&name)?;
            people.push((name, gallery));
        }
        Ok(identify(probe, &people, self.thresholds()))
    }
}
