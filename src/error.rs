//! Typed errors of the library. The CLI and GUI turn them into messages (anyhow at the edges).

use crate::hint::FACEGATE;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Image(#[from] crate::imageio::ImageError),
    #[error(transparent)]
    Model(#[from] crate::runtime::ModelError),
    #[error("inference failed in the {model} model")]
    Inference {
        model: &'static str,
        #[source]
        source: ort::Error,
    },
    #[error("no face found in {}", crate::shown::Shown(.0))]
    NoFace(PathBuf),
    /// The face of a photo or frame too dark to judge, as a live frame's is
    /// ([`crate::auth::attempt::bright_enough`]), with the file it is in: the window's Compare
    /// did not say which of its two photos (final read s37 #5).
    #[error("{}: {issue}", crate::shown::Shown(path))]
    TooDark {
        path: PathBuf,
        issue: crate::auth::quality::QualityIssue,
    },
    /// Faces of about one size in a photo or frame to be judged as one person's, with the file
    /// they are in: `compare A B` did not say which of its two (review s39 M3).
    #[error(
        "{} has {}, so whose face to judge is not clear",
        crate::shown::Shown(.path),
        crate::auth::quality::many_faces(*.faces, *.found)
    )]
    ManyFaces {
        path: PathBuf,
        /// Those about as large as the largest.
        faces: usize,
        /// All the detector found.
        found: usize,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Source(#[from] crate::camera::SourceError),
    #[error(transparent)]
    Quality(#[from] crate::auth::quality::QualityIssue),
    #[error("{}{lock}", locked_out_prefix(person))]
    LockedOut {
        person: String,
        lock: crate::auth::lockout::Lock,
    },
    #[error("{}", no_images(.0))]
    NoVerificationImages(Vec<String>),
    #[error(transparent)]
    NotOnePerson(#[from] crate::auth::one_person::NotOnePerson),
    #[error(
        "{}",
        among_negatives(
            &negatives_named(.0),
            .0.len(),
            &format!(
                "`{FACEGATE} negatives remove {}`",
                .0.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(" ")
            )
        )
    )]
    EnrolledAmongNegatives(Vec<(uuid::Uuid, String)>),
    #[error(
        "no threshold meets a false-accept rate of {}: {same} of the {impostor} impostor \
         comparisons score as high as a photo against itself, so the same photo is among two \
         enrolled people's images (one person enrolled twice?){}; delete the copy, or calibrate \
         for a higher false-accept rate",
        crate::auth::calibrate::percent(*target_far),
        copies_named(copies)
    )]
    FarUnreachable {
        target_far: f64,
        same: usize,
        impostor: usize,
        /// The pairs of images, each enrolled under another person, that are one photo.
        copies: Vec<SamePhoto>,
    },
    #[error(
        "no face is verified or compared while the settings are damaged ({why}): a threshold or rule saved there \
         may have been stricter than the default; save the settings again in the window (it \
         keeps what still reads), or with `{facegate} calibrate --default`, which also puts \
         the model's default detection threshold back (either keeps the damaged file as \
         {backup}), or remove settings.toml to verify with the defaults",
        why = .0,
        backup = crate::store::SETTINGS_BACKUP,
        facegate = crate::hint::FACEGATE
    )]
    SettingsDamaged(String),
    #[error(
        "nobody is enrolled yet: calibration needs a person's images (`{facegate} user add NAME` \
         and `{facegate} capture NAME ...`, or Add person and the capture buttons in the window)",
        facegate = FACEGATE
    )]
    NobodyEnrolled,
    #[error(
        "no impostor comparisons: calibration needs other people's faces as negatives \
         (`{facegate} negatives add IMG_OR_DIR...`, e.g. a few LFW folders, or Import negatives in the \
         window's People & settings)",
        facegate = FACEGATE
    )]
    NoImpostors,
    /// A target false-accept rate outside (0, 1) ([`crate::auth::calibrate::target_far`]).
    #[error("{0}")]
    TargetFar(String),
}

impl Error {
    pub(crate) fn inference(model: &'static str) -> impl FnOnce(ort::Error) -> Error {
        move |source| Error::Inference { model, source }
    }
}

/// The one sentence for a calibration refused for negatives that show someone enrolled:
/// `which` names them and `remove` says how to remove them, in the terms of where it is said
/// (ids and a command in the CLI, by whom and the button in the window).
pub fn among_negatives(which: &str, count: usize, remove: &str) -> String {
    format!(
        "not calibrated: {which}; negatives stand for other people, and the person's own photo \
         among them sets the threshold against their own face. Remove {} ({remove}) and \
         calibrate again",
        if count == 1 { "it" } else { "them" }
    )
}

/// "2 of the negatives show Ann, Bo, who are enrolled": the negatives that show someone
/// enrolled, as the window says it (by whom, not by ids it never shows).
pub fn negatives_by_whom(found: &[(uuid::Uuid, String)]) -> String {
    let mut who: Vec<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
    who.sort_unstable();
    who.dedup();
    format!(
        "{} of the negatives show{} {}, who {} enrolled",
        found.len(),
        if found.len() == 1 { "s" } else { "" },
        who.join(", "),
        if who.len() == 1 { "is" } else { "are" }
    )
}

/// "negative 1f2e… shows id01" for each.
pub(crate) fn negatives_named(found: &[(uuid::Uuid, String)]) -> String {
    found
        .iter()
        .map(|(id, person)| format!("negative {id} shows {person}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a refusal for a lock-out begins ("alice: face verification is "): `unlock test` reads a
/// verdict's reason by it, and nothing else writes it.
pub fn locked_out_prefix(person: &str) -> String {
    format!("{person}: face verification is ")
}

/// "ann has no verification images yet: …", with the command that adds them; "A and a have"
/// for more than one ("A, a has" read as one person; journey s35).
fn no_images(people: &[String]) -> String {
    let (who, have, name) = match people {
        [one] => (one.clone(), "has", crate::store::names::shell_arg(one)),
        [rest @ .., last] => (
            format!("{} and {last}", rest.join(", ")),
            "have",
            "NAME".into(),
        ),
        [] => ("nobody".into(), "has", "NAME".into()),
    };
    format!(
        "{who} {have} no verification images yet: capture some first (`{FACEGATE} capture {name} \
         PHOTOS...`, or Capture in the window)"
    )
}

/// One photo enrolled under two people: each person with the id it was saved as there.
#[derive(Debug, Clone, PartialEq)]
pub struct SamePhoto {
    pub a: (String, uuid::Uuid),
    pub b: (String, uuid::Uuid),
}

/// The first of `copies` by name and id, with the command that deletes either (calibrate said
/// only "the same photo is among two enrolled people's images", and left the user to find
/// which; journey s41 #7), and how many more there are.
fn copies_named(copies: &[SamePhoto]) -> String {
    let Some(first) = copies.first() else {
        return String::new();
    };
    let (a, b) = (&first.a, &first.b);
    let more = match copies.len() - 1 {
        0 => String::new(),
        n => format!(
            ", and {n} more such {}",
            if n == 1 { "pair" } else { "pairs" }
        ),
    };
    format!(
        ": {}'s image {} and {}'s image {} are one photo ({} or {}){more}",
        crate::shown::Escaped(&a.0),
        a.1,
        crate::shown::Escaped(&b.0),
        b.1,
        crate::store::names::forget_command(&a.0, [a.1].iter()),
        crate::store::names::forget_command(&b.0, [b.1].iter()),
    )
}
