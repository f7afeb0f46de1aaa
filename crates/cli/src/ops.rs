//! What every `… serve` (and `hanko up`) shares for operations: the log format and who may read
//! `/metrics`. Flatten [`ServeOps`] into a command's arguments and call [`init_logs`] first.

use clap::{Args, ValueEnum};

/// The operations options of a serving command.
#[derive(Args, Clone, Debug)]
pub(crate) struct ServeOps {
    /// Log format on stderr: text (for a person) or json (one object a line, for a log
    /// collector). Each HTTP request runs in a `request` span (method, route template); its
    /// status and latency are logged at debug level (5xx at warn): RUST_LOG=info,hanko::http=debug
    /// shows every request. RUST_LOG filters as usual [default filter: info].
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// Serve GET /metrics (Prometheus) without a key. By default it needs the service's admin
    /// key (the authority: an operator key) as a Bearer token — in Prometheus,
    /// `authorization: {credentials_file: …}` in the scrape config. Only for a scraper on loopback
    /// or a private network: the counts are business data.
    #[arg(long)]
    pub(crate) public_metrics: bool,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line (timestamp, level, target, fields, the current span).
    Json,
}

/// Starts logging to stderr in `format`, filtered by RUST_LOG (default `info`). A second call
/// (two services in one process) keeps the first subscriber.
pub(crate) fn init_logs(format: LogFormat) {
    init_logs_at(format, "info")
}

/// [`init_logs`] with another default filter (`hanko up` prints its own summary: warnings only).
pub(crate) fn init_logs_at(format: LogFormat, default: &str) {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter()).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}
