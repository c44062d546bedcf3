//! What both binaries offer the people who run them: [`logging`] (what is logged and in which
//! format) and [`service`] (a systemd unit that runs the binary with the usual hardening).

pub mod logging;
pub mod service;
