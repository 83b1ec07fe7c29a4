//! HTTPS trust: the rustls client configuration, the certificates it trusts (`--cacert`, or the
//! system bundle) and the one certificate verifier, whose [`Trust`] says what it accepts:
//! anything (`--insecure`), or a chain to the roots and, failing that, a pinned `--cacert`
//! certificate. Built only when a URL is `https`: a plain-http check never reads a bundle.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::error::{Error, Result};

/// Where the system CA bundle is looked for when `--cacert` is not given (after `$SSL_CERT_FILE`).
pub const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// How to verify HTTPS servers.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Accept any certificate (`curl -k`).
    pub insecure: bool,
    /// Trust only these certificates (`curl --cacert`); None: the system bundle.
    pub cacert: Option<Vec<CertificateDer<'static>>>,
}

/// Read the PEM certificates of `path` (for `--cacert`), like curl's `--cacert FILE`.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let data =
        std::fs::read(path).map_err(|e| Error::sys(format!("read {}", path.display()), e))?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&data) {
        let cert = item.map_err(|e| {
            Error::failed(format!("read {}: bad PEM certificate: {e}", path.display()))
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(Error::failed(format!(
            "read {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `opts`: no verification, the `--cacert` certificates
/// (a self-signed server certificate listed there is accepted as is), or the system bundle.
pub(super) fn build_tls_config(
    opts: &TlsOptions,
) -> std::result::Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let trust = if opts.insecure {
        Trust::Any
    } else {
        let (certs, pinned) = match &opts.cacert {
            Some(certs) => (certs.clone(), certs.clone()),
            None => (system_bundle()?, Vec::new()),
        };
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        let webpki = if added > 0 {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("tls: {e}"))?,
            )
        } else {
            None
        };
        if webpki.is_none() && pinned.is_empty() {
            return Err("tls: no usable CA certificate".to_string());
        }
        Trust::CaOrPinned { webpki, pinned }
    };
    let verifier = Arc::new(Verifier {
        trust,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The system CA bundle: `$SSL_CERT_FILE`, else the first of [`CA_BUNDLES`] that exists.
fn system_bundle() -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let path = from_env
        .into_iter()
        .chain(CA_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or_else(|| "tls: no CA bundle found (use --cacert FILE or --insecure)".to_string())?;
    load_certs(&path).map_err(|e| format!("tls: {e}"))
}

/// Which server certificates the [`Verifier`] accepts.
#[derive(Debug)]
enum Trust {
    /// `--insecure`: any certificate, any name (as `curl -k`).
    Any,
    /// Standard chain verification against the roots; failing that, a server certificate that
    /// is byte for byte one of the `--cacert` certificates is accepted if its names cover the
    /// host (OpenSSL, hence curl, accepts such a self-signed certificate; webpki alone does not
    /// when it says `CA:TRUE`, as `openssl req -x509` makes it by default).
    CaOrPinned {
        webpki: Option<Arc<WebPkiServerVerifier>>,
        pinned: Vec<CertificateDer<'static>>,
    },
}

/// The server certificate verifier: the certificate as [`Trust`] says; the handshake signatures
/// are checked in every mode, `--insecure` included.
#[derive(Debug)]
struct Verifier {
    trust: Trust,
    /// The provider's signature algorithms, for the handshake signatures.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let (webpki, pinned) = match &self.trust {
            Trust::Any => return Ok(ServerCertVerified::assertion()),
            Trust::CaOrPinned { webpki, pinned } => (webpki, pinned),
        };
        let chain = match webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match chain {
            Ok(v) => Ok(v),
            Err(e) if pinned.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                // The exact certificate was given: trust it, but the name must still match.
                let parsed = ParsedCertificate::try_from(end_entity).map_err(|_| e)?;
                verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cacert_file_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(
            load_certs(&empty)
                .unwrap_err()
                .to_string()
                .contains("no PEM certificate")
        );
        let missing = dir.path().join("missing.pem");
        assert!(
            load_certs(&missing)
                .unwrap_err()
                .to_string()
                .contains("no such file")
        );
    }
}
