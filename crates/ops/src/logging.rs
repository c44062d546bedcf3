//! Log setup for `edgenet-relay` and `edgenet-node`: `EDGENET_LOG` chooses what is logged
//! (tracing's filter syntax: `info`, `debug`, `edgenet_relay=debug,info`; default `info`), and
//! `--log-format` how, to standard error: `text` for people (coloured on a terminal) or `json`,
//! one object per line with `timestamp`, `level`, `target` and `fields`, for log collectors.

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber; call once, first thing after parsing the command line.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EDGENET_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}
