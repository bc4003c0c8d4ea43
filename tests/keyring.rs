//! The data key in a real Secret Service: gnome-keyring on a private D-Bus session, as on a
//! desktop. The key must live in the keyring (no key file), and a process that cannot reach the
//! keyring must neither make a new key nor lose the person: it verifies from the images.
//! Needs `dbus-run-session` and `gnome-keyring-daemon` (make setup installs them); skipped with a
//! notice where they are missing.

mod common;

use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_key_lives_in_the_keyring_and_is_not_replaced_without_it() {
    if !(have("dbus-run-session") && have("gnome-keyring-daemon")) {
        println!("NOTICE: dbus-run-session or gnome-keyring-daemon missing; keyring test skipped");
        return;
    }
    let home = common::temp_dir("keyring-home");
    let data = common::temp_dir("keyring-data");
    let bin = env!("CARGO_BIN_EXE_facegate");
    let photo = common::fixture("astronaut.png");
    // A fresh HOME gets a fresh login keyring, unlocked with a throw-away password.
    let script = format!(
        "echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n\
         set -e\n\
         '{bin}' --data-dir '{data}' user add Eileen\n\
         '{bin}' --data-dir '{data}' capture Eileen --kind verification '{photo}'\n\
         '{bin}' --data-dir '{data}' verify Eileen '{photo}'\n",
        data = common::s(&data),
        photo = common::s(&photo),
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env("HOME", &home)
        .env(facegate::runtime::MODELS_ENV, common::models_dir())
        .env_remove(facegate::store::secret::NO_KEYRING_ENV)
        .output()
        .expect("run dbus-run-session");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "enrol and verify inside the session");
    assert!(stdout.contains("ACCEPTED: Eileen"));
    let origin = std::fs::read_to_string(data.join("secret.toml")).unwrap();
    println!("secret.toml: {origin}");
    assert!(origin.contains("keyring"), "the key went to the keyring");
    assert!(
        !data.join("secret.key").exists(),
        "no key file when a keyring answers"
    );

    // Outside the session the keyring does not answer: the cache is off, said so, and the person
    // still verifies from their images; no second key appears.
    let out = common::facegate_command()
        .args(["--data-dir", common::s(&data), "verify", "Eileen"])
        .arg(&photo)
        .env("HOME", &home)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove(facegate::store::secret::NO_KEYRING_ENV)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success());
    assert!(
        stderr.contains("does not answer here"),
        "the user is told why"
    );
    assert!(!data.join("secret.key").exists(), "no new key was made");
}
