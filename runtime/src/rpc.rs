//! JSON-RPC 2.0 on a Unix socket with SPDK's method and parameter names (the nvmf subset of
//! `scripts/rpc.py`), mapped onto `fabcheck_core::nvmf::RpcRequest`.
//!
//! Owns: framing (a byte stream of concatenated JSON values, as SPDK's server reads it),
//! request validation as lib/jsonrpc does it (`jsonrpc` optional but "2.0" when present, params
//! an object, an array or null, batches), the method table ([`Call::parse`], parameter objects in
//! `params`, NQN rules in `nqn`), the RAM bdev table and which bdev backs which namespace, and
//! the SPDK-shaped results (`shape`). Invariants: malformed input never crashes the server
//! (parse error -32700, invalid request -32600, unknown method -32601, bad params -32602,
//! failures inside the target -32603, as SPDK answers); every request with an `id` gets exactly
//! one answer (a batch: one array), notifications (no `id`) get none.

use fabcheck_core::nvmf::RpcError;
use serde_json::{json, Value};

mod checks;
mod methods;
mod params;
mod service;
mod shape;

pub use crate::bdev::parse_uuid;
pub use fabcheck_core::nvmf::nqn::{nqn_is_valid, DISCOVERY_NQN};
pub use methods::{Call, ListenAddress, NsIds, METHODS};
pub use service::{Backend, RpcState, Service};

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRpcError {
    pub code: i32,
    pub message: String,
}

impl JsonRpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        JsonRpcError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }
}

impl From<RpcError> for JsonRpcError {
    fn from(e: RpcError) -> Self {
        JsonRpcError::new(e.code, e.message)
    }
}

/// Splits a byte stream into JSON values; keeps an incomplete tail for the next read.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

/// Upper bound on one buffered request (a larger one is a parse error).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

impl Framer {
    /// Adds bytes and returns every complete value (or parse error) now available.
    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Value, JsonRpcError>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        loop {
            match stream.next() {
                None => {
                    consumed = self.buf.len();
                    break;
                }
                Some(Ok(v)) => {
                    consumed = stream.byte_offset();
                    out.push(Ok(v));
                }
                Some(Err(e)) if e.is_eof() && self.buf.len() <= MAX_REQUEST_BYTES => break,
                Some(Err(_)) => {
                    out.push(Err(JsonRpcError::new(PARSE_ERROR, "Parse error")));
                    consumed = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..consumed);
        out
    }
}

/// A validated request envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `None` for a notification.
    pub id: Option<Value>,
    pub method: String,
    pub params: Value,
}

/// Checks one request as SPDK's `parse_single_request` does: an object whose keys are among
/// `jsonrpc` (optional, "2.0"), `method` (a string), `params` (object, array or null) and `id`
/// (string, number or null; absent: a notification). On error returns the id to answer with
/// (the request's id once it was read, else Null).
pub fn envelope(v: Value) -> Result<Envelope, (Value, JsonRpcError)> {
    let invalid = |id: Value| (id, JsonRpcError::new(INVALID_REQUEST, "Invalid request"));
    let Value::Object(mut obj) = v else {
        return Err(invalid(Value::Null));
    };
    let id = obj.remove("id");
    let ok_id = matches!(
        id,
        None | Some(Value::Null | Value::Number(_) | Value::String(_))
    );
    let version = obj.remove("jsonrpc");
    let ok_version = version.is_none_or(|v| v == "2.0");
    let method = obj.remove("method");
    let params = obj.remove("params").unwrap_or(Value::Null);
    let ok_params = matches!(params, Value::Null | Value::Object(_) | Value::Array(_));
    let id_or_null = || {
        if ok_id {
            id.clone().unwrap_or(Value::Null)
        } else {
            Value::Null
        }
    };
    if !ok_id || !ok_version || !ok_params || !obj.is_empty() {
        return Err(invalid(id_or_null()));
    }
    let Some(Value::String(method)) = method else {
        return Err(invalid(id_or_null()));
    };
    Ok(Envelope { id, method, params })
}

/// The response text for one answered request.
pub fn response(id: Value, result: Result<Value, JsonRpcError>) -> Value {
    match result {
        Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": e.code, "message": e.message}}),
    }
}

/// Serves JSON-RPC on a Unix socket at `path` (a stale socket file is replaced) until the
/// returned task is aborted.
pub fn serve_unix<B: Backend + 'static>(
    path: &std::path::Path,
    service: std::sync::Arc<Service<B>>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    tracing::info!(path = %path.display(), "rpc listening");
    Ok(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_client(stream, service.clone()));
                }
                Err(e) => {
                    tracing::warn!("rpc accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }))
}

async fn serve_client<B: Backend>(
    mut stream: tokio::net::UnixStream,
    service: std::sync::Arc<Service<B>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut framer = Framer::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for item in framer.push(&buf[..n]) {
            let answer = match item {
                Ok(v) => service.answer(v).await,
                Err(e) => Some(response(Value::Null, Err(e))),
            };
            if let Some(a) = answer {
                let mut text = a.to_string().into_bytes();
                text.push(b'\n');
                if stream.write_all(&text).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod tests_spdk;
#[cfg(all(test, not(loom)))]
mod tests_v2605;
