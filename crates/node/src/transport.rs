//! Sockets to a relay, plain (`ws://`, `http://`) or TLS (`wss://`, `https://`, rustls). A TLS
//! relay's certificate is checked against the usual web roots (Mozilla's, `webpki-roots`) and,
//! with `--ca-cert`, a private CA's certificates too.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::NodeError;

/// A connection's bytes, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

static CLIENT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Trusts the PEM certificates in `path` as well as the web roots, for every TLS connection this
/// process makes. Call before the first connection.
pub fn trust_ca(path: &Path) -> Result<(), NodeError> {
    let config = client_config(Some(path))?;
    CLIENT
        .set(config)
        .map_err(|_| NodeError::Tls("the trust roots are set already".into()))
}

fn client_config(extra: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, NodeError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|c| c.collect())
            .map_err(|e| NodeError::Tls(format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(NodeError::Tls(format!(
                "{}: no certificate in it",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| NodeError::Tls(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn client() -> Result<Arc<rustls::ClientConfig>, NodeError> {
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let config = client_config(None)?;
    Ok(CLIENT.get_or_init(|| config).clone())
}

/// Opens a TCP connection to `host:port`, with TLS on top when `tls` (the certificate must name
/// `host`).
pub async fn open(host: &str, port: u16, tls: bool) -> Result<Box<dyn Io>, NodeError> {
    let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| NodeError::Connect {
            url: format!("{host}:{port}"),
            reason: e.to_string(),
        })?;
    // Nagle off: protocol frames are small and latency-bound.
    let _ = stream.set_nodelay(true);
    if !tls {
        return Ok(Box::new(stream));
    }
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| NodeError::Tls(format!("{host}: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(client()?);
    let stream = connector
        .connect(name, stream)
        .await
        .map_err(|e| NodeError::Tls(format!("{host}:{port}: {e}")))?;
    Ok(Box::new(stream))
}

/// The parts of a relay URL a socket needs: whether it is TLS, host, port.
pub fn endpoint_of(url: &str) -> Result<(bool, String, u16), NodeError> {
    let bad = |why: &str| NodeError::Connect {
        url: url.to_owned(),
        reason: why.to_owned(),
    };
    let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("ws://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("not a ws://, wss://, http:// or https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        // A colon past an IPv6 address's brackets starts the port.
        Some((h, p)) if !p.contains(']') && (!h.contains(':') || h.ends_with(']')) => {
            (h, p.parse().map_err(|_| bad("the port is not a number"))?)
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((tls, host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_name_their_transport() {
        assert_eq!(
            endpoint_of("wss://relay.example/ws").unwrap(),
            (true, "relay.example".into(), 443)
        );
        assert_eq!(
            endpoint_of("ws://127.0.0.1:8080/ws").unwrap(),
            (false, "127.0.0.1".into(), 8080)
        );
        assert_eq!(
            endpoint_of("https://[::1]:9443/api").unwrap(),
            (true, "[::1]".into(), 9443)
        );
        assert!(endpoint_of("ftp://x").is_err());
        assert!(endpoint_of("ws://:80/").is_err());
    }
}
