//! HTTP/1.1 health probe with a connect deadline and one hard total deadline.
//!
//! The classic loop ran `curl -o /dev/null -s -w %{http_code} URL` without a timeout, so one peer
//! that accepted connections and never answered froze failover forever. [`check`] replaces it:
//! one request over [`ureq`] 3 with our own resolver, connector and transport, so that
//!
//! - one total deadline covers DNS, connect, TLS, request, response headers and body; ureq's
//!   `timeout_global` enforces it inside the request, every socket read and write is bounded by
//!   what is left of it, and [`check`] itself stops waiting at the deadline whatever the request
//!   is stuck in (a `getaddrinfo` that ureq can only abandon, not interrupt, for example);
//! - a separate connect deadline bounds each TCP connection;
//! - the response head is read by our transport within curl's limits ([`MAX_HEADER_LINE`],
//!   [`MAX_HEAD`]), and ureq is handed only the headers it acts on (framing, `Location`), so
//!   its parser's cap of 128 header lines does not refuse what curl accepts;
//! - redirects are not followed unless asked, the body is read but capped, and HTTPS verifies
//!   certificates (system bundle, or `--cacert`, or not at all with `--insecure`);
//! - TLS (rustls with ring) is set up only when a URL is `https`: a plain-http probe never builds
//!   a TLS configuration nor reads a certificate bundle.
//!
//! What happened is reported as an [`Outcome`]: the status code if response headers arrived,
//! the phase reached, the address tried, the timings `curl -w` prints, and why it failed.
//!
//! The layers, each file importing only those below it:
//!
//! - `probe`: [`Probe`], [`check`] and its deadline, the request and the verdict;
//! - `transport`: ureq's resolver, connector and transport over our sockets;
//! - `tls`: the rustls configuration, certificate loading, the certificate verifier;
//! - `spec`: the pure grammar: status sets, URLs, `-H` headers, the response head's limits;
//! - `progress`: the record of a check, [`Phase`] and [`Outcome`], shared by the layers above
//!   (a file of its own so that the transport, which writes it, need not import the probe, which
//!   reads it).

mod probe;
mod progress;
mod spec;
mod tls;
mod transport;

pub use probe::{
    Checker, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, MAX_REDIRECTS, Method, Probe, check, timeout_of,
    timeout_text,
};
pub use progress::{Outcome, Phase};
pub use spec::{Header, MAX_HEAD, MAX_HEADER_LINE, STATUS_CODES, StatusSet, Target};
pub use tls::{CA_BUNDLES, TlsOptions, load_certs};
pub use transport::KEEP_FOR;
