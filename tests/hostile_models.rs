//! A binary finds its models at run time (beside itself, `$FACEGATE_MODELS`, `--models`, the
//! installed location), never in the source tree it was built from; and a model whose bytes differ
//! from the manifest is refused by name, whoever changed it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use facegate::runtime::{MODELS_ENV, ModelError, Models, SYSTEM_MODELS_DIR};

/// `facegate` hard-linked (else copied) into `<tag>/bin/`, away from target/ and the source tree.
fn lone_binary(tag: &str) -> PathBuf {
    let bin_dir = common::temp_dir(tag).join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let exe = bin_dir.join("facegate");
    let built = env!("CARGO_BIN_EXE_facegate");
    if std::fs::hard_link(built, &exe).is_err() {
        std::fs::copy(built, &exe).unwrap();
    }
    exe
}

/// Runs `exe` with `$FACEGATE_MODELS` unset, from `/` (no relative path can reach the repo), and
/// prints what a user would see.
fn run_alone(exe: &Path, args: &[&str]) -> Output {
    let out = std::process::Command::new(exe)
        .args(args)
        .env_remove(MODELS_ENV)
        .current_dir("/")
        .output()
        .expect("run the copied facegate");
    println!(
        "$ {} {}\n-> {:?}\n{}{}",
        exe.display(),
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `dir` populated with links to every file of the real models folder.
fn link_models(real: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(real).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn copied_binary_does_not_reach_into_the_source_tree() {
    let Some(models) = common::models_or_skip("hostile models") else {
        return;
    };
    if Path::new(SYSTEM_MODELS_DIR).exists() {
        println!(
            "NOTICE: {SYSTEM_MODELS_DIR} exists here; a lone binary rightly finds it, skipping"
        );
        return;
    }
    let exe = lone_binary("lone-bin");
    let out = run_alone(&exe, &["models"]);
    let said = text(&out);
    let beside = exe.parent().unwrap().join("models");
    println!(
        "measured: exit {:?}; names {} {}; names the source tree's {} {}",
        out.status.code(),
        beside.display(),
        said.contains(&*beside.to_string_lossy()),
        models.dir().display(),
        said.contains(&*models.dir().to_string_lossy()),
    );
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("no models folder holding the ONNX Runtime library (libonnxruntime.so) found (looked in: "),
        "{said}"
    );
    for place in [beside.as_path(), Path::new(SYSTEM_MODELS_DIR)] {
        assert!(said.contains(&*place.to_string_lossy()), "lists {place:?}");
    }
    assert!(
        !said.contains(&*models.dir().to_string_lossy()),
        "the source tree's models were used"
    );
}

#[test]
fn models_beside_the_copied_binary_are_found_and_load() {
    let Some(models) = common::models_or_skip("hostile models") else {
        return;
    };
    let exe = lone_binary("beside-bin");
    let beside = exe.parent().unwrap().join("models");
    link_models(models.dir(), &beside);
    let out = run_alone(&exe, &["models"]);
    let said = text(&out);
    println!(
        "measured: exit {:?}; folder reported {}",
        out.status.code(),
        said.contains(&format!("models folder: {}", beside.display()))
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(&format!("models folder: {}", beside.display())));

    // Loading for real: the runtime through the descriptor it was hashed from, the detector from
    // the checked bytes.
    let photo = common::fixture("astronaut.png");
    let out = run_alone(&exe, &["detect", "--json", common::s(&photo)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("measured: detect on the lone binary's models: {report}");
    assert!(report.to_string().contains("score"), "a face was found");

    // `--models` and `$FACEGATE_MODELS` name one folder, and only that one.
    let empty = common::temp_dir("beside-empty");
    let out = run_alone(&exe, &["--models", common::s(&empty), "models"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains(&format!("(looked in: {});", empty.display())));
}

/// A models folder of links to the real files, except `name`, which is a real copy.
fn models_with_copy_of(tag: &str, real: &Path, name: &str) -> PathBuf {
    let dir = common::temp_dir(tag);
    for entry in std::fs::read_dir(real).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == name {
            std::fs::copy(entry.path(), dir.join(name)).unwrap();
        } else {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    dir
}

#[test]
fn altered_model_is_refused_by_name() {
    let Some(models) = common::models_or_skip("hostile models") else {
        return;
    };
    let name = "yunet_2023mar_dyn.onnx";
    let dir = models_with_copy_of("altered", models.dir(), name);

    // In process: the model loads once, then is swapped for altered bytes (written beside it and
    // renamed over it, as an attacker would). The next session must check what it loads, not
    // remember that this path was fine before.
    let located = Models::locate(Some(&dir)).unwrap();
    located.session("yunet").expect("the untouched copy loads");
    let mut bytes = std::fs::read(dir.join(name)).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(dir.join("swap.tmp"), &bytes).unwrap();
    std::fs::rename(dir.join("swap.tmp"), dir.join(name)).unwrap();
    println!("flipped one bit at byte {at} of {} in {name}", bytes.len());
    let err = located.session("yunet").unwrap_err();
    println!("session(\"yunet\") after the swap: {err}");
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");

    // As a user sees it, through $FACEGATE_MODELS.
    let photo = common::fixture("astronaut.png");
    for args in [&["models"][..], &["detect", common::s(&photo)]] {
        let out = common::facegate_command()
            .args(args)
            .env(MODELS_ENV, &dir)
            .output()
            .unwrap();
        let said = text(&out);
        println!(
            "$ FACEGATE_MODELS={} facegate {}\n-> {:?}\n{said}",
            dir.display(),
            args.join(" "),
            out.status.code()
        );
        assert_eq!(out.status.code(), Some(2), "{said}");
        let line = said
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} is named: {said}"));
        assert!(
            line.contains("corrupt") && line.contains("run `make setup`"),
            "{line}"
        );
    }
}

#[test]
fn fifo_in_place_of_a_model_is_refused_without_hanging() {
    let Some(models) = common::models_or_skip("hostile models") else {
        return;
    };
    let name = "gender-v1.onnx";
    let dir = models_with_copy_of("fifo", models.dir(), name);
    std::fs::remove_file(dir.join(name)).unwrap();
    let c = std::ffi::CString::new(common::s(&dir.join(name))).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    let started = std::time::Instant::now();
    let mut child = common::facegate_command()
        .args(["--models", common::s(&dir), "models"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening a FIFO for reading waits for a writer: a checker that opens before looking would
    // hang here for ever.
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    println!(
        "$ facegate --models {} models   ({name} is a FIFO)\n-> {:?} after {:.2} s\n{said}",
        dir.display(),
        out.status.code(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(2), "{said}");
    let line = said.lines().find(|l| l.contains(name)).unwrap();
    assert!(
        line.contains("not a regular file") && line.contains("run `make setup`"),
        "{line}"
    );

    // The ONNX Runtime library as a FIFO: named as that, where "no models folder holding the
    // library found" sent the user looking for the folder they had just given.
    let runtime = "libonnxruntime.so";
    let dir = models_with_copy_of("fifo-runtime", models.dir(), runtime);
    std::fs::remove_file(dir.join(runtime)).unwrap();
    let c = std::ffi::CString::new(common::s(&dir.join(runtime))).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let photo = common::fixture("astronaut.png");
    let out = common::facegate_command()
        .args(["--models", common::s(&dir), "detect", common::s(&photo)])
        .output()
        .unwrap();
    let said = text(&out);
    println!("$ facegate --models DIR detect   ({runtime} is a FIFO)\n{said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains(runtime) && said.contains("not a regular file"),
        "{said}"
    );
}
