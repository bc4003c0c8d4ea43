//! The photos a user names for an import (`capture`, `negatives add`, `unlock enrol`, files
//! dropped on the window): files as given, folders walked. One list for the command line and
//! the window, so both skip and report the same things.

use std::path::{Path, PathBuf};

/// The extensions taken from a folder and offered by the window's file dialog (a file named
/// directly is tried whatever its name), lower case: those of the formats [`super::decode`]
/// reads ([`super::READ`]), so a folder takes what each of its files alone would.
pub fn extensions() -> impl Iterator<Item = &'static str> {
    super::READ
        .iter()
        .flat_map(|f| f.extensions_str().iter().copied())
}

/// [`super::READ`] as messages say them.
pub const PHOTOS: &str = "JPEG, PNG, WebP, BMP, GIF or TIFF";

/// Why a folder with none of them is left out.
pub const NO_PHOTOS: &str = "no JPEG, PNG, WebP, BMP, GIF or TIFF files in it";

/// Whether a folder's file is taken as a photo: by its extension, in any case.
pub fn is_photo_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions().any(|x| e.eq_ignore_ascii_case(x)))
}

#[cfg(test)]
mod formats {
    use image::ImageFormat;

    /// The extensions and the formats decoded are one list: a folder takes what each of its
    /// files alone would be read as (they once disagreed), and the messages name them all.
    #[test]
    fn a_folder_takes_every_format_read_and_no_other() {
        let of = |ext: &str| ImageFormat::from_extension(ext);
        let taken: Vec<&str> = super::extensions().collect();
        println!("a folder takes: {taken:?}");
        for ext in ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"] {
            assert!(taken.contains(&ext), "{ext}");
        }
        for ext in &taken {
            assert!(
                of(ext).is_some_and(|f| super::super::READ.contains(&f)),
                "{ext}"
            );
        }
        let unknown = super::super::ImageError::UnknownFormat("x".into()).to_string();
        for format in super::super::READ {
            let name = format!("{format:?}").to_uppercase();
            assert!(super::PHOTOS.to_uppercase().contains(&name), "{name}");
            assert!(super::NO_PHOTOS.contains(super::PHOTOS), "{name}");
            assert!(unknown.to_uppercase().contains(&name), "{unknown}");
        }
    }
}

/// What `image_files` found.
#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<PathBuf>,
    /// What was left out and why: a folder that could not be listed, a link not named as a photo, a
    /// folder with no photos. One locked sub-folder does not stop the import of the others.
    pub skipped: Vec<(PathBuf, String)>,
}

/// The most files one import or listing takes, on the command line and in the window alike: a
/// folder of LFW is 13,233; more would keep the worker busy for an hour, and `capture bob /`
/// would list the whole disk into memory first.
pub const MAX_FILES: usize = 20_000;

/// The image files named by `inputs`, folders walked recursively and sorted, at most
/// [`MAX_FILES`] (what is left out is said in `skipped`). Links are never looked through:
/// a loop would list the same photos forever, and a link can lead anywhere.
pub fn image_files(inputs: &[PathBuf]) -> Listing {
    at_most(inputs, MAX_FILES)
}

fn at_most(inputs: &[PathBuf], max: usize) -> Listing {
    let mut listing = Listing::default();
    for input in inputs {
        if input.is_dir() {
            let before = listing.files.len();
            walk(input, &mut listing, max);
            if listing.files.len() == before {
                listing.skipped.push((input.clone(), NO_PHOTOS.into()));
            }
        } else {
            listing.files.push(input.clone());
        }
        if listing.files.len() > max {
            listing.files.truncate(max);
            listing.skipped.push((
                input.clone(),
                format!("the first {max} photos are taken; the rest are left out"),
            ));
            break;
        }
    }
    listing
}

fn walk(dir: &Path, listing: &mut Listing, max: usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            listing
                .skipped
                .push((dir.to_owned(), format!("cannot list it ({e})")));
            return;
        }
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        // One past the limit, so that a listing of exactly `max` is not said to leave any out.
        if listing.files.len() > max {
            return;
        }
        let p = entry.path();
        // file_type() does not follow links.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&p, listing, max);
        } else if kind.is_symlink() && !is_photo_name(&p) {
            // Never looked through: a `stat` of where it points waits on whatever serves that,
            // and a link into a FUSE mount a user serves held root's enrolment for good (final
            // read s38). One named as a photo is the loader's to take or refuse (root's
            // enrolment refuses links without following them).
            listing.skipped.push((p, "a link, not followed".into()));
        } else if is_photo_name(&p) {
            listing.files.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_locked_sub_folder_is_skipped_and_named_and_the_rest_listed() {
        let t = tempfile::tempdir().unwrap();
        let tree = t.path().join("tree");
        for (dir, file) in [
            ("ok", "b.jpg"),
            ("ok", "a.PNG"),
            ("ok", "notes.txt"),
            ("ok", "d.webp"),
            ("locked", "c.jpg"),
        ] {
            std::fs::create_dir_all(tree.join(dir)).unwrap();
            std::fs::write(tree.join(dir).join(file), b"x").unwrap();
        }
        std::fs::create_dir(tree.join("empty")).unwrap();
        std::os::unix::fs::symlink(tree.join("ok"), tree.join("link")).unwrap();
        let locked = tree.join("locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let root = rustix::process::geteuid().is_root();
        let listing = image_files(&[tree.clone(), t.path().join("empty-input-file.jpg")]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
            .collect();
        println!("{names:?} skipped {:?}", listing.skipped);
        let said = |path: &Path, why: &str| {
            listing
                .skipped
                .iter()
                .any(|(p, w)| p == path && w.contains(why))
        };
        let mut want = vec![
            "tree/ok/a.PNG",
            "tree/ok/b.jpg",
            "tree/ok/d.webp",
            "empty-input-file.jpg",
        ];
        if root {
            // Root lists a folder of mode 000 all the same.
            want.insert(0, "tree/locked/c.jpg");
        } else {
            assert!(said(&locked, "cannot list it"));
        }
        assert_eq!(names, want);
        assert!(said(&tree.join("link"), "a link, not followed"));
        let empty = image_files(&[tree.join("empty")]);
        assert!(empty.files.is_empty());
        assert!(
            empty.skipped[0]
                .1
                .contains("no JPEG, PNG, WebP, BMP, GIF or TIFF files")
        );
        let first = at_most(std::slice::from_ref(&tree), 1);
        assert_eq!(first.files.len(), 1, "at most max");
        assert!(
            first
                .skipped
                .iter()
                .any(|(p, why)| p == &tree && why.contains("the first 1"))
        );
    }
}
