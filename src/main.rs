fn main() -> std::process::ExitCode {
    // A CLI's output is often piped into `head` or `grep -q`, which close the pipe early. Rust
    // ignores SIGPIPE, so the next println! would panic with "Broken pipe"; restoring the default
    // ends the process quietly instead, as other command-line tools do.
    // SAFETY: called first in main, before any thread exists; SIG_DFL is always a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // As root, the cache folders are root's own, whoever's HOME came along (`sudo -E`): ONNX
    // Runtime writes and chmods files under them, following links (facegate::runtime::root_home).
    if rustix::process::geteuid().is_root() {
        let home = facegate::runtime::root_home().unwrap_or_else(|| "/root".into());
        // SAFETY: still first in main, before any thread exists that could read the environment.
        unsafe {
            std::env::remove_var("XDG_CACHE_HOME");
            std::env::set_var("HOME", home);
        }
    }
    facegate::cli::main()
}
