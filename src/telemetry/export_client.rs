//! The trace exporter's HTTP client: hyper's client from the OpenTelemetry
//! HTTP crate, which needs a Tokio runtime, run on a small runtime of its
//! own. The exporter calls it from its batch processor's thread, which
//! blocks on each export; the service's own runtimes never carry it.

use std::time::Duration;

use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// [`HyperClient`] driven to completion on its own current-thread runtime.
#[derive(Debug)]
pub struct BlockingHyper {
    runtime: tokio::runtime::Runtime,
    client: HyperClient,
}

impl BlockingHyper {
    pub fn new(timeout: Duration) -> std::io::Result<Self> {
        Ok(Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            client: HyperClient::with_default_connector(timeout, None),
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for BlockingHyper {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.runtime.block_on(self.client.send_bytes(request))
    }
}
