//! What the command line takes from the user, checked before anything runs: numbers in their
//! ranges (clap value parsers, so a bad value is a usage error, exit 2, named by its option) and
//! the CSV manifests the lab commands read (a regular file of bounded size: `/dev/zero` or a
//! pipe would otherwise be read as one endless record).

/// A finite number from `min` to `max`.
fn finite_in(s: &str, min: f64, max: f64) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    if !v.is_finite() || v < min || v > max {
        return Err(format!("{s} is not a number from {min} to {max}"));
    }
    Ok(v)
}

/// An image's or a negative's id, as it was printed when saved ("saved 2796ec38-…"): said as
/// that, where the uuid parser's own words were "invalid character: found `n` at 0".
pub fn image_id(s: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(s.trim()).map_err(|_| {
        "not an image id: ids look like 2796ec38-f43b-4af3-ab10-1dacce486cb1, as `facegate user \
         show NAME` and `facegate negatives list` list them, or as printed when each image was \
         saved (`saved ID from …`)"
            .to_owned()
    })
}

/// A score or share from 0 to 1.
pub fn unit(s: &str) -> Result<f32, String> {
    unit_f64(s).map(|v| v as f32)
}

/// A rate from 0 to 1, in double precision (a target FAR of 0.00002).
pub fn unit_f64(s: &str) -> Result<f64, String> {
    finite_in(s, 0.0, 1.0)
}

/// A cosine similarity threshold, from -1 to 1.
pub fn cosine(s: &str) -> Result<f32, String> {
    finite_in(s, -1.0, 1.0).map(|v| v as f32)
}

/// A finite number from `MIN` to `MAX`.
#[cfg(feature = "lab")]
pub fn number<const MIN: i64, const MAX: i64>(s: &str) -> Result<f32, String> {
    within(s, MIN as f64, MAX as f64)
}

/// A finite number from `min` to `max`, for bounds that are not whole numbers.
#[cfg(feature = "lab")]
pub fn within(s: &str, min: f64, max: f64) -> Result<f32, String> {
    finite_in(s, min, max).map(|v| v as f32)
}

/// A finite number above 0 and at most `MAX` (a learning rate, a window in seconds).
pub fn positive_f64<const MAX: i64>(s: &str) -> Result<f64, String> {
    let v = finite_in(s, 0.0, MAX as f64)?;
    if v == 0.0 {
        return Err(format!("{s} must be above 0"));
    }
    Ok(v)
}

/// A finite number of seconds from `MIN` to `MAX`.
pub fn seconds<const MIN: i64, const MAX: i64>(s: &str) -> Result<f64, String> {
    finite_in(s, MIN as f64, MAX as f64)
}

/// A whole number from `MIN` to `MAX` (a count, a number of threads).
pub fn count<const MIN: usize, const MAX: usize>(s: &str) -> Result<usize, String> {
    let v: usize = s.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    if !(MIN..=MAX).contains(&v) {
        // "0 is not a whole number" read as a lesson in arithmetic (journey s38 §12).
        return Err(format!("{v} is outside {MIN} to {MAX}"));
    }
    Ok(v)
}

/// A folder option that may come from the environment: an empty value is refused by name. clap's
/// own refusal ("a value is required for '--data-dir'") blamed the option when it was an empty
/// `FACEGATE_DATA_DIR=` left in the shell.
pub fn folder(s: std::ffi::OsString, env: &str) -> Result<std::path::PathBuf, String> {
    if s.is_empty() {
        return Err(format!(
            "no folder named; if `{env}` is set to \"\", unset it or set it to a folder"
        ));
    }
    Ok(s.into())
}

/// The files a command reads, by device and inode: an output file must not be one of them,
/// whatever name or link it is reached by (the input would be lost under the result).
#[derive(Default)]
pub struct Inputs(std::collections::HashMap<(u64, u64), std::path::PathBuf>);

impl Inputs {
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a std::path::Path>) -> Inputs {
        Inputs(
            paths
                .into_iter()
                .filter_map(|p| Some((file_id(&std::fs::metadata(p).ok()?), p.to_owned())))
                .collect(),
        )
    }
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// An image file named by `option`, checked before the work it will hold: an image format its
/// extension names and FaceGate can write, in a folder that exists, and a regular file to
/// replace that is none of the `inputs`, or nothing yet. Each would otherwise fail only at the
/// end, after the work (a missing folder as a bare "No such file or directory"), or worse:
/// writing into a pipe would block with nobody reading, into a device would lose the result,
/// over an input would lose the input.
pub fn output_image(option: &str, path: &std::path::Path, inputs: &Inputs) -> anyhow::Result<()> {
    let existing = match std::fs::metadata(path) {
        Ok(existing) => Some(existing),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            folder_exists(option, path)?;
            None
        }
        // A folder that may not be entered, a link loop: the write would fail, after the work.
        Err(e) => anyhow::bail!("{option}: cannot write {}: {e}", path.display()),
    };
    if let Some(existing) = existing {
        anyhow::ensure!(
            existing.is_file(),
            "{option}: {} is not a regular file (a folder, pipe or device)",
            path.display()
        );
        if let Some(input) = inputs.0.get(&file_id(&existing)) {
            anyhow::bail!(
                "{option}: {} would be written over the input {}; give another file",
                path.display(),
                input.display()
            );
        }
    }
    let writable = image::ImageFormat::from_path(path).is_ok_and(|f| f.writing_enabled());
    anyhow::ensure!(
        writable,
        "{option}: {} does not end in an image format FaceGate writes; give a name ending in {}",
        path.display(),
        written_extensions()
    );
    Ok(())
}

/// The extensions of every format FaceGate writes, as the image library was built: the message
/// named .png and .jpg, and GIF, WebP, BMP and TIFF were written too (journey s37 #8).
fn written_extensions() -> String {
    let extensions: Vec<String> = (image::ImageFormat::all())
        .filter(|f| f.writing_enabled())
        .filter_map(|f| f.extensions_str().first())
        .map(|e| format!(".{e}"))
        .collect();
    match extensions.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "nothing: this build writes no image format".into(),
    }
}

/// The folder `path` (a file or folder to make) goes in exists, or it is said for `option`:
/// one rule for `--draw`'s drawing and its folder of drawings (the folder of drawings was made
/// with every missing folder above it; journey s38 #6).
pub fn folder_exists(option: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let folder = folder_of(path);
    anyhow::ensure!(
        folder.is_dir(),
        "{option}: the folder {} does not exist; make it first or give another",
        folder.display()
    );
    Ok(())
}

/// The folder a file named `path` goes into: its parent, or the current folder for a bare name
/// (whose parent is empty).
fn folder_of(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    }
}

/// Writes `img` to `path` (its format from the extension) whole or not at all: into a temporary
/// file beside it, renamed over it once complete, so a full disk or an interrupted run leaves
/// the file as it was (or none), never a cut-off image.
pub fn save_image(img: &image::RgbImage, path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let write = || -> anyhow::Result<()> {
        let format = image::ImageFormat::from_path(path)?;
        let folder = folder_of(path);
        // tempfile names the file it tried (" at path \"/x/.tmpAb12\""), which the user never
        // gave and cannot act on (journey s40 #17): the reason alone, with the folder.
        let mut tmp = tempfile::NamedTempFile::new_in(folder).map_err(|e| {
            let text = e.to_string();
            let reason = text.split(" at path ").next().unwrap_or(&text);
            anyhow::anyhow!("cannot make a file in {}: {reason}", folder.display())
        })?;
        {
            let mut out = std::io::BufWriter::new(tmp.as_file_mut());
            img.write_to(&mut out, format)?;
            std::io::Write::flush(&mut out)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path)?;
        Ok(())
    };
    write().with_context(|| format!("writing {}; nothing was written", path.display()))
}

/// Most rows a lab command's `--limit` keeps: more than any manifest holds.
#[cfg(feature = "lab")]
const MAX_LIMIT: usize = 1_000_000_000;

/// A lab command's `--limit N`: at least one row.
#[cfg(feature = "lab")]
pub fn limit(s: &str) -> Result<usize, String> {
    count::<1, MAX_LIMIT>(s)
}

/// Largest CSV manifest read: a manifest of a million rows is well under it.
#[cfg(feature = "lab")]
pub const MAX_CSV_BYTES: u64 = 64 << 20;

/// A CSV manifest with a header row, once it is a regular file of at most [`MAX_CSV_BYTES`].
/// Opened without blocking (opening a FIFO would wait for a writer) and checked on the opened
/// handle, so nothing can be swapped in between.
#[cfg(feature = "lab")]
pub fn open_csv(
    path: &std::path::Path,
) -> anyhow::Result<csv::Reader<std::io::Take<std::fs::File>>> {
    use crate::bounded::{self, Refused};
    use std::io::Read;
    let file = bounded::open(path, MAX_CSV_BYTES).map_err(|why| match why {
        Refused::Io(e) => anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
        Refused::NotAFile => anyhow::anyhow!(
            "{} is not a regular file (a folder, device or pipe); give a CSV file",
            path.display()
        ),
        Refused::TooLarge(size) => anyhow::anyhow!(
            "{} is {size} bytes; CSV files over {} MB are refused",
            path.display(),
            MAX_CSV_BYTES >> 20
        ),
        Refused::Untrusted(why) => anyhow::anyhow!("{} is not read: {why}", path.display()),
    })?;
    // Bounded again while reading, in case the file grows meanwhile.
    Ok(csv::Reader::from_reader(file.take(MAX_CSV_BYTES)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_id_is_a_uuid_and_anything_else_is_said_to_be_no_id() {
        let id = "2796ec38-f43b-4af3-ab10-1dacce486cb1";
        assert_eq!(image_id(id).unwrap().to_string(), id);
        let why = image_id("notauuid").unwrap_err();
        assert!(why.starts_with("not an image id"), "{why}");
        assert!(!why.contains("found `n`"), "{why}");
    }

    #[test]
    fn numbers_out_of_range_or_not_finite_are_refused() {
        for bad in [
            "NaN", "nan", "inf", "-inf", "1e300", "-0.1", "1.01", "x", "",
        ] {
            assert!(unit(bad).is_err(), "{bad:?}");
        }
        assert_eq!(unit("0.5"), Ok(0.5));
        assert_eq!(unit("1"), Ok(1.0));
        assert!(cosine("-1").is_ok() && cosine("-1.5").is_err());
        assert!(positive_f64::<10>("0").is_err() && positive_f64::<10>("0.001").is_ok());
        assert!(positive_f64::<10>("10.5").is_err());
        assert!(count::<1, 256>("0").is_err() && count::<1, 256>("257").is_err());
        assert!(count::<1, 256>("18446744073709551615").is_err());
        assert!(count::<1, 256>("18446744073709551616").is_err());
        assert_eq!(count::<1, 256>("256"), Ok(256));
    }

    /// An image that cannot be written says why and where, not the name of the temporary
    /// file it was first written to (journey s40 #17: "at path \"/proc/.tmp2BhWCw\"").
    #[test]
    fn a_failed_save_names_the_folder_not_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let e = save_image(&image::RgbImage::new(4, 4), &gone.join("out.png")).unwrap_err();
        let said = format!("{e:#}");
        println!("{said}");
        assert!(!said.contains("gone/.tmp"), "{said}");
        assert!(
            said.contains(&format!("cannot make a file in {}", gone.display()))
                && said.contains("No such file or directory"),
            "{said}"
        );
    }

    #[cfg(feature = "lab")]
    #[test]
    fn a_csv_must_be_a_bounded_regular_file() {
        use std::path::Path;
        let e = open_csv(Path::new("/dev/zero")).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = open_csv(Path::new("/")).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.csv");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let e = open_csv(&fifo).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let big = dir.path().join("big.csv");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CSV_BYTES + 1).unwrap();
        let e = open_csv(&big).err().unwrap();
        assert!(e.to_string().contains("are refused"), "{e}");
        let ok = dir.path().join("ok.csv");
        std::fs::write(&ok, "path,label\na.png,bona_fide\n").unwrap();
        assert_eq!(open_csv(&ok).unwrap().records().count(), 1);
    }
}
