//! Missing and corrupt models are clear errors that name the file and say how to fix it.

mod common;

use facegate::runtime::{ModelError, Models};
use facegate::vision::{Detector, DetectorConfig};

/// A models folder whose files link to the real ones except `broken`, written as `content`.
fn models_with(tag: &str, broken: &str, content: Option<&[u8]>) -> std::path::PathBuf {
    let real = common::models().dir().to_owned();
    let dir = common::temp_dir(tag);
    for entry in std::fs::read_dir(&real).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != broken {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    if let Some(bytes) = content {
        std::fs::write(dir.join(broken), bytes).unwrap();
    }
    dir
}

#[test]
fn missing_model_names_the_file_and_make_setup() {
    let dir = models_with("missing", "yunet_2023mar_dyn.onnx", None);
    let models = Models::locate(Some(&dir)).unwrap();
    let err = Detector::new(&models, DetectorConfig::default())
        .err()
        .unwrap();
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains("yunet_2023mar_dyn.onnx") && msg.contains("make setup"),
        "{msg}"
    );
}

/// The mbf embedder, which a package leaves out (its weights are not redistributed), chosen
/// and absent: the error says why it is absent and what else to do, not only `make setup`,
/// which a package's user does not have.
#[test]
fn a_model_the_package_leaves_out_says_why_and_what_to_do() {
    let dir = models_with("unpackaged", "w600k_mbf.onnx", None);
    let models = Models::locate(Some(&dir)).unwrap();
    let err = models.verified_bytes("mbf").err().unwrap();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, ModelError::NotInstalled { .. }), "{err:?}");
    assert!(
        msg.contains("not redistributed") && msg.contains("choose another model"),
        "{msg}"
    );
}

#[test]
fn corrupt_model_is_refused_by_checksum() {
    let dir = models_with(
        "corrupt",
        "yunet_2023mar_dyn.onnx",
        Some(b"not an onnx model"),
    );
    let models = Models::locate(Some(&dir)).unwrap();
    let err = Detector::new(&models, DetectorConfig::default())
        .err()
        .unwrap();
    println!("{err}");
    assert!(
        matches!(err, facegate::Error::Model(ModelError::Corrupt { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("make setup"));
    let bad: Vec<_> = models
        .status()
        .into_iter()
        .filter(|s| !s.ok)
        .map(|s| s.id)
        .collect();
    assert_eq!(bad, vec!["yunet".to_string()]);
}

#[test]
fn empty_folder_is_not_a_models_folder() {
    let dir = common::temp_dir("nomodels");
    let err = Models::locate(Some(&dir)).unwrap_err();
    println!("{err}");
    assert!(matches!(err, ModelError::NoModelsDir(_)));
    assert!(err.to_string().contains("make setup"));
}

#[test]
fn every_manifest_file_checks_out_after_setup() {
    for s in common::models().status() {
        println!("{:<10} {:<5} {}", s.id, s.ok, s.licence);
        assert!(s.ok, "{}: {:?}", s.id, s.problem);
    }
}
