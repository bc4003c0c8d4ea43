//! Images added to a gallery one at a time, from files (an import, in the CLI or the window) or
//! from frames (a capture from a camera or a clip), each ending one of three ways for every
//! caller. A store failure (disk full, a link in the data dir) is not one of them: it is the
//! error, since every further image would meet it, and the caller stops.

use std::path::Path;

use image::RgbImage;
use uuid::Uuid;

use super::Engine;
use crate::auth::quality::QualityReport;
use crate::store::{Gallery, StoreError, StoredFace};
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
        let source = path.file_name().map(|n| n.to_string_lossy().into_owned());
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
