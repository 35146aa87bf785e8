//! Outbound HTTP for Lever: awc clients with rustls, made per thread.
//!
//! `awc::Client` is `!Send`, so it cannot live in a per-connection handle
//! that moves between arbiters. Instead every thread lazily builds one client
//! per [`HttpSettings`] (keyed by the settings' id) and all Lever connections
//! on that thread share it. TLS trusts the webpki roots plus, optionally, one
//! extra root certificate (tests trust the simulator's throwaway one).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use super::errors::LeverError;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Transport settings shared by the Lever connections of a process.
#[derive(Debug)]
pub struct HttpSettings {
    id: u64,
    /// TCP connect + TLS handshake limit.
    pub connect_timeout: Duration,
    /// Limit on a whole request: send, answer and body.
    pub request_timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
}

impl HttpSettings {
    /// Builds settings trusting the webpki roots and, if given, the PEM
    /// certificate(s) in `extra_root_pem`.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        extra_root_pem: Option<&[u8]>,
    ) -> Result<Arc<Self>, LeverError> {
        let tls = tls_config(extra_root_pem)?;
        Ok(Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            connect_timeout,
            request_timeout,
            tls,
        }))
    }

    /// 5 s to connect, 30 s per request, webpki roots only.
    pub fn defaults() -> Result<Arc<Self>, LeverError> {
        Self::new(Duration::from_secs(5), Duration::from_secs(30), None)
    }

    /// This thread's awc client for these settings.
    pub fn client(&self) -> awc::Client {
        CLIENTS.with(|clients| {
            clients
                .borrow_mut()
                .entry(self.id)
                .or_insert_with(|| self.build_client())
                .clone()
        })
    }

    fn build_client(&self) -> awc::Client {
        let connector = awc::Connector::new()
            .timeout(self.connect_timeout)
            .handshake_timeout(self.connect_timeout)
            .rustls_0_23(self.tls.clone());
        awc::Client::builder()
            .connector(connector)
            .timeout(self.request_timeout)
            .add_default_header(("User-Agent", "arkiter-lever"))
            .finish()
    }
}

thread_local! {
    static CLIENTS: RefCell<HashMap<u64, awc::Client>> = RefCell::new(HashMap::new());
}

/// A rustls client config on the ring provider (the one this crate enables),
/// trusting webpki roots plus optional extra PEM roots.
pub fn tls_config(extra_root_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, LeverError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_root_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| LeverError::Config(format!("extra root: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| LeverError::Config(format!("extra root: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LeverError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
