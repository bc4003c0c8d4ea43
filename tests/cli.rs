//! The `facegate` binary as a user runs it: output and exit statuses.

mod common;

use std::process::Output;

use common::s;

#[test]
fn compare_exit_statuses() {
    let astro = common::fixture("astronaut.png");
    let dir = common::temp_dir("cli-compare");
    let mirrored = dir.join("mirrored.png");
    image::imageops::flip_horizontal(&image::open(&astro).unwrap().to_rgb8())
        .save(&mirrored)
        .unwrap();
    assert_eq!(
        facegate(&["compare", s(&astro), s(&mirrored)])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        facegate(&["compare", s(&astro), s(&common::fixture("camera.png"))])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        facegate(&["compare", s(&astro), s(&common::fixture("coffee.png"))])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        facegate(&["compare", s(&astro), "/nonexistent.jpg"])
            .status
            .code(),
        Some(2)
    );
    let out = facegate(&[
        "compare",
        "--model",
        "mbf",
        "--json",
        s(&astro),
        s(&mirrored),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("non-commercial"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["same_person"], true);
    assert!(json["similarity"].as_f64().unwrap() > 0.5);
}

#[test]
fn detect_json_and_draw() {
    let dir = common::temp_dir("cli-detect");
    let drawn = dir.join("drawn.png");
    let astro = common::fixture("astronaut.png");
    let out = facegate(&["detect", "--json", "--draw", s(&drawn), s(&astro)]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["faces"].as_array().unwrap().len(), 1);
    let drawn_img = image::open(&drawn).unwrap().to_rgb8();
    let original = image::open(&astro).unwrap().to_rgb8();
    let changed = drawn_img
        .pixels()
        .zip(original.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 300, "only {changed} pixels drawn");
    // A bad file among good ones: reported on stderr with the OS's reason (not mixed into the
    // results), the others still processed, exit 2.
    let out = facegate(&["detect", s(&astro), "/nonexistent.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    let (results, errors) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{results}{errors}");
    assert!(results.contains("1 face") && !results.contains("nonexistent"));
    assert!(
        errors.contains("/nonexistent.jpg: error:") && errors.contains("No such file"),
        "{errors}"
    );
}

#[test]
fn models_lists_licences_and_checks() {
    let out = facegate(&["models"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("non-commercial") && text.contains("Apache-2.0"));
    let out = facegate(&["--models", "/nonexistent", "models"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("make setup"));
    // A folder without the runtime: why, then its table of what it lacks (journey s37 #14).
    let empty = common::temp_dir("models-empty");
    let out = facegate(&["--models", s(&empty), "models"]);
    let (said, table) = (
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
    );
    println!("{said}{table}");
    assert_eq!(out.status.code(), Some(2));
    assert!(said.contains("no models folder holding the ONNX Runtime library"));
    assert!(table.contains("sface           PROBLEM"), "{table}");
}

/// The acceptance check of the pipeline issue, on deepface's photos.
#[test]
fn compare_on_deepface_photos() {
    let Some(data) = common::shared_data("CLI compare") else {
        return;
    };
    let ds = data.join("deepface/tests/unit/dataset");
    let same = facegate(&["compare", s(&ds.join("img1.jpg")), s(&ds.join("img2.jpg"))]);
    assert_eq!(same.status.code(), Some(0));
    let diff = facegate(&["compare", s(&ds.join("img1.jpg")), s(&ds.join("img3.jpg"))]);
    assert_eq!(diff.status.code(), Some(1));
}

/// A folder where a command takes one photo is said as that, with what the command takes; a
/// command that takes many is told how to give the photos in it (journey s38 #7: each was told
/// to give `DIR/*`, which the one-photo commands then refused).
#[test]
fn a_folder_for_one_photo_says_what_the_command_takes() {
    let dir = common::temp_dir("cli-folder-for-a-photo");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let photo = common::fixture("astronaut.png");
    let folder = s(&dir);
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["verify", "Ann", folder],
            "give one photo from it, or, if it holds the frames of one recording of them, \
             verify those as a live attempt (a failure counts toward the lock-out) with",
        ),
        (vec!["identify", folder], "give one photo from it"),
        (vec!["compare", s(&photo), folder], "give one photo from it"),
        (
            vec!["lookalike", folder, "--gallery", folder],
            "give one photo from it (the folder of identities goes with --gallery)",
        ),
    ];
    for (args, said) in cases {
        let out = common::facegate_at(&data, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        println!("{}: {err}", args[0]);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{folder} is a folder; {said}")) && !err.contains("/*"),
            "{err}"
        );
    }
    let out = common::facegate_at(&data, &["detect", folder]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("give the photos in it (`{folder}/*`)")),
        "{err}"
    );
}

/// A photo named `-lead.jpg` is read as options: said with the two ways to give it (clap's tip
/// said "use '-- -l'", which fails too; journey s37/s38 #10), and the first one works.
#[test]
fn a_file_named_like_an_option_is_said_how_to_give() {
    let dir = common::temp_dir("cli-dash-file");
    std::fs::copy(common::fixture("astronaut.png"), dir.join("-lead.png")).unwrap();
    let run = |args: &[&str]| {
        common::facegate_command()
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = run(&["detect", "-lead.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("-lead.png begins with '-', so it was read as options")
            && err.contains("`-- -lead.png`")
            && !err.contains("'-- -l'"),
        "{err}"
    );
    let out = run(&["detect", "--", "-lead.png"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An option after `--` is what was refused then, not the file (journey s39 #7).
    let out = run(&["verify", "Alice", "--", "-lead.png", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--json comes after `--`, where every word is read as a file")
            && !err.contains("begins with '-'"),
        "{err}"
    );
}

fn facegate(args: &[&str]) -> Output {
    common::run_facegate(args)
}

/// The unlock commands' errors say what failed where, once: a missing config was reported with
/// its OS error twice, `unlock test` with the daemon down said only "No such file or directory",
/// and `unlock remove` of someone not enrolled pointed at the desk's `user list`. Root only (the
/// config must be root's).
#[test]
fn unlock_command_errors_name_what_failed() {
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; the unlock commands' errors are not checked");
        return;
    }
    let dir = common::temp_dir("cli-unlock-errors");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "socket = \"{}\"\nstore = \"{}\"\n",
            s(&dir.join("none.sock")),
            s(&dir.join("store"))
        ),
    )
    .unwrap();
    let said = |args: &[&str]| {
        let out = facegate(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        println!("measured: facegate {}: {}", args.join(" "), err.trim());
        err
    };
    // The file named, with what to do ("cannot read /etc/facegate" named a folder; journey
    // s34): one given with --config is said to be that (it was told to give --config; journey
    // s36 #8).
    let missing = said(&["unlock", "list", "--config", "/nonexistent/config.toml"]);
    assert!(
        missing
            .contains("no system config at /nonexistent/config.toml (the file given with --config")
            && !missing.contains("package"),
        "{missing}"
    );
    // How to start it, for this config (journey s34: it named none).
    let down = said(&["unlock", "test", "root", "--config", s(&config)]);
    assert!(
        down.contains("none.sock")
            && down.contains(&format!("`sudo facegate daemon --config {}`", s(&config))),
        "{down}"
    );
    // Without USER, the account running it (it had to be typed; journey s38): asked as such.
    let own = said(&["unlock", "test", "--config", s(&config)]);
    assert!(own.contains("none.sock"), "{own}");
    let nobody = said(&["unlock", "remove", "nosuchuser", "--config", s(&config)]);
    assert!(nobody.contains("unlock list"), "{nobody}");
    // No record of attempts kept for that name: no --wipe offered for it (journey s36 #16).
    assert!(!nobody.contains("--wipe"), "{nobody}");
}

/// The daemon's socket path that cannot be one is refused, named, and with no advice to
/// chmod it first: a file there got "make it 0666" before "is not a socket", and a path too
/// long for a socket only "path must be shorter than SUN_LEN" (red team s42 R3).
#[test]
fn a_socket_path_that_cannot_be_one_is_named_without_chmod_advice() {
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; the daemon's socket errors are not checked");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = common::temp_dir("cli-daemon-socket-path");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let long = dir.join(format!("{}.sock", "x".repeat(120)));
    for (socket, says) in [
        (&file, "exists and is not a socket".to_owned()),
        (
            &long,
            format!(
                "cannot make the socket {}: path must be shorter than SUN_LEN (`socket =` in \
                 the config; a socket path holds at most 107 bytes)",
                long.display()
            ),
        ),
    ] {
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "socket = \"{}\"\nstore = \"{}\"\n",
                s(socket),
                s(&dir.join("store"))
            ),
        )
        .unwrap();
        let out = facegate(&["daemon", "--config", s(&config)]);
        let err = String::from_utf8_lossy(&out.stderr);
        println!(
            "measured: daemon, socket {}: {}",
            socket.display(),
            err.trim()
        );
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&says), "{err}");
        assert!(!err.contains("Make it 0666"), "{err}");
    }
}

/// A command a message suggests repeats the `--data-dir` and `--models` typed, quoted for the
/// shell, so that pasted it acts on the same store (it named the default one; quick re-check
/// s35); given by environment variable, they reach the pasted command anyway and are left out.
/// No models are needed: `user list` does not load them.
#[test]
fn suggested_commands_repeat_the_options_typed() {
    let dir = common::temp_dir("hint typed");
    let data = dir.join("data");
    let models = dir.join("models here");
    std::fs::create_dir_all(&models).unwrap();
    // There to begin with: `user list` makes no store where none is.
    std::fs::create_dir_all(&data).unwrap();
    let run = |args: &[&str], env_data: bool| {
        let mut cmd = common::facegate_command();
        cmd.env_remove("FACEGATE_DATA_DIR").args(args);
        if env_data {
            cmd.env("FACEGATE_DATA_DIR", &data);
        }
        let out = cmd.output().unwrap();
        print!("{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let typed = run(
        &[
            "user",
            "list",
            "--data-dir",
            s(&data),
            "--models",
            s(&models),
        ],
        false,
    );
    println!("typed: {typed}");
    assert!(
        typed.contains(&format!(
            "`facegate --data-dir '{}' --models '{}' user add NAME`",
            data.display(),
            models.display()
        )),
        "{typed}"
    );
    let from_env = run(&["user", "list"], true);
    println!("from the environment: {from_env}");
    assert!(from_env.contains("`facegate user add NAME`"), "{from_env}");
}

/// The window's `--replay`, `--camera` and `--turn` given before a command are refused, saying
/// where they go: `facegate --replay CLIP verify me` asked for an image, and `--replay` before
/// `detect` was ignored in silence (journey s36 #9). `--turn` needs `--replay`.
#[test]
fn the_windows_options_before_a_command_are_refused() {
    let data = common::temp_dir("window-options");
    for (args, said) in [
        (
            vec!["--replay", "clip.mp4", "verify", "me"],
            "before a command are the window's: put --replay after `verify`;",
        ),
        // Each named, and a command that has no use for one says so (journey s37 #15).
        (
            vec!["--camera", "0", "--replay", "c.mp4", "detect", "x.png"],
            "`detect` takes no --replay; `detect` takes no --camera;",
        ),
        (
            vec!["--camera", "0", "user", "list"],
            "`user list` takes no --camera;",
        ),
        (vec!["--turn", "left"], "--replay <VIDEO_OR_DIR>"),
    ] {
        let out = common::facegate_at(&data, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
}

/// The window with no display to open it on: a plain sentence and exit 2 (winit's error carried
/// a path into its source in the registry).
#[test]
fn the_window_without_a_display_says_so() {
    let data = common::temp_dir("no-display");
    let out = common::facegate_command()
        .args(["--data-dir", s(&data)])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    println!("{said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("no display to open the window on"), "{said}");
    assert!(!said.contains(".cargo"), "{said}");
}

/// The daemon's log lines carry their time when nothing else adds one (started by hand: its
/// log said nothing of when; journey s33), and not when its stderr is the journal's stream,
/// which a JOURNAL_STREAM naming another file does not make it (review s34).
#[test]
fn the_daemon_stamps_its_lines_unless_the_journal_does() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; the daemon (root only) is not started to read its log");
        return;
    }
    let dir = common::temp_dir("daemon-log-time");
    let log = dir.join("stderr.txt");
    let other = dir.join("other.txt");
    std::fs::write(&other, "").unwrap();
    let stream = |p: &std::path::Path| {
        let m = std::fs::metadata(p).unwrap();
        format!("{}:{}", m.dev(), m.ino())
    };
    for journal in [None, Some(&other), Some(&log)] {
        let file = std::fs::File::create(&log).unwrap();
        let mut command = common::facegate_command();
        command
            .args(["daemon", "--config", s(&dir.join("no-config.toml"))])
            .stderr(file)
            .env_remove("JOURNAL_STREAM");
        if let Some(p) = journal {
            command.env("JOURNAL_STREAM", stream(p));
        }
        let status = command.status().unwrap();
        let said = std::fs::read_to_string(&log).unwrap();
        println!("JOURNAL_STREAM naming {journal:?}: {status}\n{said}");
        assert_eq!(status.code(), Some(2), "{said}");
        // Every line, its nice and the refusal of the config alike.
        assert!(said.lines().count() >= 2, "{said}");
        for line in said.lines() {
            let stamped = line
                .split_once(' ')
                .is_some_and(|(time, _)| time.ends_with('Z') && time.contains('T'));
            assert_eq!(stamped, journal != Some(&log), "{line}");
        }
    }
}

/// Stopped (`systemctl stop`, Ctrl-C, `kill`), the daemon says so on its log and removes the
/// socket file it made: it stopped in silence and left the file behind (journey s35). The
/// folder it makes for the socket is 0755 under root's umask 002 (it was 0775, and refused on
/// every start; red team s36 F2), and a socket in a folder others can write, sticky or not, is
/// refused: once removed, its name could be taken (red team s36 F1), one systemd passes too (red
/// team s37 F2). A second daemon on the same store does not start (final read s36 #15).
#[test]
fn the_daemon_says_it_stops_and_removes_its_socket() {
    use std::io::{BufRead, BufReader};
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; the daemon (root only) is not started");
        return;
    }
    // It loads the models before it listens.
    if common::models_or_skip("the daemon's stop").is_none() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = common::temp_dir("daemon-stop");
    let config = dir.join("config.toml");
    let config_for = |socket: &std::path::Path| {
        let store = dir.join("store");
        let text = format!("store = \"{}\"\nsocket = \"{}\"\n", s(&store), s(socket));
        std::fs::write(&config, text).unwrap();
    };
    // Under umask 002, as root's shell may have it.
    let start = || {
        let mut cmd = common::facegate_command();
        cmd.args(["daemon", "--config", s(&config)])
            .stderr(std::process::Stdio::piped());
        // SAFETY: umask(2) alone, between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::umask(0o002);
                Ok(())
            })
        };
        cmd
    };
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    // A daemon that must refuse to start: its exit status and what it said.
    let refused = |cmd: &mut std::process::Command, case: &str| {
        let mut refused = cmd.spawn().unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = refused.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                refused.kill().unwrap();
                panic!("the daemon started with {case}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let mut why = String::new();
        std::io::Read::read_to_string(&mut refused.stderr.take().unwrap(), &mut why).unwrap();
        println!("{case}: {status} {why}");
        (status, why)
    };
    config_for(&shared.join("fg.sock"));
    let (status, why) = refused(&mut start(), "its socket in a sticky folder");
    assert_eq!(status.code(), Some(2), "{why}");
    assert!(
        why.contains("the socket's folder must be root's and writable by root alone"),
        "{why}"
    );
    assert!(
        why.contains(&format!(
            "{} is writable by group or others (mode 1777), so face unlock refuses it (it is a \
             shared folder: choose one only root writes, e.g. /run/facegate)",
            shared.display()
        )),
        "{why}"
    );
    // The same socket passed by systemd (facegate.socket listening in /tmp) is held to the
    // same rule: while the socket unit is stopped, another user could take its name (red team
    // s37 F2). `sh` gives the daemon the pid it will run as, for LISTEN_PID.
    let activated = |socket: &std::path::Path| {
        use std::os::fd::AsRawFd;
        config_for(socket);
        let passed = std::os::unix::net::UnixListener::bind(socket).unwrap();
        let fd = passed.as_raw_fd();
        let mut cmd = std::process::Command::new("sh");
        cmd.args([
            "-c",
            "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" daemon --config \"$1\"",
        ])
        .args([common::facegate_bin().as_os_str(), config.as_os_str()])
        .env(facegate::runtime::MODELS_ENV, common::models_dir())
        .stderr(std::process::Stdio::piped());
        // SAFETY: dup2(2) or fcntl(2) alone, between fork and exec: the listening socket as
        // fd 3, kept open across exec (dup2 onto itself would leave it close-on-exec).
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                let done = match fd {
                    3 => libc::fcntl(3, libc::F_SETFD, 0),
                    _ => libc::dup2(fd, 3) - 3,
                };
                match done {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            })
        };
        (passed, cmd)
    };
    let (passed, mut cmd) = activated(&shared.join("fg.sock"));
    let (status, why) = refused(&mut cmd, "a socket systemd passed in a sticky folder");
    drop(passed);
    assert_eq!(status.code(), Some(2), "{why}");
    assert!(
        why.contains("the socket's folder must be root's and writable by root alone"),
        "{why}"
    );
    // Nor under a folder another user owns, who could rename the socket's folder away (review
    // s37 #5: started, while the PAM module refused the socket).
    let theirs = dir.join("theirs");
    std::fs::create_dir_all(theirs.join("run")).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
    let (passed, mut cmd) = activated(&theirs.join("run/fg.sock"));
    let (status, why) = refused(
        &mut cmd,
        "a socket systemd passed below another user's folder",
    );
    drop(passed);
    assert_eq!(status.code(), Some(2), "{why}");
    assert!(why.contains("belongs to uid 65534, not root"), "{why}");
    // In a folder of root's alone it is served, and left for systemd when the daemon stops.
    let root_only = dir.join("activated");
    std::fs::create_dir(&root_only).unwrap();
    let (passed, mut cmd) = activated(&root_only.join("fg.sock"));
    let mut daemon = cmd.spawn().unwrap();
    drop(passed);
    let mut log = BufReader::new(daemon.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("listening on") {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            panic!("the socket-activated daemon ended: {said}");
        }
        said.push_str(&line);
    }
    // SAFETY: a plain kill(2) of the child this test started.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert!(daemon.wait().unwrap().success(), "{said}");
    println!("socket-activated: {said}");
    assert!(
        root_only.join("fg.sock").exists(),
        "systemd's socket was removed"
    );

    let socket = dir.join("run/fg.sock");
    config_for(&socket);
    let mut daemon = start().spawn().unwrap();
    let mut log = BufReader::new(daemon.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("listening on") {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            panic!("the daemon ended: {said}");
        }
        said.push_str(&line);
    }
    assert!(socket.exists(), "{said}");
    // A second daemon on the same store, on another socket, would end the first's running
    // attempts as killed (final read s36 #15).
    let other = dir.join("run/other.sock");
    let mut second = start();
    second.args(["--socket", s(&other)]);
    let (status, why) = refused(&mut second, "a second daemon on the same store");
    assert_eq!(status.code(), Some(2), "{why}");
    assert!(why.contains("another daemon is serving the store"), "{why}");
    assert!(!other.exists(), "the second daemon bound its socket");
    // SAFETY: a plain kill(2) of the child this test started.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    std::io::Read::read_to_string(&mut log, &mut said).unwrap();
    println!("{status}\n{said}");
    assert!(status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "stopping on SIGTERM; removed {}",
            socket.display()
        )),
        "{said}"
    );
    assert!(!socket.exists(), "the socket file is left");
    let made = std::fs::metadata(dir.join("run"))
        .unwrap()
        .permissions()
        .mode();
    println!(
        "the socket's folder, made under umask 002: {:o}",
        made & 0o7777
    );
    assert_eq!(made & 0o7777, 0o755);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data dir named that is not there: a command that only reads who is enrolled refuses and
/// makes nothing (a mistyped folder got a new, empty store, and root's stray one landed in the
/// shared data; journey s40 #14); one that needs only settings uses the defaults and makes
/// nothing; one that saves makes it, and says so once (it did so in silence; journey s39 #13).
#[test]
fn a_data_dir_not_there_is_made_only_by_a_command_that_saves() {
    let data = common::temp_dir("cli-new-data-dir").join("typo");
    let said = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    for args in [
        &["user", "list"][..],
        &["user", "show", "Eileen"],
        &["negatives", "list"],
        &["identify", common::s(&common::fixture("astronaut.png"))],
        &[
            "verify",
            "Eileen",
            common::s(&common::fixture("astronaut.png")),
        ],
        &[
            "capture",
            "Eileen",
            common::s(&common::fixture("astronaut.png")),
        ],
        &[
            "compare",
            common::s(&common::fixture("astronaut.png")),
            common::s(&common::fixture("astronaut.png")),
            "--person",
            "Eileen",
        ],
    ] {
        let out = common::facegate_at(&data, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            said(&out).contains(&format!(
                "{} does not exist, so no store is there (nobody is enrolled in it), and nothing \
                 was made",
                data.display()
            )),
            "{}",
            said(&out)
        );
        assert!(!data.exists(), "{args:?} made it");
    }
    let astro = common::fixture("astronaut.png");
    let out = common::facegate_at(&data, &["compare", common::s(&astro), common::s(&astro)]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("does not exist: the default settings are used"),
        "{}",
        said(&out)
    );
    assert!(!data.exists(), "compare made it");

    let first = common::facegate_at(&data, &["user", "add", "Eileen"]);
    assert!(
        said(&first).contains(&format!(
            "{} did not exist, so a new, empty store was made there",
            data.display()
        )),
        "{}",
        said(&first)
    );
    let again = common::facegate_at(&data, &["user", "list"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(!said(&again).contains("did not exist"));
}

/// Root's enrolment reads at most 100 photos at once, counted before any is read: each costs a
/// decode of up to 512 MiB, and a folder of thousands held root for hours (red team s39).
#[test]
fn an_unlock_enrolment_of_too_many_photos_is_refused_before_reading() {
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; skipping the enrolment batch limit");
        return;
    }
    let dir = common::temp_dir("cli-enrol-batch");
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for i in 0..101 {
        // Not photos at all: a read of any would refuse it as unreadable, not as too many.
        std::fs::write(photos.join(format!("{i}.png")), b"").unwrap();
    }
    let config = common::system_config(&dir, &dir.join("store"));
    let out = common::unlock_enrol(&config, "nobody", &[&photos], &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("101 photos given; an account is enrolled from at most 100 at once"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One enrolment at a time on a store: a second, begun while the first ran, was told the
/// enrolment "does not record which account it was made for" and to `unlock remove` it, which
/// would have removed the first's while it ran (red team s41 F3). Now it is told to wait, and
/// touches nothing.
#[test]
fn a_second_enrolment_while_one_runs_is_told_to_wait() {
    if !rustix::process::geteuid().is_root() {
        println!("NOTICE: not root; skipping the enrolment lock");
        return;
    }
    if common::models_or_skip("enrol lock").is_none() {
        return;
    }
    let dir = common::temp_dir("cli-enrol-lock");
    let photos = common::astronaut_photos(&dir.join("photos"));
    let store = dir.join("store");
    let config = common::system_config(&dir, &store);
    // The store as a running enrolment holds it.
    let running = facegate::store::Store::open_owned(&store, facegate::store::Owner::Root).unwrap();
    let held = running
        .hold_for_enrolment()
        .unwrap()
        .expect("no enrolment runs yet");
    let out = common::unlock_enrol(&config, "nobody", &[&photos], &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("another `unlock enrol` is running on the store"),
        "{said}"
    );
    assert!(!store.join("users/nobody").exists(), "nothing was added");
    drop(held);
    let out = common::unlock_enrol(&config, "nobody", &[&photos], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
