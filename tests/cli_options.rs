//! Options a user can get wrong: numbers out of range or not numbers at all, an option that
//! cannot apply, and outputs that would destroy an input. Each is refused before anything runs,
//! with exit 2 and the option named (findings of a bad-input review, 2026-12-04).

mod common;
mod hostile;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::s;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn numbers_out_of_range_are_usage_errors() {
    let data = common::temp_dir("options-numbers");
    let astro = common::fixture("astronaut.png");
    let astro = s(&astro);
    let cases: &[&[&str]] = &[
        // Wrapped around or took the machine's memory before.
        &["--threads", "100000", "detect", astro],
        &["--threads", "0", "detect", astro],
        // NaN found 295 "faces"; the help says 0..1.
        &["detect", "--min-score", "NaN", astro],
        &["detect", "--min-score", "2", astro],
        // "cosine > NaN" is never true, and -inf always is.
        &["compare", "--threshold", "nan", astro, astro],
        &["compare", "--threshold=-inf", astro, astro],
        &["compare", "--threshold", "1.5", astro, astro],
        // Trained with these, an untrained head went over the saved one.
        &["train", "bob", "--lr", "NaN"],
        &["train", "bob", "--lr", "0"],
        &["train", "bob", "--lr", "inf"],
        &["train", "bob", "--epochs", "0"],
        &["train", "bob", "--batch", "18446744073709551615"],
        &["train", "bob", "--patience", "0"],
        // A capture's frame count and time limit: usage errors, named by their option.
        &["capture", "bob", "--replay", astro, "--count", "0"],
        &["capture", "bob", "--replay", astro, "--count", "51"],
        &["capture", "bob", "--replay", astro, "--timeout", "NaN"],
        &["capture", "bob", "--replay", astro, "--timeout", "121"],
        // No threshold has a FAR of 0, and 1 is no target.
        &["calibrate", "--far", "0"],
        &["calibrate", "--far", "1"],
        &["calibrate", "--far", "NaN"],
    ];
    for args in cases {
        let start = Instant::now();
        let out = common::facegate_at(&data, args);
        let said = stderr(&out);
        println!(
            "facegate {}: exit {:?} in {:.2} s",
            args.join(" "),
            out.status.code(),
            start.elapsed().as_secs_f64()
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("invalid value"), "{args:?}: {said}");
    }
}

#[test]
fn liveness_is_never_dropped_for_a_photo() {
    let data = common::temp_dir("options-liveness");
    let astro = common::fixture("astronaut.png");
    for (option, value) in [("--liveness", None), ("--timeout", Some("5"))] {
        let mut args = vec!["verify", "eileen", s(&astro), option];
        args.extend(value);
        let out = common::facegate_at(&data, &args);
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains(option) && said.contains("--camera N or --replay"),
            "{said}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ACCEPTED"));
    }
}

fn sha(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

#[test]
fn detect_never_draws_over_its_input_or_into_a_pipe() {
    let dir = common::temp_dir("options-draw");
    let photo = dir.join("a.png");
    std::fs::copy(common::fixture("astronaut.png"), &photo).unwrap();
    let before = sha(&photo);
    let link = dir.join("link.png");
    std::os::unix::fs::symlink(&photo, &link).unwrap();
    let fifo = dir.join("fifo.png");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (what, target, expected) in [
        (
            "the input itself",
            &photo,
            "would be written over the input",
        ),
        (
            "a link to the input",
            &link,
            "would be written over the input",
        ),
        ("a FIFO", &fifo, "not a regular file"),
        // Every format it writes is named (it said .png or .jpg, and wrote .gif too).
        (
            "a name in no format",
            &dir.join("out.xyz"),
            ".jpg, .png, .bmp, .tiff or .webp",
        ),
    ] {
        let mut command = common::facegate_command();
        command.args(["detect", s(&photo), "--draw", s(target)]);
        let t = hostile::run_for(command, Duration::from_secs(30));
        println!("--draw onto {what}: exit {:?}", t.code());
        assert_eq!(t.code(), Some(2), "{what}: {}", t.stderr);
        assert!(t.stderr.contains(expected), "{what}: {}", t.stderr);
    }
    assert_eq!(sha(&photo), before, "the photo was changed");

    // Two inputs with the same stem: each keeps its drawing.
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::copy(common::fixture("camera.png"), other.join("a.png")).unwrap();
    let out = dir.join("drawn");
    let run = common::run_facegate(&[
        "detect",
        s(&photo),
        s(&other.join("a.png")),
        "--draw",
        s(&out),
    ]);
    assert_eq!(run.status.code(), Some(0));
    let first = image::open(out.join("a_faces.png")).unwrap();
    let second = image::open(out.join("a-2_faces.png")).unwrap();
    assert_ne!(
        first.to_rgb8().into_raw(),
        second.to_rgb8().into_raw(),
        "both drawings kept"
    );
    // One more image into that folder: drawn into it (it was refused as "not a regular file");
    // several onto a file: said to need a folder (it was mkdir's "File exists"; journey s36 #6).
    let run = common::run_facegate(&[
        "detect",
        s(&common::fixture("coffee.png")),
        "--draw",
        s(&out),
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert!(out.join("coffee_faces.png").exists());
    let file = out.join("a_faces.png");
    let run = common::run_facegate(&["detect", s(&photo), s(&photo), "--draw", s(&file)]);
    let said = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{said}");
    assert!(
        said.contains("several images are drawn into a folder"),
        "{said}"
    );
    // A new name ending as an image's is meant as a file: refused, no folder made of it; a
    // folder whose parent is missing is said as for one image, no tree made (journey s38 #6).
    for (target, words) in [
        (
            dir.join("r.png"),
            "each as NAME_faces.png; give a folder's name",
        ),
        (
            dir.join("x/y"),
            "does not exist; make it first or give another",
        ),
    ] {
        let run = common::run_facegate(&["detect", s(&photo), s(&photo), "--draw", s(&target)]);
        let said = stderr(&run);
        println!("{said}");
        assert_eq!(run.status.code(), Some(2), "{said}");
        assert!(said.contains(words), "{said}");
        assert!(!target.exists() && !dir.join("x").exists(), "{said}");
    }
    // Names that are not UTF-8: drawn each to its own file, named from its own bytes, and
    // said with those bytes written out (both were `bad\u{fffd}_faces.png`; journey s37 #4).
    use std::os::unix::ffi::OsStrExt;
    let odd = dir.join("odd");
    std::fs::create_dir(&odd).unwrap();
    let named = |bytes: &[u8]| odd.join(std::ffi::OsStr::from_bytes(bytes));
    let (ff, fe) = (named(b"bad\xff.png"), named(b"bad\xfe.png"));
    std::fs::copy(&photo, &ff).unwrap();
    std::fs::copy(common::fixture("camera.png"), &fe).unwrap();
    let drawn = dir.join("odd-drawn");
    let mut run = common::facegate_command();
    run.arg("detect")
        .arg(&ff)
        .arg(&fe)
        .arg("--json")
        .arg("--draw")
        .arg(&drawn);
    let run = run.output().unwrap();
    let json = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(json.contains(r#"bad\\xff.png""#), "{json}");
    for name in [&b"bad\xff_faces.png"[..], b"bad\xfe_faces.png"] {
        assert!(drawn.join(std::ffi::OsStr::from_bytes(name)).is_file());
    }
}

#[test]
fn capture_from_an_empty_folder_is_an_error() {
    let data = common::temp_dir("options-capture-empty");
    let empty = data.join("frames");
    std::fs::create_dir(&empty).unwrap();
    let store = data.join("store");
    assert!(
        common::facegate_at(&store, &["user", "add", "bob"])
            .status
            .success()
    );
    let out = common::facegate_at(&store, &["capture", "bob", "--replay", s(&empty)]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("has no JPEG, PNG, WebP, BMP, GIF or TIFF images"),
        "{said}"
    );
    // A link loop is there, and said to be one; it was reported as missing.
    let (a, b) = (data.join("loop-a"), data.join("loop-b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let out = common::facegate_at(&store, &["capture", "bob", "--replay", s(&a)]);
    let said = stderr(&out);
    println!(
        "capture --replay LOOP: exit {:?}: {said}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("cannot replay") && said.contains("symbolic links"),
        "{said}"
    );
}

/// `FACEGATE_DATA_DIR=` left empty in a shell is named as the cause, not `--data-dir`, which the
/// user never typed.
#[test]
fn an_empty_folder_variable_is_named() {
    for var in ["FACEGATE_DATA_DIR", "FACEGATE_MODELS"] {
        let out = common::facegate_command()
            .env(var, "")
            .args(["user", "list"])
            .output()
            .expect("run facegate");
        let said = stderr(&out);
        println!(
            "{var}=\"\" facegate user list: exit {:?}\n{said}",
            out.status.code()
        );
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(said.contains(&format!("`{var}` is set to \"\"")), "{said}");
    }
}
