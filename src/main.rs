fn main() -> std::process::ExitCode {
    // A CLI's output is often piped into `head` or `grep -q`, which close the pipe early. Rust
    // ignores SIGPIPE, so the next println! would panic with "Broken pipe"; restoring the default
    // ends the process quietly instead, as other command-line tools do.
    // SAFETY: called first in main, before any thread exists; SIG_DFL is always a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    facegate::cli::main()
}
