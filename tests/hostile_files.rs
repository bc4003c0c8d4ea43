//! Issue 14, "files that are not what they seem": pipes and devices given as photos, link loops
//! and duplicates in a capture, forged sidecars, symbolic links planted in the data dir, a
//! shared or linked data dir, names too long in bytes or confusable, and the size of a saved
//! failed frame. Each test runs the real binary (`$FACEGATE_TEST_BIN` to run another build's).

mod common;
mod hostile;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::s;
use hostile::{NAME, code, run, run_for, text};

/// The number of `kind` images `name` has, from `user list --json`.
fn image_count(data: &Path, name: &str) -> Option<u64> {
    let out = run(data, &["user", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    rows.as_array()?
        .iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["verification"].as_u64())
}

fn says_link(said: &str) -> bool {
    said.contains("symbolic link")
}

/// A FIFO at `root/name` (nobody ever writes to it).
fn fifo(root: &Path, name: &str) -> PathBuf {
    let fifo = root.join(name);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    fifo
}

/// Runs facegate with a FIFO among `args`: it must end at once, exit 2, saying why.
fn refuses_the_fifo_at_once(what: &str, data: &Path, args: &[&str]) {
    let t = run_for(hostile::facegate_cmd(data, args), Duration::from_secs(20));
    println!(
        "measured: FIFO {what}: exit {:?} after {:.1} s: {}",
        t.code(),
        t.elapsed.as_secs_f64(),
        t.text().trim()
    );
    assert!(t.status.is_some(), "facegate hung on a FIFO");
    assert_eq!(t.code(), Some(2));
    assert!(
        t.text().contains("not a regular file"),
        "the message says why: {}",
        t.text()
    );
}

/// A FIFO given as a photo once blocked forever. Now it is refused at once as not a regular
/// file.
#[test]
fn a_fifo_given_as_an_image_is_refused_at_once() {
    if common::models_or_skip("fifo").is_none() {
        return;
    }
    let root = common::temp_dir("hf-fifo");
    let photo = fifo(&root, "photo.png");
    refuses_the_fifo_at_once("as a photo", &root.join("data"), &["detect", s(&photo)]);
}

/// A FIFO given as a recording (the window's "Open recording" field, `--replay`) was handed to
/// ffprobe, which waited on it for ever, and the window with it. Now it is refused at once.
#[test]
fn a_fifo_given_as_a_recording_is_refused_at_once() {
    if common::models_or_skip("fifo replay").is_none() {
        return;
    }
    let root = common::temp_dir("hf-fifo-replay");
    let clip = fifo(&root, "clip.mp4");
    let data = root.join("data");
    assert_eq!(code(&run(&data, &["user", "add", "Fifo"])), Some(0));
    refuses_the_fifo_at_once(
        "as a recording",
        &data,
        &["capture", "Fifo", "--replay", s(&clip)],
    );
}

/// `/dev/zero` given as a photo was once read until memory ran out. Now it is refused before a
/// byte is read. (Run under a 2 GB address-space limit, so a regression fails this test instead
/// of exhausting the machine.)
#[test]
fn dev_zero_given_as_an_image_is_refused_without_reading_it() {
    if common::models_or_skip("/dev/zero").is_none() {
        return;
    }
    let root = common::temp_dir("hf-devzero");
    let mut limited = Command::new("bash");
    limited
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(common::facegate_bin())
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(["detect", "/dev/zero"])
        .env(facegate::runtime::MODELS_ENV, common::models_dir());
    let t = run_for(limited, Duration::from_secs(60));
    println!(
        "measured: /dev/zero: exit {:?} ({:?}) after {:.1} s",
        t.code(),
        t.status,
        t.elapsed.as_secs_f64()
    );
    assert_eq!(t.code(), Some(2), "a clean error, not a crash or a kill");
    assert!(
        t.text().contains("not a regular file"),
        "the message says why: {}",
        t.text()
    );
}

/// A folder with a link to itself once made `capture` save the same photo 41 times (once per
/// level until the kernel's link limit). Linked folders are not walked into, and it says so.
#[test]
fn capture_does_not_walk_a_link_loop() {
    if common::models_or_skip("link loop").is_none() {
        return;
    }
    let root = common::temp_dir("hf-loop");
    let data = root.join("data");
    let photos = root.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(common::fixture("astronaut.png"), photos.join("me.png")).unwrap();
    symlink(".", photos.join("loop")).unwrap();
    assert_eq!(code(&run(&data, &["user", "add", "Loop"])), Some(0));
    let out = run(
        &data,
        &["capture", "Loop", "--kind", "verification", s(&photos)],
    );
    let stored = image_count(&data, "Loop");
    println!(
        "measured: photos stored from a folder with a link loop: {stored:?}; says it did not follow the link: {}",
        text(&out).contains("not followed")
    );
    assert_eq!(stored, Some(1), "the photo is stored once");
    assert!(
        text(&out).contains("loop: a link, not followed"),
        "the skipped link is named"
    );
}

/// The same photo imported twice (two copies in one folder, then again later) is stored once;
/// the others are skipped with a message naming the face already stored.
#[test]
fn capture_skips_an_image_already_stored() {
    if common::models_or_skip("duplicate capture").is_none() {
        return;
    }
    let root = common::temp_dir("hf-duplicate");
    let data = root.join("data");
    let photos = root.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(common::fixture("astronaut.png"), photos.join("a.png")).unwrap();
    std::fs::copy(common::fixture("astronaut.png"), photos.join("copy.png")).unwrap();
    assert_eq!(code(&run(&data, &["user", "add", "Dup"])), Some(0));
    let first = run(
        &data,
        &["capture", "Dup", "--kind", "verification", s(&photos)],
    );
    let again = run(
        &data,
        &[
            "capture",
            "Dup",
            "--kind",
            "verification",
            s(&common::fixture("astronaut.png")),
        ],
    );
    let stored = image_count(&data, "Dup");
    let skips = format!("{}{}", text(&first), text(&again))
        .matches("already stored (")
        .count();
    println!(
        "measured: 3 imports of one photo: {stored:?} stored, {skips} skipped with a message; exits {:?} {:?}",
        code(&first),
        code(&again)
    );
    assert_eq!(stored, Some(1), "one photo, stored once");
    assert_eq!(skips, 2, "each duplicate is skipped with a message");
    assert_eq!(
        (code(&first), code(&again)),
        (Some(0), Some(0)),
        "a skip is not a failure"
    );
}

/// A sidecar whose landmarks were set to 1e30 once built a garbage vector that verification
/// used ("2/3 matched"). It is skipped, named in a warning, and verification uses the others.
#[test]
fn sidecar_landmarks_out_of_range_skip_that_face() {
    let Some(data) = hostile::enrolled("hf-sidecar") else {
        return;
    };
    let gallery = data.join("users").join(NAME).join("verification");
    let mut sidecars: Vec<PathBuf> = std::fs::read_dir(&gallery)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    sidecars.sort();
    assert_eq!(sidecars.len(), 3);
    let forged = &sidecars[0];
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(forged).unwrap()).unwrap();
    for point in meta["face"]["landmarks"].as_array_mut().unwrap() {
        *point = serde_json::json!([1e30, 1e30]);
    }
    std::fs::write(forged, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    // The cached vectors go too, so nothing can stand in for the forged face's recomputed one.
    for entry in std::fs::read_dir(data.join("cache")).unwrap() {
        std::fs::remove_dir_all(entry.unwrap().path()).unwrap();
    }
    let out = run(
        &data,
        &[
            "verify",
            NAME,
            s(&common::fixture("astronaut.png")),
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let compared = report["verification"]["comparisons"]
        .as_array()
        .map(Vec::len);
    let file = forged.file_name().unwrap().to_string_lossy().into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "measured: faces compared {compared:?} of 3; warning names {file}: {}",
        stderr.contains(&file)
    );
    assert_eq!(compared, Some(2), "the forged face is not compared");
    assert!(
        stderr.contains(&file),
        "the skipped sidecar is named: {stderr}"
    );
    assert_eq!(
        code(&out),
        Some(0),
        "the person still verifies on the others"
    );
}

/// A data dir that is itself a link is refused with a message saying so.
#[test]
fn a_data_dir_that_is_a_link_is_refused() {
    let root = common::temp_dir("hf-datadir-link");
    let real = root.join("real");
    assert_eq!(code(&run(&real, &["user", "add", "Ann"])), Some(0));
    let link = root.join("link");
    symlink(&real, &link).unwrap();
    let out = run(&link, &["user", "list"]);
    println!(
        "measured: data dir through a link: exit {:?}, says link: {}",
        code(&out),
        says_link(&text(&out))
    );
    assert_eq!(code(&out), Some(2));
    assert!(says_link(&text(&out)), "{}", text(&out));
}

/// An existing folder that was never FaceGate's (`--data-dir ~/Documents`) was once made 0700
/// and filled with users/, negatives/ and cache/, even by `user list`. Now it is refused and
/// left as it was; an empty folder and an existing store are still taken.
#[test]
fn an_existing_folder_that_is_not_a_store_is_refused_untouched() {
    use std::os::unix::fs::MetadataExt;
    let root = common::temp_dir("hf-datadir-foreign");
    let documents = root.join("documents");
    std::fs::create_dir(&documents).unwrap();
    std::fs::write(documents.join("notes.txt"), "mine").unwrap();
    hostile::chmod(&documents, 0o755);
    let before = hostile::snapshot(&documents);
    for args in [vec!["user", "list"], vec!["user", "add", "Ann"]] {
        let out = run(&documents, &args);
        println!(
            "measured: {args:?} on a folder of documents: exit {:?}: {}",
            code(&out),
            text(&out).trim()
        );
        assert_eq!(code(&out), Some(2));
        assert!(
            text(&out).contains("not a FaceGate data folder"),
            "{}",
            text(&out)
        );
    }
    hostile::assert_untouched("the documents", &before, &hostile::snapshot(&documents));
    assert_eq!(std::fs::metadata(&documents).unwrap().mode() & 0o777, 0o755);
    let empty = root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(code(&run(&empty, &["user", "add", "Ann"])), Some(0));
    assert_eq!(
        code(&run(&empty, &["user", "list"])),
        Some(0),
        "a store now"
    );
}

/// A data dir writable by others (whoever can write there decides the faces and thresholds) is
/// refused with the mode and the fix, and left as it is; so is one owned by someone else (checked
/// when the suite runs as root and can give it away).
#[test]
fn a_data_dir_writable_by_others_or_foreign_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let root = common::temp_dir("hf-datadir-mode");
    let data = root.join("data");
    assert_eq!(code(&run(&data, &["user", "add", "Ann"])), Some(0));
    for mode in [0o777, 0o770] {
        hostile::chmod(&data, mode);
        let out = run(&data, &["user", "list"]);
        let after = std::fs::metadata(&data).unwrap().mode() & 0o777;
        println!(
            "measured: mode {mode:o}: exit {:?}, mode after {after:o}",
            code(&out)
        );
        assert_eq!(code(&out), Some(2), "mode {mode:o} is refused");
        assert!(
            text(&out).contains("writable by other users") && text(&out).contains("chmod 700"),
            "{}",
            text(&out)
        );
    }
    hostile::chmod(&data, 0o700);
    if hostile::my_uid(&root) != 0 {
        println!("NOTICE: not root; the foreign-owner case is not checked");
        return;
    }
    std::os::unix::fs::chown(&data, Some(65534), None).unwrap();
    let out = run(&data, &["user", "list"]);
    std::os::unix::fs::chown(&data, Some(0), None).unwrap();
    println!("measured: owned by uid 65534: exit {:?}", code(&out));
    assert_eq!(code(&out), Some(2));
    assert!(text(&out).contains("65534"), "{}", text(&out));
}

/// A folder outside the data dir with a file and a sub-folder in it, modes 0755/0644, that the
/// suite snapshots: a link in the data dir points at it (or into it).
fn outside(root: &Path) -> PathBuf {
    let dir = root.join("outside");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("precious.txt"), "keep me\n").unwrap();
    std::fs::write(dir.join("sub/also.txt"), "and me\n").unwrap();
    hostile::chmod(&dir, 0o755);
    hostile::chmod(&dir.join("sub"), 0o755);
    hostile::chmod(&dir.join("precious.txt"), 0o644);
    hostile::chmod(&dir.join("sub/also.txt"), 0o644);
    dir
}

/// Runs what a user would against a store with a planted link: capture, verify the person and a
/// stranger, and wipe the person. Returns what each said.
fn use_the_store(data: &Path) -> Vec<(String, Option<i32>, String)> {
    let astro = common::fixture("astronaut.png");
    let stranger = common::fixture("camera.png");
    let photos = hostile::astronaut_photos(&data.parent().unwrap().join("more"));
    let steps: [(&str, Vec<&str>); 4] = [
        (
            "capture",
            vec!["capture", NAME, "--kind", "verification", s(&photos)],
        ),
        ("verify", vec!["verify", NAME, s(&astro)]),
        ("verify a stranger", vec!["verify", NAME, s(&stranger)]),
        ("wipe", vec!["user", "remove", NAME, "--wipe"]),
    ];
    steps
        .into_iter()
        .map(|(what, args)| {
            let out = run(data, &args);
            (what.to_owned(), code(&out), text(&out))
        })
        .collect()
}

/// A person's folder replaced by a link to a folder outside (here holding another store's
/// faces of the person): capture, verify and wipe once wrote into, read from, re-moded and
/// deleted from the link's target. Each now fails naming the link, and the target is untouched.
#[test]
fn a_person_folder_link_is_not_followed() {
    let Some(data) = hostile::enrolled("hf-person-link") else {
        return;
    };
    let root = data.parent().unwrap().to_owned();
    let target = outside(&root);
    let person = data.join("users").join(NAME);
    // The person's real folder moves outside; the link takes its place.
    std::fs::rename(&person, target.join(NAME)).unwrap();
    for dir in walk_dirs(&target) {
        hostile::chmod(&dir, 0o755);
    }
    symlink(target.join(NAME), &person).unwrap();
    let before = hostile::snapshot(&target);
    let said = use_the_store(&data);
    for (what, exit, _) in &said {
        println!("measured: {what} through a linked person folder: exit {exit:?}");
    }
    hostile::assert_untouched("the folder outside", &before, &hostile::snapshot(&target));
    for (what, exit, message) in &said {
        assert_eq!(*exit, Some(2), "{what} is refused: {message}");
        assert!(says_link(message), "{what} names the link: {message}");
    }
}

fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_dirs(&e.path()));
        }
    }
    out
}

/// The store's lock file replaced by a link to a path outside: the lock was once created (and
/// could be held) there. Every change to the store now fails naming the link, and nothing
/// appears outside.
#[test]
fn a_lock_file_link_is_not_followed() {
    let Some(data) = hostile::enrolled("hf-lock-link") else {
        return;
    };
    let target = outside(data.parent().unwrap());
    let _ = std::fs::remove_file(data.join(".lock"));
    symlink(target.join("lock-here"), data.join(".lock")).unwrap();
    let before = hostile::snapshot(&target);
    let said = use_the_store(&data);
    for (what, exit, _) in &said {
        println!("measured: {what} with a linked lock file: exit {exit:?}");
    }
    hostile::assert_untouched("the folder outside", &before, &hostile::snapshot(&target));
    for (what, exit, message) in &said {
        assert_eq!(*exit, Some(2), "{what} cannot lock the store: {message}");
        assert!(says_link(message), "{what} names the link: {message}");
    }
}

/// The audit log replaced by a link to a file outside: attempts once appended to it and a wipe
/// rewrote it. Now the attempt still runs (its line is lost, with a warning) and the file
/// outside is untouched.
#[test]
fn an_audit_log_link_is_not_followed() {
    let Some(data) = hostile::enrolled("hf-audit-link") else {
        return;
    };
    let target = outside(data.parent().unwrap());
    let _ = std::fs::remove_file(data.join("audit.log"));
    symlink(target.join("precious.txt"), data.join("audit.log")).unwrap();
    let before = hostile::snapshot(&target);
    let said = use_the_store(&data);
    for (what, exit, _) in &said {
        println!("measured: {what} with a linked audit log: exit {exit:?}");
    }
    hostile::assert_untouched("the folder outside", &before, &hostile::snapshot(&target));
    let stranger = &said[2];
    assert_eq!(stranger.1, Some(1), "the stranger is still rejected");
    assert!(
        says_link(&stranger.2),
        "the lost audit line is reported: {}",
        stranger.2
    );
}

/// The audit log replaced by a FIFO: `verify` once blocked forever opening it for writing,
/// waiting for a reader. Now the verdict stands and the lost line is reported at once.
#[test]
fn an_audit_log_fifo_does_not_hang_verify() {
    let Some(data) = hostile::enrolled("hf-audit-fifo") else {
        return;
    };
    let _ = std::fs::remove_file(data.join("audit.log"));
    fifo(&data, "audit.log");
    let astro = common::fixture("astronaut.png");
    let t = run_for(
        hostile::facegate_cmd(&data, &["verify", NAME, s(&astro)]),
        Duration::from_secs(30),
    );
    println!(
        "measured: verify with a FIFO audit log: exit {:?} after {:.1} s: {}",
        t.code(),
        t.elapsed.as_secs_f64(),
        t.text().trim()
    );
    assert!(t.status.is_some(), "verify hung on the FIFO");
    assert_eq!(t.code(), Some(0), "the astronaut is still verified");
    assert!(t.text().contains("not a regular file"), "{}", t.text());
}

/// The failed-frames folder replaced by a link to a folder outside: a failed attempt's frame
/// was once written there (and the folder made 0700). Now the attempt is still rejected, its
/// frame is not kept, and the folder outside is untouched.
#[test]
fn a_failed_frames_link_is_not_followed() {
    let Some(data) = hostile::enrolled("hf-frames-link") else {
        return;
    };
    hostile::write_settings(&data, "save_failed_frames = true\n");
    let target = outside(data.parent().unwrap());
    let _ = std::fs::remove_dir_all(data.join("failed"));
    symlink(target.join("sub"), data.join("failed")).unwrap();
    let before = hostile::snapshot(&target);
    let said = use_the_store(&data);
    for (what, exit, _) in &said {
        println!("measured: {what} with a linked failed-frames folder: exit {exit:?}");
    }
    hostile::assert_untouched("the folder outside", &before, &hostile::snapshot(&target));
    let stranger = &said[2];
    assert_eq!(stranger.1, Some(1), "the stranger is still rejected");
    assert!(
        says_link(&stranger.2),
        "the unsaved frame is reported: {}",
        stranger.2
    );
}

/// 64 × "𝔸" passed the 64-character check and then failed with "cannot access" (256 bytes is
/// more than a folder name holds). The limit is in bytes too, and the message says so.
#[test]
fn a_name_too_long_in_bytes_is_refused_with_a_bytes_message() {
    let data = common::temp_dir("hf-name-bytes").join("data");
    let long = "𝔸".repeat(64);
    let out = run(&data, &["user", "add", &long]);
    let said = text(&out);
    println!(
        "measured: 64 × 𝔸 ({} bytes): exit {:?}, message mentions bytes: {}",
        long.len(),
        code(&out),
        said.contains("bytes")
    );
    assert_eq!(code(&out), Some(2));
    assert!(
        said.contains("bytes") && !said.contains("cannot access"),
        "{said}"
    );
    let fits = "𝔸".repeat(32);
    assert_eq!(
        code(&run(&data, &["user", "add", &fits])),
        Some(0),
        "32 × 𝔸 (128 bytes) fits"
    );
}

/// "аlice" with a Cyrillic а next to an enrolled "alice": allowed, with a warning naming the
/// name it can be mistaken for.
#[test]
fn a_lookalike_name_warns() {
    let data = common::temp_dir("hf-lookalike").join("data");
    assert_eq!(code(&run(&data, &["user", "add", "alice"])), Some(0));
    let out = run(&data, &["user", "add", "\u{430}lice"]);
    let warned = String::from_utf8_lossy(&out.stderr).contains("looks like `alice`");
    println!(
        "measured: \"\u{430}lice\" after \"alice\": exit {:?}, warned: {warned}",
        code(&out)
    );
    assert_eq!(code(&out), Some(0), "allowed: it may be a different person");
    assert!(warned, "{}", text(&out));
}

/// With `save_failed_frames` on, a 6000×6000 probe once left a 19 MB PNG per failure. The face
/// region is kept instead, at most 640 px a side.
#[test]
fn a_huge_failed_probe_keeps_a_small_face_region() {
    let Some(data) = hostile::enrolled("hf-huge-frame") else {
        return;
    };
    hostile::write_settings(&data, "save_failed_frames = true\n");
    let stranger = image::open(common::fixture("camera.png"))
        .unwrap()
        .to_rgb8();
    let huge =
        image::imageops::resize(&stranger, 6000, 6000, image::imageops::FilterType::Triangle);
    let probe = data.parent().unwrap().join("huge.jpg");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&probe).unwrap());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 90)
        .encode_image(&huge)
        .unwrap();
    drop(file);
    let out = run(&data, &["verify", NAME, s(&probe)]);
    assert_eq!(code(&out), Some(1), "the stranger is rejected");
    let frames: Vec<PathBuf> = std::fs::read_dir(data.join("failed"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    let sizes: Vec<(u32, u32, u64)> = frames
        .iter()
        .map(|p| {
            let (w, h) = image::image_dimensions(p).unwrap();
            (w, h, std::fs::metadata(p).unwrap().len())
        })
        .collect();
    println!(
        "measured: probe 6000×6000 ({} bytes as JPEG); frames kept (w, h, bytes): {sizes:?}",
        std::fs::metadata(&probe).unwrap().len()
    );
    assert_eq!(sizes.len(), 1, "one failure, one frame");
    let (w, h, _) = sizes[0];
    assert!(w <= 640 && h <= 640, "kept {w}×{h}");
}

/// A photo whose file name is not UTF-8 (any byte string is a valid Linux name): its result is
/// reported with the name's other bytes written `\xe9`, and the other photos' results are not lost with it
/// (serde refused the whole `--json` report before).
#[test]
fn a_file_name_that_is_not_utf8_does_not_lose_the_json_report() {
    use std::os::unix::ffi::OsStrExt;
    if common::models_or_skip("non-UTF-8 name").is_none() {
        return;
    }
    let root = common::temp_dir("hf-non-utf8");
    let odd = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    std::fs::copy(common::fixture("astronaut.png"), &odd).unwrap();
    let plain = common::fixture("camera.png");
    for command in ["detect", "represent", "analyze"] {
        let out = common::facegate_command()
            .args([command, "--json"])
            .arg(&odd)
            .arg(&plain)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!(
            "{command}: exit {:?}, {} bytes of JSON",
            out.status.code(),
            stdout.len()
        );
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{command}: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
        let paths: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        println!("  paths: {paths:?}");
        assert_eq!(paths.len(), 2, "{command}");
        // Its byte written out, not U+FFFD, which two such names shared (journey s37 #4).
        assert!(paths[0].ends_with(r"caf\xe9.png"), "{command}: {paths:?}");
        assert!(paths[1].ends_with("camera.png"), "{command}: {paths:?}");
    }
}

/// A file name with a newline and an escape sequence once printed raw: `detect` and `capture`
/// showed a forged "ACCEPTED:" line and recoloured the terminal. Now both are escaped.
#[test]
fn a_file_name_with_control_characters_is_printed_escaped() {
    if common::models_or_skip("control characters").is_none() {
        return;
    }
    let root = common::temp_dir("hf-control-name");
    let photo = root.join("ev\nACCEPTED: x\u{1b}[31m.png");
    std::fs::copy(common::fixture("astronaut.png"), &photo).unwrap();
    // A look-alike gallery's identity is its folder's name (printed raw until session 30).
    let gallery = root.join("gallery");
    let identity = gallery.join("ev\nACCEPTED: x\u{1b}[31m.png");
    std::fs::create_dir_all(&identity).unwrap();
    std::fs::copy(common::fixture("astronaut.png"), identity.join("a.png")).unwrap();
    // Folders without a photo are named a few at a time (30,000 of them printed 30,000 lines).
    for i in 0..20 {
        std::fs::create_dir(gallery.join(format!("empty-{i:02}"))).unwrap();
    }
    let data = root.join("data");
    assert_eq!(code(&run(&data, &["user", "add", "Ann"])), Some(0));
    for args in [
        vec!["detect", s(&photo)],
        vec!["capture", "Ann", s(&photo)],
        vec!["lookalike", s(&photo), "--gallery", s(&gallery)],
    ] {
        let out = run(&data, &args);
        let said = text(&out);
        println!("measured: {} says {:?}", args[0], said.trim());
        assert!(
            !said.lines().any(|l| l.starts_with("ACCEPTED")),
            "a forged line: {said}"
        );
        assert!(!said.contains('\u{1b}'), "a raw escape: {said:?}");
        assert!(said.contains("ev\\nACCEPTED: x\\u{1b}[31m.png"), "{said:?}");
    }
    let out = run(&data, &["lookalike", s(&photo), "--gallery", s(&gallery)]);
    let said = text(&out);
    assert_eq!(said.matches("skipped").count(), 6, "{said}");
    assert!(
        said.contains("skipped 15 more without naming each"),
        "{said}"
    );
}

/// `facegate --data-dir DATA ARGS` as uid 65534 (nobody), printed like [`run`]; None where that
/// user cannot run this build (a folder above it closed to others).
fn run_as_nobody(data: &Path, args: &[&str]) -> Option<std::process::Output> {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::facegate_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env(facegate::runtime::MODELS_ENV, common::models_dir())
        .env("FACEGATE_NO_KEYRING", "1");
    let out = command.output().ok()?;
    println!(
        "$ (as nobody) facegate --data-dir {} {}\n-> {:?}\n{}",
        data.display(),
        args.join(" "),
        code(&out),
        text(&out)
    );
    Some(out)
}

/// A person's folder its user cannot read (mode 000, or another owner's) was listed as no
/// images and "locked out (its record cannot be read)" with a `user reset` that failed on it
/// too, and `identify` stopped for everyone (journey s40 #5). Now the listing says the images
/// cannot be read and why, offers no reset, and identify leaves that person out, by name. Run
/// as nobody: root reads any folder.
#[test]
fn a_person_folder_that_cannot_be_read_is_said_so_and_left_out() {
    let Some(data) = hostile::enrolled("hf-unreadable-person") else {
        return;
    };
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; the unreadable-folder case (run as nobody) is not checked");
        return;
    }
    let root = data.parent().unwrap();
    assert_eq!(code(&run(&data, &["user", "add", "Ann"])), Some(0));
    let owned = Command::new("chown")
        .args(["-R", "65534:65534", s(root)])
        .status()
        .unwrap();
    assert!(owned.success());
    hostile::chmod(root, 0o755);
    // The models too: a checkout in a folder closed to others (mktemp's 0700) has them out of
    // nobody's reach.
    let photo = root.join("photos/c.png");
    if !run_as_nobody(&data, &["identify", s(&photo)]).is_some_and(|o| o.status.success()) {
        println!(
            "NOTICE: nobody cannot run this build and its models here; the unreadable-folder \
             case as nobody is not checked (the same refusal for any user: \
             a_person_folder_that_is_not_one_is_said_so_and_left_out)"
        );
        return;
    }
    hostile::chmod(&data.join("users/Ann"), 0o000);
    let listed = run_as_nobody(&data, &["user", "list"]).unwrap();
    let json = run_as_nobody(&data, &["user", "list", "--json"]).unwrap();
    let identified = run_as_nobody(&data, &["identify", s(&photo)]).unwrap();
    hostile::chmod(&data.join("users/Ann"), 0o700);
    let said = text(&listed);
    println!(
        "measured: user list over an unreadable folder: exit {:?}",
        code(&listed)
    );
    assert_eq!(code(&listed), Some(0));
    assert!(
        said.contains("Ann's images cannot be read") && said.contains("Permission denied"),
        "{said}"
    );
    assert!(
        !said.contains("user reset") && !said.contains("locked"),
        "{said}"
    );
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let ann = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Ann")
        .unwrap();
    assert!(
        ann["unreadable"].as_str().is_some() && ann["lock"].is_null(),
        "{ann}"
    );
    identified_beside_ann(&identified, "an unreadable folder");
}

/// `identify` found [`NAME`] and left Ann, whose images cannot be read, out by name.
fn identified_beside_ann(identified: &std::process::Output, beside: &str) {
    let said = text(identified);
    println!(
        "measured: identify beside {beside}: exit {:?}",
        code(identified)
    );
    assert_eq!(code(identified), Some(0), "{said}");
    assert!(
        said.contains(&format!("identified: {NAME}"))
            && said.contains("Ann left out: their images cannot be read"),
        "{said}"
    );
}

/// As [`a_person_folder_that_cannot_be_read_is_said_so_and_left_out`], for any user: a file
/// where a person's folder of images should be cannot be listed either, and is said so, with
/// the person left out of identify by name.
#[test]
fn a_person_folder_that_is_not_one_is_said_so_and_left_out() {
    let Some(data) = hostile::enrolled("hf-person-folder-file") else {
        return;
    };
    assert_eq!(code(&run(&data, &["user", "add", "Ann"])), Some(0));
    let theirs = data.join("users/Ann/verification");
    let _ = std::fs::remove_dir(&theirs);
    std::fs::write(&theirs, "not a folder").unwrap();
    let listed = run(&data, &["user", "list"]);
    let said = text(&listed);
    assert_eq!(code(&listed), Some(0), "{said}");
    assert!(
        said.contains("Ann's images cannot be read") && said.contains("Not a directory"),
        "{said}"
    );
    let photo = data.parent().unwrap().join("photos/c.png");
    let identified = run(&data, &["identify", s(&photo)]);
    identified_beside_ann(&identified, "a person folder that is a file");
}
