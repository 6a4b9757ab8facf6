//! TLS for client connections (rustls with ring).
//!
//! A client asks for TLS with an SSLRequest before its StartupMessage
//! (libpq's `sslmode=require` and friends). With a certificate configured,
//! [`negotiate`] answers `S`, runs the TLS handshake and hands back the
//! encrypted stream; without one the request passes on to the message
//! checks, which answer `N` and go on in plain text, as PostgreSQL does
//! with `ssl = off`.

use pgwire::tokio::server::MaybeTls;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// The TLS set-up of a server: its certificate chain and key.
#[derive(Clone)]
pub struct Tls(TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// Reads a PEM certificate chain and private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> std::io::Result<Tls> {
        let invalid = |what: &Path, e: &dyn std::fmt::Display| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", what.display()),
            )
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| invalid(cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(cert, &e))?;
        if chain.is_empty() {
            return Err(invalid(cert, &"no certificate in the file"));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, &e))?;
        // ring is the one crypto back end of the build (pgwire's SCRAM uses
        // it too); rustls offers post-quantum key exchange only with
        // aws-lc-rs, hence the deprecation.
        #[allow(deprecated)]
        let config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid(key, &e))?;
        Ok(Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

/// Reads the client's SSLRequest, if it sent one and TLS is configured,
/// and returns the stream to speak the protocol on, with whether it is
/// encrypted.
pub(crate) async fn negotiate(
    mut tcp: TcpStream,
    tls: Option<&Tls>,
    timeout: Duration,
) -> std::io::Result<(MaybeTls, bool)> {
    let Some(tls) = tls else {
        return Ok((MaybeTls::Plain(tcp), false));
    };
    let mut first = [0u8; 8];
    let peeked = tokio::time::timeout(timeout, async {
        loop {
            let n = tcp.peek(&mut first).await?;
            if n == 0 || n == first.len() || first[..n] != SSL_REQUEST[..n] {
                return Ok::<_, std::io::Error>(n);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "start-up timed out"))??;
    if peeked != first.len() || first != SSL_REQUEST {
        return Ok((MaybeTls::Plain(tcp), false));
    }
    tcp.read_exact(&mut first).await?;
    tcp.write_all(b"S").await?;
    let stream = tokio::time::timeout(timeout, tls.0.accept(tcp))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
        })??;
    Ok((MaybeTls::Tls(Box::new(stream)), true))
}
