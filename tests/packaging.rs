//! The Debian package (`make deb`, cargo-deb's `[package.metadata.deb]` in Cargo.toml) carries
//! what the installed app loads: every model of the manifest but those it marks `unpackaged`
//! (w600k_mbf's non-commercial weights), and the ONNX Runtime library. Its list once missed the
//! second emotion network when the app started averaging two, so the installed app could not
//! start its attribute models.

use facegate::runtime::{Manifest, SYSTEM_MODELS_DIR};
use std::path::Path;

/// `(source, destination)` of each asset: cargo-deb's `[source, destination, mode]` arrays.
fn deb_assets() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let assets = cargo["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .expect("Cargo.toml has [package.metadata.deb] assets");
    assets
        .iter()
        .map(|a| {
            let a = a
                .as_array()
                .expect("each asset is [source, destination, mode]");
            (
                a[0].as_str().unwrap().to_owned(),
                a[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Whether a cargo-deb source (a path, or a `*` in its file name) names `path`.
fn covers(source: &str, path: &str) -> bool {
    match (source.rsplit_once('/'), path.rsplit_once('/')) {
        (Some((dir, pattern)), Some((path_dir, name))) if dir == path_dir => {
            match pattern.split_once('*') {
                Some((prefix, suffix)) => {
                    name.len() >= prefix.len() + suffix.len()
                        && name.starts_with(prefix)
                        && name.ends_with(suffix)
                }
                None => pattern == name,
            }
        }
        _ => false,
    }
}

#[test]
fn the_package_carries_every_model_and_the_runtime_where_the_app_looks() {
    let assets = deb_assets();
    let manifest = Manifest::builtin();
    let mut missing = Vec::new();
    for entry in manifest
        .model
        .iter()
        .chain(std::iter::once(&manifest.runtime))
    {
        let path = format!("models/{}", entry.file);
        let packaged = assets.iter().find(|(source, _)| covers(source, &path));
        match (packaged, &entry.unpackaged) {
            (Some((source, destination)), None) => {
                println!("{path:32} <- {source:28} -> /{destination}");
                assert_eq!(
                    format!("/{}", destination.trim_end_matches('/')),
                    SYSTEM_MODELS_DIR,
                    "{} must be installed where Models::locate looks",
                    entry.file
                );
            }
            (None, Some(why)) => println!("{path:32} left out: {why}"),
            (Some((source, _)), Some(why)) => {
                panic!("{source} packages {path}, which the manifest leaves out: {why}")
            }
            (None, None) => missing.push(entry.file.as_str()),
        }
    }
    assert!(
        missing.is_empty(),
        "the .deb would not carry {missing:?}: the installed app could not load them"
    );
}

#[test]
fn every_packaged_source_outside_target_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (source, _) in deb_assets() {
        if source.starts_with("target/") {
            continue; // built by `make deb` itself
        }
        let found = match source.rsplit_once('/') {
            Some((dir, pattern)) if pattern.contains('*') => std::fs::read_dir(root.join(dir))
                .unwrap()
                .filter_map(Result::ok)
                .any(|e| {
                    covers(
                        &source,
                        &format!("{dir}/{}", e.file_name().to_string_lossy()),
                    )
                }),
            _ => root.join(&source).is_file(),
        };
        assert!(
            found,
            "{source} is packaged but not in the tree (run `make setup`)"
        );
    }
}

#[test]
fn the_pattern_match_is_the_one_cargo_deb_makes_of_a_file_name() {
    assert!(covers("models/*.onnx", "models/emotion_fer_40.onnx"));
    assert!(!covers("models/*.onnx", "models/manifest.toml"));
    assert!(!covers("models/*.onnx", "models/trained/age_utk.onnx"));
    assert!(covers("models/manifest.toml", "models/manifest.toml"));
    assert!(!covers("models/age-v1.onnx", "models/age_utk.onnx"));
}

#[test]
fn the_package_carries_the_demo_photo_where_the_window_looks() {
    // Without it, and without a camera, the installed window opened on an empty feed.
    let (source, destination) = deb_assets()
        .into_iter()
        .find(|(source, _)| source.ends_with("/astronaut.png"))
        .expect("the demo photo is packaged");
    let installed = format!("/{}astronaut.png", destination);
    println!("{source} -> {installed}");
    assert_eq!(installed, facegate::gui::SYSTEM_DEMO_PHOTO);
}

/// The libraries the binary opens at run time (the window's: winit and glutin `dlopen` them, so
/// cargo-deb's `$auto`, which reads what is linked, never lists them) are each provided by a
/// package the .deb depends on or recommends. The names are read from the built binary: a new
/// one (a crate upgrade that opens another library) fails here until it is packaged.
#[test]
fn the_package_depends_on_the_libraries_the_window_opens() {
    // soname → the Debian package that ships it; `None`: linked (so `$auto`) or shipped.
    let provided_by = |soname: &str| -> Option<Option<&str>> {
        if soname.starts_with("libonnxruntime.so.") {
            return Some(None); // in the package, usr/lib/facegate/models
        }
        Some(match soname {
            "libc.so.6" | "libm.so.6" | "libgcc_s.so.1" => None,
            // Linked when named (so in `$auto`).
            "libpam.so.0" => None,
            "libEGL.so.1" => Some("libegl1"),
            "libGL.so.1" => Some("libgl1"),
            "libX11.so.6" => Some("libx11-6"),
            "libX11-xcb.so.1" => Some("libx11-xcb1"),
            "libxcb.so.1" => Some("libxcb1"),
            "libXcursor.so.1" => Some("libxcursor1"),
            "libXi.so.6" => Some("libxi6"),
            "libXrender.so.1" => Some("libxrender1"),
            "libxkbcommon.so.0" => Some("libxkbcommon0"),
            "libxkbcommon-x11.so.0" => Some("libxkbcommon-x11-0"),
            "libwayland-client.so.0" => Some("libwayland-client0"),
            "libwayland-egl.so.1" => Some("libwayland-egl1"),
            "libdbus-1.so.3" => Some("libdbus-1-3"),
            // eframe's system font fallback (names in scripts egui's own fonts lack).
            "libfontconfig.so.1" => Some("libfontconfig1"),
            _ => return None,
        })
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let deb = &cargo["package"]["metadata"]["deb"];
    let listed: Vec<String> = ["depends", "recommends"]
        .iter()
        .flat_map(|key| deb[*key].as_str().unwrap().split(','))
        .map(|p| p.trim().to_owned())
        .collect();
    let binary = std::fs::read(env!("CARGO_BIN_EXE_facegate")).unwrap();
    let sonames = sonames_in(&binary);
    println!("sonames in the binary: {sonames:?}");
    assert!(
        sonames.iter().any(|s| s == "libX11.so.6"),
        "the scan finds the window's libraries"
    );
    // Names in scripts egui's own fonts lack are drawn with system fonts, found through
    // fontconfig (eframe's `system_fonts`): tests/gui.rs checks the provider, this that the
    // window has it.
    assert!(
        sonames.iter().any(|s| s == "libfontconfig.so.1"),
        "the window has no system font fallback"
    );
    for soname in &sonames {
        match provided_by(soname) {
            None => panic!("{soname}: opened by the binary, but no package is known for it"),
            Some(Some(package)) => assert!(
                listed.iter().any(|l| l == package),
                "{soname} comes from {package}, which the .deb does not depend on or recommend"
            ),
            Some(None) => {}
        }
    }
}

/// `libNAME.so.N[.M...]` strings in `bytes`.
fn sonames_in(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found: Vec<String> = text
        .match_indices("lib")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let name_end = rest.find(".so.")?;
            let name = &rest[3..name_end];
            // Symbol names run into the soname in the string table ("…NestedListlibXi.so.6"):
            // the last "lib" starts it, and is met on its own too.
            if name.is_empty()
                || name.contains("lib")
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
            {
                return None;
            }
            let version: String = rest[name_end + 4..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let version = version.trim_end_matches('.');
            (!version.is_empty()).then(|| format!("lib{name}.so.{version}"))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}
