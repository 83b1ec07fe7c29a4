//! One module per tool: its clap definition, its legacy grammar, and `main`.

pub mod garp;
pub mod httpcheck;
pub mod nginx_reload;
pub mod vip_bind;
pub mod vip_unbind;
