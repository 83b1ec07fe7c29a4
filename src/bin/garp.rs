//! `garp`: gratuitous and gateway-aimed ARP, IPv6 NA, duplicate probe (see `vipkit::cli::garp`).
fn main() -> std::process::ExitCode {
    vipkit::cli::garp::main()
}
