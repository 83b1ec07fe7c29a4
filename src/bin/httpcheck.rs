fn main() -> std::process::ExitCode {
    vipkit::cli::httpcheck::main()
}
