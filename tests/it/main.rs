//! vipkit's one integration-test binary. Each module tests one tool against the real kernel,
//! inside network namespaces built by `netns`.

mod capture;
mod netns;
mod nginx;
mod util;

mod classic;
mod decide;
mod docs;
mod garp;
mod httpcheck;
mod man;
mod nginx_reload;
mod supervisor;
mod supervisor_steady;
mod vip_bind;
mod vip_watch;
mod vip_watch_runtime;
