//! vipkit's one integration-test binary. Each module tests one tool against the real kernel,
//! inside network namespaces built by `netns`.

#[allow(dead_code)]
mod netns;
#[allow(dead_code)]
mod nginx;
#[allow(dead_code)]
mod util;

mod docs;
mod garp;
mod httpcheck;
mod nginx_reload;
mod supervisor;
mod vip_bind;
