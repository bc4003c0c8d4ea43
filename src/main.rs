fn main() -> std::process::ExitCode {
    // A CLI's output is often piped into `head` or `grep -q`, which close the pipe early. Rust
    // ignores SIGPIPE, so the next println! would panic with "Broken pipe"; restoring the default
    // ends the process quietly instead, as other command-line tools do.
    // SAFETY: called first in main, before any thread exists; SIG_DFL is always a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // What the environment names is made safe before anything reads it: ONNX Runtime's
    // telemetry off, and as root, root's own folders and PATH (facegate::runtime::environment).
    let changes = facegate::runtime::environment::start_environment();
    // SAFETY: still first in main, before any thread exists that could read the environment.
    unsafe {
        for (var, value) in changes {
            match value {
                Some(value) => std::env::set_var(var, value),
                None => std::env::remove_var(var),
            }
        }
    }
    facegate::cli::main()
}
