//! Typed errors of the library. The CLI and GUI turn them into messages (anyhow at the edges).

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
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Source(#[from] crate::camera::SourceError),
    #[error(transparent)]
    Quality(#[from] crate::auth::quality::QualityIssue),
    #[error("{person} is {lock}")]
    LockedOut {
        person: String,
        lock: crate::auth::lockout::Lock,
    },
    #[error("{0} has no verification images yet; capture some first")]
    NoVerificationImages(String),
    #[error(transparent)]
    NotOnePerson(#[from] crate::auth::one_person::NotOnePerson),
    #[error(
        "no threshold meets a false-accept rate of {}: {same} of the {impostor} impostor \
         comparisons score as high as a photo against itself, so the same face is among the \
         negatives (or is another enrolled person) and among the person's images; add negatives \
         of other people only, or ask for a higher --far",
        crate::auth::calibrate::percent(*target_far)
    )]
    FarUnreachable {
        target_far: f64,
        same: usize,
        impostor: usize,
    },
    #[error(
        "no face is verified or compared while the settings are damaged ({0}): a threshold or rule saved there \
         may have been stricter than the default; save the settings again in the window (a \
         change there keeps the damaged file as settings.toml.bad), or remove settings.toml to \
         verify with the defaults"
    )]
    SettingsDamaged(String),
}

impl Error {
    pub(crate) fn inference(model: &'static str) -> impl FnOnce(ort::Error) -> Error {
        move |source| Error::Inference { model, source }
    }
}
