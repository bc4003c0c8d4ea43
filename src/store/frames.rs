//! Frames of failed verification attempts, kept only when the user opts in
//! (`save_failed_frames`): who tried to unlock as whom. Plain PNGs, 0600 in a 0700 folder like the
//! stored faces. The attempt's audit line names its file, so wiping the person removes it too.

use std::io::{self, Cursor};
use std::path::Path;
use std::time::SystemTime;

use image::{ImageFormat, RgbImage};
use uuid::Uuid;

use super::dir::{DataDir, Kind};

pub const DIR: &str = "failed";
/// Beyond this many frames the oldest go, so an opted-in store cannot fill the disk (a 640×480
/// frame is ~0.5 MB as PNG).
pub const KEEP: usize = 100;

/// Saves `img` (the caller has cut it to the face region, see `store::face_region`) and returns
/// its path relative to the data dir, for the audit line.
pub fn save(dir: &DataDir, img: &RgbImage) -> io::Result<String> {
    let folder = Path::new(DIR);
    dir.create_dir_all(folder)?;
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(io::Error::other)?;
    // Time-ordered (v7, monotonic within the process), so frames saved within one tick of the
    // file system's clock still prune oldest first.
    let name = format!("{}.png", Uuid::now_v7());
    dir.write_atomic(&folder.join(&name), &png)?;
    prune(dir, KEEP);
    Ok(format!("{DIR}/{name}"))
}

/// Removes the oldest frames beyond `keep`. Best effort: a frame that cannot be removed now is
/// removed by a later save.
fn prune(dir: &DataDir, keep: usize) {
    let folder = Path::new(DIR);
    let mut frames: Vec<(SystemTime, std::path::PathBuf)> = dir
        .list(folder)
        .into_iter()
        .flatten()
        .filter(|e| e.kind == Kind::File)
        .map(|e| folder.join(e.name))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .filter_map(|p| Some((dir.stamp(&p)?.modified, p)))
        .collect();
    if frames.len() <= keep {
        return;
    }
    // By time, and within one tick by name: v7 names sort in the order they were made.
    frames.sort();
    for (_, path) in &frames[..frames.len() - keep] {
        let _ = dir.remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_frames_only() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        let dir = DataDir::open(&root, super::super::Owner::EffectiveUser).unwrap();
        let img = RgbImage::from_pixel(8, 8, image::Rgb([10, 20, 30]));
        let saved: Vec<String> = (0..4).map(|_| save(&dir, &img).unwrap()).collect();
        prune(&dir, 2);
        let left = std::fs::read_dir(root.join(DIR)).unwrap().count();
        assert_eq!(left, 2);
        let back = image::open(root.join(&saved[3])).unwrap().to_rgb8();
        assert_eq!(back, img, "the newest frame is kept, pixel for pixel");
    }
}
