//! A gallery's faces: each a padded crop (PNG) and its sidecar (JSON) with the landmarks, so its
//! embedding can be recomputed without detecting again. A face is committed when its sidecar is
//! renamed into place (after its PNG), so a crash leaves at most an orphan PNG.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use image::{ImageFormat, RgbImage, imageops};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dir::{Entry, Kind};
use super::{Gallery, Store, StoreError, io_err};
use crate::vision::Face;

/// Largest side of a stored face crop: plenty for a 112 px alignment, small on disk.
pub const CROP_MAX_SIDE: u32 = 400;
/// A sidecar is a few hundred bytes; anything much larger is not one FaceGate wrote.
const MAX_SIDECAR_BYTES: u64 = 64 << 10;

/// Sidecar of a stored face: enough to recompute its embedding without detecting again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaceMeta {
    pub id: Uuid,
    /// The face (box, landmarks) in the stored crop's pixels.
    pub face: Face,
    /// sha256 of the PNG bytes; keys the embedding cache.
    pub sha256: String,
    pub created_unix: u64,
    /// File name the image was imported from, if any (never a full path: it may be private).
    pub source: Option<String>,
    /// sha256 of the whole image the face was cut from (its pixels and size): the same photo
    /// imported twice is recognised. None in sidecars from before it was recorded.
    #[serde(default)]
    pub image_sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredFace {
    pub meta: FaceMeta,
    /// The crop's full path, for messages and for reading it outside the store's handle.
    pub png: PathBuf,
    /// The crop's path inside the data dir: what the store opens.
    pub(super) rel: PathBuf,
}

/// One committed face as [`Store::face_listing`] gives it: its sidecar's name and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceListed {
    pub name: OsString,
    version: Option<super::dir::Stamp>,
}

impl FaceListed {
    #[cfg(test)]
    pub fn unstamped(name: OsString) -> FaceListed {
        FaceListed {
            name,
            version: None,
        }
    }
}

impl StoredFace {
    /// Its sidecar's file name, as [`Store::face_names`] lists it.
    pub fn sidecar_name(&self) -> OsString {
        self.rel
            .with_extension("json")
            .file_name()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The whole-image hashes of a gallery's faces, to spot a photo imported twice, by sidecar name.
/// A sidecar is written once under its face's UUID and never changed, so each is read only the
/// first time its name is listed: an import of thousands of photos would otherwise read every
/// sidecar again for each one. The folder is still listed at every save, so faces another
/// process added or removed since are seen.
#[derive(Debug, Default)]
pub(super) struct ImageIndex {
    sidecars: HashMap<OsString, Option<(String, Uuid)>>,
}

/// Whether a gallery folder's entry is a face's sidecar (`ID.json`, a file, not one still being
/// written): the one rule for listing, indexing, sweeping and reading a gallery. (A file named
/// `.json` has no extension; a `.tmp-x.json` was listed as a face by the gate and skipped by
/// the read; design review, session 31.)
fn is_sidecar(entry: &Entry) -> bool {
    entry.kind == Kind::File
        && !entry.is_temporary()
        && Path::new(&entry.name).extension() == Some("json".as_ref())
}

impl ImageIndex {
    /// The face already in `dir` cut from the image with hash `image_sha256`, if any.
    fn find(
        &mut self,
        store: &Store,
        dir: &Path,
        image_sha256: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let listed: HashSet<OsString> = store
            .gallery_entries(dir)?
            .into_iter()
            .filter(is_sidecar)
            .map(|e| e.name)
            .collect();
        self.sidecars.retain(|name, _| listed.contains(name));
        for name in listed {
            self.sidecars.entry(name).or_insert_with_key(|name| {
                // Unreadable ones are skipped here as `faces` skips them (with its warning).
                let meta = store.load_meta(&dir.join(name)).ok()?.meta;
                Some((meta.image_sha256?, meta.id))
            });
        }
        // A face counts while its image is there too, as `faces` counts it: a sidecar left
        // without its PNG must not turn a new photo away.
        Ok(self.sidecars.iter().find_map(|(name, entry)| {
            let (hash, id) = entry.as_ref()?;
            let png = dir.join(name).with_extension("png");
            (hash == image_sha256 && store.dir.kind(&png) == Kind::File).then_some(*id)
        }))
    }
}

impl Store {
    /// Saves the face `face` of `img` into `gallery`: a padded crop as PNG, then its sidecar.
    /// The person must still exist when the lock is taken: a capture racing `user remove` fails
    /// instead of bringing back a partial folder.
    pub fn save_face(
        &self,
        gallery: &Gallery,
        img: &RgbImage,
        face: &Face,
        source: Option<&str>,
    ) -> Result<StoredFace, StoreError> {
        let dir = self.gallery_dir(gallery)?;
        let (crop, face_in_crop) = padded_crop(img, face);
        let mut png = Vec::new();
        crop.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .map_err(|e| StoreError::Corrupt {
                path: self.dir.display(&dir),
                reason: format!("cannot encode the crop: {e}"),
            })?;
        // Time-ordered (v7): faces saved within one second sort as they were saved, which the
        // near-copy check reads as "stored before" (a random id made a copy saved in the same
        // second as its original come first half the time; review s38 H1).
        let id = Uuid::now_v7();
        let meta = FaceMeta {
            id,
            face: face_in_crop,
            sha256: hex::encode(Sha256::digest(&png)),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            source: source.map(str::to_owned),
            image_sha256: Some(image_hash(img)),
        };
        let png_rel = dir.join(format!("{id}.png"));
        let json_rel = dir.join(format!("{id}.json"));
        let json = serde_json::to_vec_pretty(&meta).expect("FaceMeta serialises");
        let _lock = self.lock()?;
        if let Gallery::Person { name, .. } = gallery {
            self.require_person(name)?;
        }
        let mut indexes = self.image_index.lock().unwrap();
        let index = indexes.entry(dir.clone()).or_default();
        if let Some(existing) =
            index.find(self, &dir, meta.image_sha256.as_deref().unwrap_or(""))?
        {
            return Err(StoreError::Duplicate { existing });
        }
        self.dir
            .create_dir_all(&dir)
            .map_err(io_err(&self.dir.display(&dir)))?;
        self.sweep_unfinished(&dir);
        self.write(&png_rel, &png)?;
        if let Err(e) = self.write(&json_rel, &json) {
            let _ = self.dir.remove_file(&png_rel);
            return Err(e);
        }

        Ok(StoredFace {
            meta,
            png: self.dir.display(&png_rel),
            rel: png_rel,
        })
    }

    /// Removes from gallery folder `dir` what a writer killed part-way left: a crop without its
    /// sidecar, a temporary file. Never listed as a face, such a crop was kept for good, and
    /// no command could name it to remove it (red team, session 30: `kill -9` during
    /// `negatives add`). Called under the store lock, which every face's writer holds from its
    /// crop to its sidecar, so nothing here is still being written.
    fn sweep_unfinished(&self, dir: &Path) {
        let Ok(entries) = self.gallery_entries(dir) else {
            return;
        };
        let sidecars: HashSet<&OsString> = entries
            .iter()
            .filter(|e| is_sidecar(e))
            .map(|e| &e.name)
            .collect();
        for entry in entries.iter().filter(|e| e.kind == Kind::File) {
            let name = Path::new(&entry.name);
            let unfinished = entry.is_temporary()
                || (name.extension().is_some_and(|x| x == "png")
                    && !sidecars.contains(&name.with_extension("json").into_os_string()));
            if unfinished && self.dir.remove_file(&dir.join(name)).is_ok() {
                tracing::warn!(
                    "removed {}: left unfinished by a writer that was stopped",
                    crate::shown::Shown(&self.dir.display(&dir.join(name)))
                );
            }
        }
    }

    /// The entries of gallery folder `dir`; none when it was never made.
    fn gallery_entries(&self, dir: &Path) -> Result<Vec<Entry>, StoreError> {
        match self.dir.list(dir) {
            Ok(entries) => Ok(entries),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(&self.dir.display(dir))(e)),
        }
    }

    /// Whether `gallery` holds any committed face (a sidecar), without reading one: for a
    /// check made on every request, where [`Store::faces`] would parse them all.
    pub fn has_faces(&self, gallery: &Gallery) -> Result<bool, StoreError> {
        Ok(!self.face_names(gallery)?.is_empty())
    }

    /// [`Store::face_names`] with each sidecar's [`Stamp`](super::dir::Stamp) (not its image's:
    /// the embedding is read, or taken from the cache, by the sidecar's hash):
    /// what tells a gallery held in memory that a file changed under the same name (a store
    /// repaired from a backup, which the daemon went on refusing until it restarted, or
    /// damaged, which it went on accepting; red team s40 F2).
    pub fn face_listing(&self, gallery: &Gallery) -> Result<Vec<FaceListed>, StoreError> {
        let dir = self.gallery_dir(gallery)?;
        let names = self.face_names(gallery)?;
        let stamps = self
            .dir
            .stamps_in(&dir, names.iter().map(OsString::as_os_str))
            .map_err(io_err(&self.dir.display(&dir)))?;
        Ok(names
            .into_iter()
            .zip(stamps)
            .map(|(name, version)| FaceListed { name, version })
            .collect())
    }

    /// The file names of `gallery`'s committed faces (their sidecars), sorted, without reading
    /// one: what tells whoever holds a gallery in memory that another process (the CLI beside
    /// the window, root's `unlock enrol` beside the daemon) added or deleted an image.
    pub fn face_names(&self, gallery: &Gallery) -> Result<Vec<OsString>, StoreError> {
        if let Gallery::Person { name, .. } = gallery {
            self.require_person(name)?;
        }
        let dir = self.gallery_dir(gallery)?;
        let mut names: Vec<OsString> = self
            .gallery_entries(&dir)?
            .into_iter()
            .filter(is_sidecar)
            .map(|entry| entry.name)
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// Every committed face of a gallery, oldest first. Corrupt or foreign files (and links)
    /// are skipped with a warning naming them; they never stop the others from loading.
    pub fn faces(&self, gallery: &Gallery) -> Result<Vec<StoredFace>, StoreError> {
        if let Gallery::Person { name, .. } = gallery {
            self.require_person(name)?;
        }
        let dir = self.gallery_dir(gallery)?;
        let mut faces = Vec::new();
        for entry in self.gallery_entries(&dir)? {
            let rel = dir.join(&entry.name);
            // PNGs are reached through their sidecar; one without is an unfinished save.
            let png = entry.kind == Kind::File && rel.extension() == Some("png".as_ref());
            if is_sidecar(&entry) {
                match self.load_meta(&rel) {
                    Ok(face) => faces.push(face),
                    Err(e) => self.skipping(&rel, &e),
                }
            } else if !png && !entry.is_temporary() {
                self.skipping(&rel, &"not a file FaceGate wrote");
            }
        }
        faces.sort_by_key(|f| (f.meta.created_unix, f.meta.id));
        Ok(faces)
    }

    /// Whether `gallery` holds a face saved as `id` (its sidecar is there, read or not).
    pub fn has_face(&self, gallery: &Gallery, id: Uuid) -> Result<bool, StoreError> {
        let json = self.gallery_dir(gallery)?.join(format!("{id}.json"));
        Ok(self.dir.kind(&json) == Kind::File)
    }

    pub fn delete_face(&self, gallery: &Gallery, id: Uuid) -> Result<(), StoreError> {
        let dir = self.gallery_dir(gallery)?;
        let json = dir.join(format!("{id}.json"));
        let _lock = self.lock()?;
        if self.dir.kind(&json) != Kind::File {
            return Err(StoreError::UnknownFace {
                id,
                among: gallery.clone(),
            });
        }
        let sha = self.load_meta(&json).ok().map(|f| f.meta.sha256);
        // Sidecar first: once it is gone the face is gone, whatever happens to the PNG.
        self.dir
            .remove_file(&json)
            .map_err(io_err(&self.dir.display(&json)))?;
        let png = dir.join(format!("{id}.png"));
        self.dir
            .remove_file(&png)
            .map_err(io_err(&self.dir.display(&png)))?;
        // Its cached embeddings too (an embedding identifies a face as well as the photo does),
        // or `--wipe` would never find them: it reaches entries through the faces left.
        if let Some(sha) = sha {
            super::cache::forget(&self.dir, &sha);
            self.unsealed.lock().unwrap().retain(|(_, s), _| *s != sha);
        }
        Ok(())
    }

    /// The stored crop of a face, read through the data dir's handle.
    pub fn load_crop(&self, face: &StoredFace) -> Result<RgbImage, crate::Error> {
        let bytes = self
            .dir
            .read(&face.rel, crate::imageio::MAX_FILE_BYTES)
            .map_err(io_err(&face.png))?;
        // The sidecar's hash keys the cached embedding: a crop changed behind it would be
        // judged by its old embedding where one is cached and by its new pixels where not.
        if hex::encode(Sha256::digest(&bytes)) != face.meta.sha256 {
            return Err(StoreError::Corrupt {
                path: face.png.clone(),
                reason: "it is not the image its sidecar was written for (its sha256 differs); \
                         delete the face and capture it again"
                    .into(),
            }
            .into());
        }
        Ok(crate::imageio::decode(&bytes, &face.png)?)
    }

    fn load_meta(&self, json: &Path) -> Result<StoredFace, StoreError> {
        let shown = self.dir.display(json);
        let corrupt = |reason: String| StoreError::Corrupt {
            path: shown.clone(),
            reason,
        };
        let bytes = self
            .dir
            .read(json, MAX_SIDECAR_BYTES)
            .map_err(io_err(&shown))?;
        let meta: FaceMeta = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if json.file_stem().and_then(|s| s.to_str()) != Some(&meta.id.to_string()) {
            return Err(corrupt("its name does not match its id".into()));
        }
        check_face(&meta.face).map_err(|why| corrupt(why.into()))?;
        let rel = json.with_extension("png");
        if self.dir.kind(&rel) != Kind::File {
            return Err(corrupt("its image is missing".into()));
        }
        Ok(StoredFace {
            meta,
            png: self.dir.display(&rel),
            rel,
        })
    }
}

fn image_hash(img: &RgbImage) -> String {
    let mut h = Sha256::new();
    h.update(img.width().to_le_bytes());
    h.update(img.height().to_le_bytes());
    h.update(img.as_raw());
    hex::encode(h.finalize())
}

/// A sidecar's face must be one a crop could hold: finite, a positive box within twice the
/// largest crop, landmarks near the box. A forged 1e30 would otherwise build a garbage vector.
fn check_face(face: &Face) -> Result<(), &'static str> {
    let limit = 2.0 * CROP_MAX_SIDE as f32;
    let b = face.bbox;
    let coords = [b.x, b.y, b.w, b.h]
        .into_iter()
        .chain(face.landmarks.iter().flatten().copied());
    if !coords.clone().all(f32::is_finite) {
        return Err("its face has a coordinate that is not a number");
    }
    if !(b.w > 1.0 && b.h > 1.0) {
        return Err("its face box is empty");
    }
    if coords.map(f32::abs).any(|v| v > limit) {
        return Err("its face lies outside any stored crop");
    }
    Ok(())
}

/// The face with a margin of half its size on each side (so it can be re-aligned or re-detected
/// later), shrunk to at most [`CROP_MAX_SIDE`]. Returns the crop and the face in its pixels.
fn padded_crop(img: &RgbImage, face: &Face) -> (RgbImage, Face) {
    let b = face.bbox;
    let side = b.w.max(b.h) * 2.0;
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    let x0 = (cx - side / 2.0).clamp(0.0, img.width() as f32 - 1.0) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, img.height() as f32 - 1.0) as u32;
    let x1 = ((cx + side / 2.0).ceil() as u32).clamp(x0 + 1, img.width());
    let y1 = ((cy + side / 2.0).ceil() as u32).clamp(y0 + 1, img.height());
    let (w, h) = (x1 - x0, y1 - y0);
    let mut shifted = face.clone();
    shifted.bbox.x -= x0 as f32;
    shifted.bbox.y -= y0 as f32;
    for p in &mut shifted.landmarks {
        p[0] -= x0 as f32;
        p[1] -= y0 as f32;
    }
    let longest = w.max(h);
    if longest <= CROP_MAX_SIDE {
        return (imageops::crop_imm(img, x0, y0, w, h).to_image(), shifted);
    }
    let s = CROP_MAX_SIDE as f32 / longest as f32;
    let small = (
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    );
    // Shrunk from the photo in place: the region is within it by construction, so `region`
    // has nothing to refuse; the copy-then-shrink is kept only as its never-taken fallback.
    let crop = crate::vision::resize::region(img, (x0, y0, w, h), small).unwrap_or_else(|| {
        let cut = imageops::crop_imm(img, x0, y0, w, h).to_image();
        imageops::resize(&cut, small.0, small.1, imageops::FilterType::Triangle)
    });
    (crop, shifted.scaled(s))
}

/// The face region of a frame with a margin, at most `max_side` pixels a side: what a saved
/// failed attempt keeps (enough to see who tried, never a 36-megapixel photo).
pub fn face_region(img: &RgbImage, face: Option<&Face>, max_side: u32) -> RgbImage {
    let region = match face {
        Some(f) => padded_crop(img, f).0,
        None => img.clone(),
    };
    let longest = region.width().max(region.height());
    if longest <= max_side {
        return region;
    }
    let s = max_side as f32 / longest as f32;
    imageops::resize(
        &region,
        ((region.width() as f32 * s).round() as u32).max(1),
        ((region.height() as f32 * s).round() as u32).max(1),
        imageops::FilterType::Triangle,
    )
}

/// A synthetic photo and a face in it where a test needs something to save (no model runs).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::vision::BBox;

    pub fn photo(shade: u8) -> RgbImage {
        RgbImage::from_fn(200, 200, |x, y| {
            image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
        })
    }

    /// A store in a new temporary folder with Ann enrolled (no image yet), and her
    /// verification gallery.
    pub fn ann_store() -> (tempfile::TempDir, Store, Gallery) {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        store.add_person("Ann").unwrap();
        let gallery = Gallery::Person {
            name: "Ann".into(),
            kind: crate::store::ImageKind::Verification,
        };
        (root, store, gallery)
    }

    pub fn face() -> Face {
        Face {
            bbox: BBox {
                x: 60.0,
                y: 50.0,
                w: 80.0,
                h: 100.0,
            },
            landmarks: [
                [80.0, 90.0],
                [120.0, 90.0],
                [100.0, 110.0],
                [85.0, 130.0],
                [115.0, 130.0],
            ],
            score: 0.9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{ann_store, face, photo};
    use super::*;
    use crate::store::ImageKind;

    /// A stray entry is said once a process, however often it is listed: the window lists the
    /// people every second and the daemon a gallery every frame, and 200,000 junk files wrote as
    /// many lines at every reload (red team, session 31). Past 100 names, one line says more.
    #[test]
    fn a_stray_entry_is_said_once_however_often_it_is_listed() {
        #[derive(Clone, Default)]
        struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (root, store, gallery) = ann_store();
        store
            .save_face(&gallery, &photo(10), &face(), None)
            .unwrap();
        std::fs::write(root.path().join("users/stray.txt"), b"x").unwrap();
        for i in 0..150 {
            std::fs::write(
                root.path().join(format!("users/Ann/verification/junk{i}")),
                b"x",
            )
            .unwrap();
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                assert_eq!(store.people().unwrap(), ["Ann"]);
                assert_eq!(store.faces(&gallery).unwrap().len(), 1);
            }
        });
        let said = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let count = |what: &str| said.lines().filter(|l| l.contains(what)).count();
        println!(
            "{} lines for 5 listings of 151 stray entries",
            said.lines().count()
        );
        assert_eq!(count("stray.txt: not a person folder"), 1, "{said}");
        assert_eq!(count("skipping "), 100, "{said}");
        assert_eq!(count("more entries of the store are skipped"), 1, "{said}");
        assert_eq!(said.lines().count(), 101, "{said}");
    }

    #[test]
    fn a_large_face_is_shrunk_from_the_photo_as_its_cut_out_copy_would_be() {
        // A face of 480×600 px in a 2400² photo: the crop region (twice the face) is shrunk to CROP_MAX_SIDE. Shrinking in place must give the pixels and
        // face coordinates that cutting the region out and shrinking the copy gave.
        let img = RgbImage::from_fn(2400, 2400, |x, y| {
            image::Rgb([
                (x / 10 % 256) as u8,
                (y / 10 % 256) as u8,
                ((x + y) / 20 % 256) as u8,
            ])
        });
        let mut big = face().scaled(6.0);
        big.bbox.x += 1100.0;
        big.bbox.y += 700.0;
        for p in &mut big.landmarks {
            p[0] += 1100.0;
            p[1] += 700.0;
        }
        let (crop, shifted) = padded_crop(&img, &big);
        let b = big.bbox;
        let side = b.w.max(b.h) * 2.0;
        let (x0, y0) = (
            (b.x + b.w / 2.0 - side / 2.0).max(0.0) as u32,
            (b.y + b.h / 2.0 - side / 2.0).max(0.0) as u32,
        );
        let cut = imageops::crop_imm(&img, x0, y0, side as u32, side as u32).to_image();
        let s = CROP_MAX_SIDE as f32 / cut.width().max(cut.height()) as f32;
        let (w, h) = (
            (cut.width() as f32 * s).round() as u32,
            (cut.height() as f32 * s).round() as u32,
        );
        let reference = imageops::resize(&cut, w, h, imageops::FilterType::Triangle);
        assert_eq!(crop.dimensions(), reference.dimensions());
        let diff = crop
            .as_raw()
            .iter()
            .zip(reference.as_raw())
            .map(|(&a, &b)| f64::from(a.abs_diff(b)))
            .sum::<f64>()
            / crop.len() as f64;
        println!(
            "crop {:?}, mean abs difference {diff:.3} grey levels",
            crop.dimensions()
        );
        assert!(diff < 1.0, "{diff}");
        println!("region from ({x0}, {y0}), face now at {:?}", shifted.bbox);
        assert!(x0 > 0 && y0 > 0);
        assert!((shifted.bbox.x - (b.x - x0 as f32) * s).abs() < 1e-3);
        assert!((shifted.bbox.y - (b.y - y0 as f32) * s).abs() < 1e-3);
        assert!((shifted.bbox.w - b.w * s).abs() < 1e-3);
    }

    #[test]
    fn what_a_killed_writer_left_goes_at_the_next_save() {
        let (root, store, gallery) = ann_store();
        let kept = store
            .save_face(&gallery, &photo(10), &face(), None)
            .unwrap();
        let dir = root.path().join("users/Ann/verification");
        // A crop whose sidecar was never written, and a temporary file cut short.
        let orphan = dir.join(format!("{}.png", Uuid::new_v4()));
        std::fs::copy(&kept.png, &orphan).unwrap();
        std::fs::write(dir.join(".tmp-0123abcd"), b"half").unwrap();
        store
            .save_face(&gallery, &photo(90), &face(), None)
            .unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        println!("{left:?}");
        assert_eq!(
            left.len(),
            4,
            "two faces, each a crop and a sidecar: {left:?}"
        );
        assert!(!orphan.exists() && kept.png.exists());
        assert_eq!(store.faces(&gallery).unwrap().len(), 2);
    }

    /// The same photo twice is refused, also when the other copy came from another process (a
    /// second `Store` on the same folder) after this one had read the gallery.
    #[test]
    fn a_photo_saved_twice_is_a_duplicate_whoever_saved_it_first() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (
            Store::open(root.path()).unwrap(),
            Store::open(root.path()).unwrap(),
        );
        a.add_person("Ann").unwrap();
        let gallery = Gallery::Person {
            name: "Ann".into(),
            kind: ImageKind::Verification,
        };
        let (p, q) = (photo(10), photo(200));
        let first = a.save_face(&gallery, &p, &face(), None).unwrap();
        let dup = |r: Result<StoredFace, StoreError>| match r {
            Err(StoreError::Duplicate { existing }) => existing,
            other => panic!("expected a duplicate, got {other:?}"),
        };
        assert_eq!(dup(a.save_face(&gallery, &p, &face(), None)), first.meta.id);
        let second = b.save_face(&gallery, &q, &face(), None).unwrap();
        assert_eq!(dup(b.save_face(&gallery, &p, &face(), None)), first.meta.id);
        // `a` listed the gallery before `b` added q: it lists it again at every save.
        assert_eq!(
            dup(a.save_face(&gallery, &q, &face(), None)),
            second.meta.id
        );
        assert_eq!(a.faces(&gallery).unwrap().len(), 2);
        // A sidecar whose image was removed is no face: the photo goes in again.
        std::fs::remove_file(root.path().join(&second.rel)).unwrap();
        assert_eq!(a.faces(&gallery).unwrap().len(), 1);
        a.save_face(&gallery, &q, &face(), None).unwrap();
    }
}
