//! Bad input to the lab commands (`bench`, `eval pairs|pad|attempts|liveness|attributes`): numbers
//! out of range, devices, pipes, folders and huge files given as images or CSVs, manifests with
//! nothing to measure. Each is refused with exit 2 and a message naming what was wrong, instead
//! of a panic, a hang, memory without end or NaN metrics (findings of a bad-input review).
//!
//! Every run is bounded: killed after [`DEADLINE`] or once it holds more than 2 GB, so
//! a regression fails the test instead of hanging the suite or the machine. None needs
//! ../shared/data: the images are the fixtures, the CSVs are written to a temporary folder.
#![cfg(feature = "lab")]

mod common;
mod hostile;

use std::path::Path;
use std::time::Duration;

use common::s;
use hostile::Timed;

/// Longest a refused run may take (a model load at most before the refusal).
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `facegate` with `args` on a store inside `data`, killed past [`DEADLINE`] or
/// [`hostile::MAX_RSS_KB`] (the test then fails saying which); it prints its exit code, time,
/// peak memory and output.
fn facegate(data: &Path, args: &[&str]) -> Timed {
    // The store in a folder of its own: FaceGate takes only an empty folder or a store, and
    // `data` holds the test's manifests.
    let mut command = hostile::facegate_cmd(&data.join("store"), args);
    command.env("FACEGATE_NO_KEYRING", "1");
    let ran = hostile::run_for(command, DEADLINE);
    if let Some(why) = &ran.killed {
        panic!("facegate {}: {why}; killed", args.join(" "));
    }
    ran
}

/// A stand-in for ../shared/data under `root` (its README makes `--data` accept it): the
/// folder, and where its FER2013 manifest goes, for the test to fill.
fn shared_data_folder(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = root.join("shared");
    std::fs::create_dir_all(data.join("fer2013")).unwrap();
    std::fs::write(data.join("README.md"), "test data\n").unwrap();
    let manifest = data.join("fer2013/emotion.csv");
    (data, manifest)
}

/// `eval attributes` on the emotion set of the shared-data folder `data`.
fn eval_emotion(root: &Path, data: &Path) -> Timed {
    facegate(
        root,
        &["eval", "attributes", "--data", s(data), "--datasets", "fer"],
    )
}

/// Exit 2, no panic, and a message holding every one of `words`.
fn refused(ran: &Timed, words: &[&str]) {
    assert_eq!(ran.code(), Some(2), "exit 2 expected\n{}", ran.stderr);
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    for word in words {
        assert!(ran.stderr.contains(word), "{word:?} not in\n{}", ran.stderr);
    }
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

/// A file of `len` bytes that takes no disk (a hole).
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Three photos of two identities (the parent folders) and a pair list over them: one impostor
/// pair and one genuine. The impostor pairs these images make: a/1–b/1 (listed) and a/1–b/2.
fn three_images(dir: &Path) -> std::path::PathBuf {
    for (from, to) in [
        ("astronaut.png", "ids/a/1.png"),
        ("camera.png", "ids/b/1.png"),
        ("coffee.png", "ids/b/2.png"),
    ] {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::fixture(from), to).unwrap();
    }
    let csv = dir.join("pairs.csv");
    std::fs::write(
        &csv,
        "path_a,path_b,same\nids/a/1.png,ids/b/1.png,0\nids/b/1.png,ids/b/2.png,1\n",
    )
    .unwrap();
    csv
}

/// Finding 1: `--live-seconds inf` (or 1e300) panicked making a Duration, NaN and -1 were
/// taken; `--runs 0` was quietly 1.
#[test]
fn bench_live_seconds_and_runs_are_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let astro = common::fixture("astronaut.png");
    for bad in ["inf", "1e300", "NaN", "-1", "3601"] {
        let live = format!("--live-seconds={bad}");
        let ran = facegate(
            dir.path(),
            &["bench", "--runs", "1", "--image", s(&astro), &live],
        );
        refused(&ran, &["--live-seconds", "from 0 to 3600"]);
    }
    for bad in ["0", "100001", "18446744073709551616"] {
        let ran = facegate(
            dir.path(),
            &[
                "bench",
                "--runs",
                bad,
                "--live-seconds",
                "0",
                "--image",
                s(&astro),
            ],
        );
        refused(&ran, &["--runs"]);
    }
}

/// Finding 2: `bench --image` read whatever it was given to its end: /dev/zero and an 8 GB
/// sparse file took all memory, a FIFO blocked forever, a folder gave an error without its path.
#[test]
fn bench_image_must_be_a_bounded_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("photo.fifo");
    mkfifo(&fifo);
    let huge = dir.path().join("huge.png");
    sparse(&huge, 8 << 30);
    let folder = dir.path().join("photos");
    std::fs::create_dir(&folder).unwrap();
    for (image, why) in [
        (Path::new("/dev/zero"), "not a regular file"),
        (&fifo, "not a regular file"),
        (&folder, "is a folder; give the photos in it"),
        (&huge, "images over 256 MB are refused"),
    ] {
        let ran = facegate(
            dir.path(),
            &[
                "bench",
                "--runs",
                "1",
                "--live-seconds",
                "0",
                "--image",
                s(image),
            ],
        );
        refused(&ran, &[s(image), why]);
    }
}

/// Finding 3: `--impostors 18446744073709551615` panicked (capacity overflow), 100000000 took
/// 9 GB, and three images "made" 1000 impostor pairs by repeating one ~1000 times.
#[test]
fn eval_pairs_impostors_are_bounded_and_each_pair_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = three_images(dir.path());
    for bad in ["18446744073709551615", "1000001", "-1"] {
        let impostors = format!("--impostors={bad}");
        let ran = facegate(dir.path(), &["eval", "pairs", s(&csv), &impostors]);
        refused(&ran, &["--impostors"]);
    }
    let ran = facegate(
        dir.path(),
        &["eval", "pairs", s(&csv), "--impostors", "1000", "--json"],
    );
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    println!(
        "pairs {}, impostors asked {}, added {}",
        report["pairs"], report["impostors_asked"], report["impostors_added"]
    );
    assert_eq!(
        report["pairs"], 3,
        "two listed and the one impostor pair left"
    );
    assert_eq!(report["impostors_asked"], 1000);
    assert_eq!(report["impostors_added"], 1);
    // The text report says so too.
    let ran = facegate(dir.path(), &["eval", "pairs", s(&csv), "--impostors", "5"]);
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    assert!(
        ran.stdout.contains("1 impostor pair added")
            && ran
                .stdout
                .contains("of 5 asked for: these images make no more distinct ones"),
        "{}",
        ran.stdout
    );
    // Photos all in one folder are one identity to --impostors: said so, not "add --impostors"
    // (journey s39 #12).
    let flat = dir.path().join("flat.csv");
    std::fs::write(
        &flat,
        "path_a,path_b,same
ids/b/1.png,ids/b/2.png,1
ids/b/2.png,ids/b/1.png,0
",
    )
    .unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&flat), "--impostors", "5"]);
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    assert!(
        ran.stdout.contains("0 impostor pairs added")
            && ran.stdout.contains("these images all lie in one")
            && !ran.stdout.contains("add --impostors"),
        "{}",
        ran.stdout
    );
    // A fold per row: each fold is scored against all the others, so 80,000 of them ran for
    // minutes; more than 100 are refused before any image is read.
    let mut rows = String::from("path_a,path_b,same,fold\n");
    for fold in 0..101 {
        rows.push_str(&format!("ids/a/1.png,ids/b/1.png,{},{fold}\n", fold % 2));
    }
    let folds = dir.path().join("folds.csv");
    std::fs::write(&folds, rows).unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&folds)]);
    refused(&ran, &["101 distinct folds", "at most 100"]);
}

/// Finding 4: the CSVs of `eval pairs`, `eval pad`, `eval attempts` and `eval attributes` were
/// read to their end whatever they were: /dev/zero took all memory, a FIFO blocked.
#[test]
fn eval_csvs_must_be_bounded_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("list.fifo");
    mkfifo(&fifo);
    let huge = dir.path().join("huge.csv");
    sparse(&huge, (64 << 20) + 1);
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let not_a_file = "not a regular file (a folder, device or pipe); give a CSV file";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["eval", "pairs", "/dev/zero"], not_a_file),
        (vec!["eval", "pairs", s(&fifo)], not_a_file),
        (vec!["eval", "pairs", s(&folder)], not_a_file),
        (
            vec!["eval", "pairs", s(&huge)],
            "CSV files over 64 MB are refused",
        ),
        (vec!["eval", "pad", "/dev/zero"], not_a_file),
        (vec!["eval", "pad", s(&fifo)], not_a_file),
        (
            vec!["eval", "pad", s(&huge)],
            "CSV files over 64 MB are refused",
        ),
        (vec!["eval", "attempts", "/dev/zero"], not_a_file),
        (vec!["eval", "attempts", s(&fifo)], not_a_file),
        (
            vec!["eval", "attempts", s(&huge)],
            "CSV files over 64 MB are refused",
        ),
    ];
    for (args, why) in &cases {
        let ran = facegate(dir.path(), args);
        refused(&ran, &[args[2], why]);
    }
    // eval attributes reads its manifests from the data folder: one that is /dev/zero.
    let (data, manifest) = shared_data_folder(dir.path());
    std::os::unix::fs::symlink("/dev/zero", manifest).unwrap();
    let ran = eval_emotion(dir.path(), &data);
    refused(&ran, &["emotion.csv", not_a_file]);
}

/// Finding 5: `eval attempts --enrol 4294967296` spun at 100 % CPU for longer the larger the
/// value; shares and the FAR/FRR targets took NaN, infinities and negatives.
#[test]
fn eval_attempts_enrol_shares_and_targets_are_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    three_images(dir.path());
    let source = dir.path().join("ids");
    let cases: &[(&str, &str)] = &[
        ("--enrol=4294967296", "--enrol"),
        ("--enrol=18446744073709551615", "--enrol"),
        ("--enrol=0", "--enrol"),
        ("--enrol=1001", "--enrol"),
        ("--shares=0.6,NaN", "--shares"),
        ("--shares=1.5", "--shares"),
        ("--shares=-0.1", "--shares"),
        ("--far=inf", "--far"),
        ("--far=-0.1", "--far"),
        ("--far=NaN", "--far"),
        ("--frr=NaN", "--frr"),
        ("--frr=2", "--frr"),
        // Huge values walked that many frames per impostor attempt.
        ("--live-k=0", "--live-k"),
        ("--live-k=18446744073709551615", "--live-k"),
        ("--live-n=31", "--live-n"),
    ];
    for (option, name) in cases {
        let ran = facegate(dir.path(), &["eval", "attempts", s(&source), option]);
        refused(&ran, &[name]);
    }
    // Nobody with more photos than --enrol: nothing to measure, refused (it printed 66 rows
    // of dashes and exited 0; journey s38 #4). Two photos of one person: --enrol 1 is said;
    // one photo each (the cameraman's face is too small, the mug has none): only more photos.
    let two = dir.path().join("two/a");
    std::fs::create_dir_all(&two).unwrap();
    let astronaut = image::open(common::fixture("astronaut.png")).unwrap();
    astronaut.save(two.join("1.png")).unwrap();
    astronaut.fliph().save(two.join("2.png")).unwrap();
    for (folder, lower) in [("two", true), ("ids", false)] {
        let folder = dir.path().join(folder);
        let ran = facegate(dir.path(), &["eval", "attempts", s(&folder)]);
        println!("{}", ran.stderr.trim());
        refused(&ran, &["nothing to measure", "give more photos per person"]);
        assert_eq!(
            ran.stderr.contains("lower --enrol (--enrol 1 at most)"),
            lower,
            "{}",
            ran.stderr
        );
    }
}

/// `eval pad --box-scale/--shift-y` were checked only after the models had loaded, and
/// `eval pairs --plot` into a pipe blocked after the whole evaluation.
#[test]
fn eval_pad_geometry_and_pairs_plot_are_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("pad.csv");
    std::fs::write(&csv, "path,label\n").unwrap();
    for (option, name) in [
        ("--box-scale=3", "--box-scale"),
        ("--box-scale=NaN", "--box-scale"),
        ("--shift-y=-0.7", "--shift-y"),
        ("--shift-y=inf", "--shift-y"),
    ] {
        let ran = facegate(dir.path(), &["eval", "pad", s(&csv), option]);
        refused(&ran, &[name, "invalid value"]);
    }
    let pairs = three_images(dir.path());
    let fifo = dir.path().join("plot.fifo");
    mkfifo(&fifo);
    for plot in [s(&fifo), "/dev/null", s(dir.path())] {
        let ran = facegate(dir.path(), &["eval", "pairs", s(&pairs), "--plot", plot]);
        refused(&ran, &["--plot", "not a regular file"]);
    }
    // A link loop cannot be written either; it used to pass as "nothing there yet".
    let (a, b) = (dir.path().join("loop-a.png"), dir.path().join("loop-b.png"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&pairs), "--plot", s(&a)]);
    refused(&ran, &["--plot", "cannot write", "symbolic links"]);
    // Nor over what it reads: a photo of the manifest, or the manifest through a link (each
    // was replaced by the plot).
    let photo = dir.path().join("ids/b/2.png");
    let link = dir.path().join("plot.png");
    std::os::unix::fs::symlink(&pairs, &link).unwrap();
    let manifest = std::fs::read(&pairs).unwrap();
    let picture = std::fs::read(&photo).unwrap();
    for plot in [&photo, &link] {
        let ran = facegate(dir.path(), &["eval", "pairs", s(&pairs), "--plot", s(plot)]);
        refused(&ran, &["--plot", "would be written over the input"]);
    }
    assert_eq!(std::fs::read(&pairs).unwrap(), manifest);
    assert_eq!(std::fs::read(&photo).unwrap(), picture);
}

/// An image output in a folder that is not there, or named with no image format, failed only
/// after the work, the first as a bare "No such file or directory" (red team s30 #9).
#[test]
fn image_outputs_are_checked_for_their_folder_and_format_first() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = three_images(dir.path());
    let missing = dir.path().join("no/such/out.png");
    let text = dir.path().join("out.txt");
    for (out, words) in [
        (&missing, ["the folder", "does not exist"]),
        (&text, ["out.txt", "image format"]),
    ] {
        let ran = facegate(dir.path(), &["eval", "pairs", s(&pairs), "--plot", s(out)]);
        refused(&ran, &["--plot", words[0], words[1]]);
        let photo = dir.path().join("ids/a/1.png");
        let ran = facegate(dir.path(), &["detect", s(&photo), "--draw", s(out)]);
        refused(&ran, &["--draw", words[0], words[1]]);
        assert!(!out.exists());
    }
}

/// Finding 6: `eval liveness --window NaN/0/-1` was taken and reported "0 of 0 windows".
#[test]
fn eval_liveness_window_must_be_positive_and_finite() {
    let dir = tempfile::tempdir().unwrap();
    // Not the shared data: before the window is checked this stops the command anyway, with
    // another message.
    let data = s(dir.path());
    for bad in ["NaN", "0", "-1", "inf", "61", "x"] {
        let window = format!("--window={bad}");
        let ran = facegate(dir.path(), &["eval", "liveness", "--data", data, &window]);
        refused(&ran, &["--window"]);
    }
    // Positive, but too short for two frames of a presentation.
    let ran = facegate(
        dir.path(),
        &["eval", "liveness", "--data", data, "--window", "0.01"],
    );
    refused(&ran, &["--window 0.01 s is too short"]);
}

/// Finding 7: `eval pairs` on a header-only CSV (or a folder) and `eval attributes --limit 0`
/// exited 0 with NaN metrics.
#[test]
fn nothing_to_measure_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "path_a,path_b,same\n").unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&header_only)]);
    refused(&ran, &["has no pairs", "nothing to measure"]);
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&empty)]);
    refused(&ran, &["has no pairs (it is empty)", "nothing to measure"]);
    // Pairs of one kind only: no ROC, no EER.
    let genuine = dir.path().join("genuine.csv");
    std::fs::write(&genuine, "path_a,path_b,same\na/1.png,a/2.png,1\n").unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&genuine)]);
    refused(
        &ran,
        &["1 genuine and 0 impostor pairs", "nothing to measure"],
    );
    let ran = facegate(dir.path(), &["eval", "pairs", s(&genuine), "--limit", "0"]);
    refused(&ran, &["--limit"]);
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "path_a,path_b,same\na/1.png,b/1.png,7\n").unwrap();
    let ran = facegate(dir.path(), &["eval", "pairs", s(&odd)]);
    refused(&ran, &["row 2: same is \"7\"; give 1 (same person) or 0"]);
    // Words, or a negative number: the same message, not csv's "invalid digit found in
    // string" (journey s41 #5).
    for same in ["true", "-1"] {
        std::fs::write(
            &odd,
            format!("path_a,path_b,same\na/1.png,b/1.png,{same}\n"),
        )
        .unwrap();
        let ran = facegate(dir.path(), &["eval", "pairs", s(&odd)]);
        refused(&ran, &[&format!("row 2: same is \"{same}\"; give 1")]);
    }
    // Other columns: the ones it needs are named (journey s36 #16), with rows or without
    // (which was said to have "no rows under its path_a,path_b,same header"; s41 #5).
    let columns = dir.path().join("columns.csv");
    for text in ["a,b,c\n1,2,3\n", "a,b\n"] {
        std::fs::write(&columns, text).unwrap();
        let ran = facegate(dir.path(), &["eval", "pairs", s(&columns)]);
        refused(
            &ran,
            &[
                "has no path_a column (its header is `a,b",
                "must name path_a,path_b,same",
            ],
        );
    }

    let ran = facegate(dir.path(), &["eval", "attributes", "--limit", "0"]);
    refused(&ran, &["--limit"]);
    // A manifest with a header and no rows.
    let (data, manifest) = shared_data_folder(dir.path());
    std::fs::write(manifest, "path,emotion\n").unwrap();
    let ran = eval_emotion(dir.path(), &data);
    refused(&ran, &["emotion.csv has no rows", "nothing to measure"]);
    // eval pad's manifest, checked before any model loads.
    let pad = dir.path().join("pad.csv");
    std::fs::write(&pad, "path,label\n").unwrap();
    let ran = facegate(dir.path(), &["eval", "pad", s(&pad)]);
    refused(&ran, &["has no rows"]);
}

/// `--data` left at its default, run from a folder without `../shared/data`: the refusal names
/// the folder it looked in and both ways to give another (it said only "../shared/data is not
/// the shared data folder"; journey s40 #10).
#[test]
fn the_shared_data_default_is_said_where_it_was_looked_for() {
    let root = common::temp_dir("lab-no-shared-data");
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut command = hostile::facegate_cmd(&root.join("store"), &["eval", "liveness"]);
    command
        .current_dir(&elsewhere)
        .env_remove("FACEGATE_SHARED_DATA")
        .env("FACEGATE_NO_KEYRING", "1");
    let ran = hostile::run_for(command, DEADLINE);
    assert!(ran.killed.is_none());
    assert_eq!(ran.status.and_then(|s| s.code()), Some(2));
    let looked = elsewhere.join("../shared/data");
    assert!(
        ran.stderr.contains(&format!(
            "{} is not the shared data folder (no README.md); pass --data DIR or set \
             FACEGATE_SHARED_DATA",
            looked.display()
        )),
        "{}",
        ran.stderr
    );
}
