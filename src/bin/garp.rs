fn main() -> std::process::ExitCode {
    vipkit::cli::garp::main()
}
