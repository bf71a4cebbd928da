//! JSON-RPC 2.0 on a Unix socket with SPDK's method and parameter names (the nvmf subset of
//! `scripts/rpc.py`), mapped onto `fabcheck_core::nvmf::RpcRequest`.
//!
//! Owns: framing (a byte stream of concatenated JSON values, as SPDK's server reads it),
//! request validation, the method table ([`Call::parse`]), the RAM bdev table
//! (`bdev_malloc_create`/`bdev_malloc_delete`) and which bdev backs which namespace, and the
//! SPDK-shaped results. Invariants: malformed input never crashes the server (parse error
//! -32700, invalid request -32600, unknown method -32601, bad params -32602; core failures keep
//! the core's negative errno as the code); every request with an `id` gets exactly one answer,
//! notifications (no `id`) get none.

use fabcheck_core::nvmf::RpcError;
use serde_json::{json, Value};

mod methods;
mod service;

pub use methods::{Call, ListenAddress, METHODS};
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

/// Checks the JSON-RPC 2.0 envelope. On error returns the id to answer with (Null if unknown).
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
    if !ok_id || obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid(id.filter(|_| ok_id).unwrap_or(Value::Null)));
    }
    let Some(Value::String(method)) = obj.remove("method") else {
        return Err(invalid(id.unwrap_or(Value::Null)));
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    if !matches!(params, Value::Null | Value::Object(_)) {
        return Err(invalid(id.unwrap_or(Value::Null)));
    }
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
