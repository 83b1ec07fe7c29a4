fn main() -> std::process::ExitCode {
    vipkit::cli::vip_bind::main()
}
