fn main() -> std::process::ExitCode {
    facegate::cli::main()
}
