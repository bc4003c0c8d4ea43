//! Images added to a gallery one at a time, from files (an import, in the CLI or the window) or
//! from frames (a capture from a camera or a clip), each ending one of three ways for every
//! caller. A store failure (disk full, a link in the data dir) is not one of them: it is the
//! error, since every further image would meet it, and the caller stops. Once a batch is in,
//! [`Engine::after_saving`] says what may be wrong with it, the same for every path that saves.

use std::path::Path;

use image::RgbImage;
use uuid::Uuid;

use super::{Engine, NearCopy, Unlike};
use crate::auth::one_person::NotOnePerson;
use crate::auth::quality::QualityReport;
use crate::shown::Reason;
use crate::store::{Gallery, ImageKind, StoreError, StoredFace};
use crate::{Error, Result};

/// How one image's addition ended.
pub enum Added {
    Saved {
        stored: StoredFace,
        quality: QualityReport,
    },
    /// The same image was stored before, as this id.
    AlreadyStored(Uuid),
    /// Not saved, and why (unreadable, no face, a poor one): the next image is tried.
    Refused(Error),
}

impl Engine {
    /// `img` into `gallery` through the capture gate ([`Engine::capture`]).
    pub fn add_image(
        &mut self,
        gallery: &Gallery,
        img: &RgbImage,
        source: Option<&str>,
    ) -> Result<Added> {
        added(self.capture(gallery, img, source))
    }

    /// The photo at `path` into `gallery`, named in the store by its file name. `owners`: when
    /// set (root enrolling an account), only files of those uids are read, and no link is
    /// followed ([`crate::imageio::load_owned`]).
    pub fn add_file(
        &mut self,
        gallery: &Gallery,
        path: &Path,
        owners: Option<&[u32]>,
    ) -> Result<Added> {
        let img = match owners {
            None => crate::imageio::load(path),
            Some(owners) => crate::imageio::load_owned(path, owners),
        };
        let img = match img {
            Ok(img) => img,
            Err(e) => return Ok(Added::Refused(e.into())),
        };
        // Its bytes that are not UTF-8 written out, as every path is shown (journey s37 #4).
        let source = path
            .file_name()
            .map(|n| crate::shown::path_text(Path::new(n)));
        self.add_image(gallery, &img, source.as_deref())
    }
}

fn added(result: Result<(StoredFace, QualityReport)>) -> Result<Added> {
    match result {
        Ok((stored, quality)) => Ok(Added::Saved { stored, quality }),
        Err(Error::Store(StoreError::Duplicate { existing })) => Ok(Added::AlreadyStored(existing)),
        Err(e @ Error::Store(_)) => Err(e),
        Err(e) => Ok(Added::Refused(e)),
    }
}

/// What a near copy costs beyond adding little, for `gallery`: a second vote where its images
/// vote (verification); anchors and positives only train (review s38 L2).
pub fn counts_twice(gallery: &Gallery) -> String {
    match gallery {
        Gallery::Person {
            name,
            kind: ImageKind::Verification,
        } => format!(", and counts twice where {name}'s images vote"),
        _ => String::new(),
    }
}

/// What may be wrong with images just saved ([`Engine::after_saving`]). Said, never undone here:
/// a very different photo of the person (glasses, years apart) can look like someone else to
/// the model, and only the person can tell. Face unlock's enrolment, where a wrong image lets
/// someone into an account, refuses on some of them instead.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedWarning {
    /// A new image of the person matches none of their other images.
    Unlike(Unlike),
    /// A new image of the person shows `other`, who is enrolled too.
    ShowsAnother { id: Uuid, other: String },
    /// A new image of the person is nearly the same picture as another of theirs: kept, but
    /// it adds little (said, never a reason to exit 1: the person is who it shows).
    NearCopy(NearCopy),
    /// With the new images, the person's verification images are not one person's: the next
    /// verification refuses.
    NotOnePerson(NotOnePerson),
    /// A negative shows `person`, who is enrolled: one just saved (`new`), or one stored before
    /// that shows the person whose images were just added (their photo went in as a
    /// stranger's before they were enrolled).
    NegativeShows { id: Uuid, person: String, new: bool },
    /// A check that could not be made (damaged settings, an image that does not embed).
    Unchecked { check: Check, why: String },
}

/// The checks of [`Engine::after_saving`], to say which one could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Whether the new images match the person's own.
    TheirOwn,
    /// Whether they show someone else enrolled.
    Others,
    /// Whether they are copies of the person's other images.
    Copies,
    /// Whether the person's verification images show one person.
    OnePerson,
    /// Whether the negatives just saved show someone enrolled.
    Negatives,
    /// Whether a negative stored before shows the person whose images were saved.
    EarlierNegatives,
}

impl SavedWarning {
    /// The image just saved that it is about, if it is about one.
    pub fn image(&self) -> Option<Uuid> {
        match self {
            Self::Unlike(u) => Some(u.id),
            Self::ShowsAnother { id, .. } => Some(*id),
            Self::NearCopy(c) => Some(c.id),
            Self::NegativeShows { id, new: true, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether it says the save itself may be wrong (the CLI then exits 1, not 0). A negative
    /// stored before, which shows the person just added to, is about that negative, and so is
    /// a failure to check it.
    pub fn about_the_save(&self) -> bool {
        match self {
            Self::NegativeShows { new, .. } => *new,
            Self::NearCopy(_) => false,
            Self::Unchecked { check, .. } => {
                !matches!(check, Check::EarlierNegatives | Check::Copies)
            }
            _ => true,
        }
    }

    /// The warning for `gallery`, whose images `what` names (by file name, "the verification
    /// image just saved"…). What to do about it is the caller's to add: a command, or a place
    /// in the window.
    pub fn text(&self, gallery: &Gallery, what: impl Fn(Uuid) -> String) -> String {
        let person = match gallery {
            Gallery::Person { name, .. } => name.as_str(),
            Gallery::Negatives => "the negatives",
        };
        match self {
            Self::Unlike(u) => u.warning(person, &what(u.id)),
            Self::ShowsAnother { id, other } => {
                super::shows_another_warning(person, &what(*id), other)
            }
            Self::NotOnePerson(e) => e.to_string(),
            Self::NearCopy(c) => format!(
                "{} is nearly the same picture as {} (cosine {:.2}): it adds little{}; a new pose \
                 or light helps more",
                what(c.id),
                if c.earlier {
                    format!("image {}, stored before", c.of)
                } else {
                    what(c.of)
                },
                c.cosine,
                counts_twice(gallery)
            ),
            Self::NegativeShows {
                id,
                person,
                new: true,
            } => format!(
                "{} shows {person}, who is enrolled; negatives should be other people's faces",
                what(*id)
            ),
            Self::NegativeShows { id, person, .. } => format!(
                "negative {id} shows {person}; negatives should be other people's faces, and \
                 calibration refuses to run until it is removed"
            ),
            Self::Unchecked { check, why } => {
                let whether = match check {
                    Check::TheirOwn => format!("whether the images match {person}'s others"),
                    Check::Others => "whether the images show someone else enrolled".to_owned(),
                    Check::Copies => format!("whether the images copy {person}'s others"),
                    Check::OnePerson => format!("whether {person}'s images show one person"),
                    Check::Negatives => "whether the negatives show someone enrolled".into(),
                    Check::EarlierNegatives => format!("whether a negative shows {person}"),
                };
                format!("{whether} could not be checked: {why}")
            }
        }
    }

    /// The warning in a few words, for a list of several: what it is about and the figure it
    /// rests on, without the advice.
    pub fn brief(&self, gallery: &Gallery, what: impl Fn(Uuid) -> String) -> String {
        match self {
            Self::Unlike(u) => format!(
                "{} matches none of the others (best cosine {:.2})",
                what(u.id),
                u.best
            ),
            Self::ShowsAnother { id, other } => {
                format!("{} shows {other}, who is enrolled", what(*id))
            }
            Self::NearCopy(c) => format!(
                "{} nearly copies {} (cosine {:.2})",
                what(c.id),
                match c.earlier {
                    true => "an image stored before".to_owned(),
                    false => what(c.of),
                },
                c.cosine
            ),
            _ => self.text(gallery, what),
        }
    }
}

impl Engine {
    /// What may be wrong with `ids`, images just saved into `gallery`: the one set of checks
    /// every path that saves images makes (the window's captures and imports, the CLI's
    /// captures, imports and negatives, face unlock's enrolment), so that none of them can
    /// save someone else's face in silence. A check that fails is one more warning, not an
    /// error: the images are saved either way.
    pub fn after_saving(&mut self, gallery: &Gallery, ids: &[Uuid]) -> Vec<SavedWarning> {
        let mut found = Vec::new();
        if ids.is_empty() {
            return found;
        }
        let unchecked = |check| {
            move |e: Error| SavedWarning::Unchecked {
                check,
                why: Reason(&e).to_string(),
            }
        };
        match gallery {
            Gallery::Person { name, kind } => {
                match self.unlike_the_rest(name, ids) {
                    Ok(unlike) => found.extend(unlike.into_iter().map(SavedWarning::Unlike)),
                    Err(e) => found.push(unchecked(Check::TheirOwn)(e)),
                }
                // After the person's own: whom an image shows says more than whom it does not.
                match self.others_shown(name, ids) {
                    Ok(shown) => found.extend(
                        shown
                            .into_iter()
                            .map(|(id, other)| SavedWarning::ShowsAnother { id, other }),
                    ),
                    Err(e) => found.push(unchecked(Check::Others)(e)),
                }
                if *kind == ImageKind::Verification {
                    match self.gallery(name) {
                        Ok(_) => {}
                        Err(Error::NotOnePerson(e)) => found.push(SavedWarning::NotOnePerson(e)),
                        Err(e) => found.push(unchecked(Check::OnePerson)(e)),
                    }
                    match self.negatives_showing(std::slice::from_ref(name)) {
                        Ok(showing) => found.extend(showing.into_iter().map(|(id, person)| {
                            SavedWarning::NegativeShows {
                                id,
                                person,
                                new: false,
                            }
                        })),
                        Err(e) => found.push(unchecked(Check::EarlierNegatives)(e)),
                    }
                }
                // Last: advice, where those above may be a stranger's face.
                match self.near_copies(gallery, ids) {
                    Ok(copies) => found.extend(copies.into_iter().map(SavedWarning::NearCopy)),
                    Err(e) => found.push(unchecked(Check::Copies)(e)),
                }
            }
            Gallery::Negatives => match self.negatives_showing(&[]) {
                Ok(showing) => {
                    found.extend(showing.into_iter().filter(|(id, _)| ids.contains(id)).map(
                        |(id, person)| SavedWarning::NegativeShows {
                            id,
                            person,
                            new: true,
                        },
                    ))
                }
                Err(e) => found.push(unchecked(Check::Negatives)(e)),
            },
        }
        found
    }
}
