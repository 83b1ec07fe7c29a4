fn main() -> std::process::ExitCode {
    vipkit::cli::vip_unbind::main()
}
