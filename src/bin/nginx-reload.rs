fn main() -> std::process::ExitCode {
    vipkit::cli::nginx_reload::main()
}
