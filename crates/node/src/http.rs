//! The node's one HTTP client: `GET` on a relay's JSON API (the relay's WebSocket URL's host and
//! port, over TLS for a `wss://` relay), with hyper's HTTP/1.1 client on the node's own socket.
//! Earnings, the relay list, collections and `check`'s reward estimate read through it.

use crate::error::NodeError;
use crate::transport;

/// The answers read here are a few kilobytes; more than this is not an answer to read.
const MAX_ANSWER: usize = 1 << 20;

/// `GET path` on the relay's HTTP API, its JSON answer decoded (at most [`MAX_ANSWER`] bytes).
pub async fn get_json<T: serde::de::DeserializeOwned>(
    relay_ws: &str,
    path: &str,
) -> Result<T, NodeError> {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper::body::Bytes;
    let (tls, host, port) = transport::endpoint_of(relay_ws)?;
    let lost = |e: &dyn std::fmt::Display| NodeError::ConnectionLost(e.to_string());
    let io = transport::open(&host, port, tls).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| lost(&e))?;
    // The connection runs beside the request; it ends when the answer is read.
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| NodeError::Input(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| lost(&e))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| lost(&e))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    if status != hyper::StatusCode::OK {
        return Err(NodeError::BadAnswer(format!("HTTP {status}: {text}")));
    }
    serde_json::from_str(&text).map_err(|e| NodeError::BadAnswer(e.to_string()))
}
