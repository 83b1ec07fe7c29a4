//! `vip-watch`: the supervisor's senses in one process (see `vipkit::cli::vip_watch`).
fn main() -> std::process::ExitCode {
    vipkit::cli::vip_watch::main()
}
