fn main() -> std::process::ExitCode {
    // A CLI's output is often piped into `head` or `grep -q`, which close the pipe early. Rust
    // ignores SIGPIPE, so the next println! would panic with "Broken pipe"; restoring the default
    // ends the process quietly instead, as other command-line tools do.
    // SAFETY: called first in main, before any thread exists; SIG_DFL is always a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // ONNX Runtime writes a device-id database under ~/.cache and a `.ses` file in $TMPDIR as
    // it loads, chmodding and following links there (red team S27-F5, N3); this variable stops
    // both. And as root, the folders found from the environment are root's own, whoever's
    // environment came along (`sudo -E`, an `env_keep`): a user's HOME, XDG folders or TMPDIR
    // would have root create files through that user's links, and their PATH choose the
    // ffmpeg a root daemon runs for a replay (sudo's own secure_path, for the same reason).
    let root = rustix::process::geteuid().is_root();
    let home = root.then(|| facegate::runtime::root_home().unwrap_or_else(|| "/root".into()));
    // SAFETY: still first in main, before any thread exists that could read the environment.
    unsafe {
        std::env::set_var("ORT_DISABLE_TELEMETRY", "1");
        if let Some(home) = home {
            std::env::set_var("HOME", home);
            std::env::set_var(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            );
            for var in [
                "XDG_CACHE_HOME",
                "XDG_DATA_HOME",
                "XDG_CONFIG_HOME",
                "TMPDIR",
            ] {
                std::env::remove_var(var);
            }
        }
    }
    facegate::cli::main()
}
