//! Sockets: NVMe/TCP listeners (accept loops) and per-connection reader/writer tasks.
//!
//! Owns: the TCP side of every connection. The reader forwards bytes to the driver as they
//! arrive and reports EOF/errors once as `PeerClosed`; the writer sends whatever the driver
//! queues, in order, and when the driver drops its sender (the core's `Output::Close`) it
//! flushes, shuts the socket down for writing, and tells the reader to stop forwarding. After
//! a close the reader keeps draining (and discarding) input for a short linger so the kernel
//! does not answer unread bytes with a RST that would destroy the TermReq just sent.
//!
//! Invariants: bytes of one connection reach the driver in socket order; the driver hears at
//! most one `PeerClosed` per connection; a connection holds one `ConnPermit` until both of
//! its tasks end.

use crate::shared::{ConnLimiter, ConnPermit};
use fabcheck_core::nvmf::{ConnId, Trid};
use fabcheck_core::wire::PduBytes;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How long a closed connection keeps draining input before the socket is dropped.
pub const CLOSE_LINGER: Duration = Duration::from_millis(500);
/// Read buffer size per connection: above the largest data PDU (128 KiB of data plus header
/// and digests), so a whole PDU usually arrives in one read and the decoder takes it without
/// buffering it first.
const READ_BUF: usize = 256 * 1024;
/// Reads up to this size are copied out of the read buffer (it is kept); larger ones move the
/// buffer itself to the driver (a fresh one is allocated), so the bytes are not copied.
const COPY_READ_MAX: usize = 16 * 1024;

/// What socket tasks tell the driver.
#[derive(Debug)]
pub enum NetEvent {
    /// A listener accepted a connection (already admitted by the limiter).
    Accepted {
        trid: Trid,
        stream: TcpStream,
        peer: SocketAddr,
        permit: ConnPermit,
    },
    Bytes {
        conn: ConnId,
        data: Vec<u8>,
    },
    PeerClosed {
        conn: ConnId,
    },
}

/// Binds `trid` (port 0 picks a free port; the returned trid carries the real one).
pub fn bind(trid: &Trid) -> std::io::Result<(TcpListener, Trid)> {
    let addr: SocketAddr = format!("{}:{}", trid.traddr, trid.trsvcid)
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?;
    let listener = TcpListener::from_std(std_listener)?;
    Ok((listener, Trid::tcp(&local.ip().to_string(), local.port())))
}

/// Runs an accept loop for `trid` until aborted. Connections over the limit are closed at once.
pub fn spawn_acceptor(
    listener: TcpListener,
    trid: Trid,
    limiter: ConnLimiter,
    events: mpsc::Sender<NetEvent>,
) -> JoinHandle<()> {
    let span = tracing::info_span!("listener", %trid);
    tokio::spawn(
        async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Some(permit) = limiter.try_acquire() else {
                    tracing::warn!(%peer, max = limiter.max(), "connection limit reached; closing");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let ev = NetEvent::Accepted {
                    trid: trid.clone(),
                    stream,
                    peer,
                    permit,
                };
                if events.send(ev).await.is_err() {
                    return;
                }
            }
        }
        .instrument(span),
    )
}

/// Encoded PDUs to send, in order (each moved from the core's `Output::Send`, never copied; a
/// data PDU's data is its own part, written from where the core left it).
pub type Batch = Vec<PduBytes>;

/// At most this many buffers per `writev` (Linux `UIO_MAXIOV` is 1024).
const MAX_IOV: usize = 1024;

/// The driver's handle on one connection.
#[derive(Debug)]
pub struct ConnHandle {
    /// Buffers to send, in order. Dropping it closes the connection (after a flush).
    pub out: mpsc::UnboundedSender<Batch>,
}

/// Starts the reader and writer tasks of an accepted connection.
pub fn spawn_connection(
    conn: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
    permit: ConnPermit,
    events: mpsc::Sender<NetEvent>,
) -> ConnHandle {
    let (rd, wr) = stream.into_split();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    let span = tracing::info_span!("conn", id = conn.0, %peer);
    tokio::spawn(writer(wr, out_rx, stop_tx).instrument(span.clone()));
    tokio::spawn(reader(conn, rd, events, stop_rx, permit).instrument(span));
    ConnHandle { out: out_tx }
}

async fn writer(
    mut wr: OwnedWriteHalf,
    mut out: mpsc::UnboundedReceiver<Batch>,
    stop_reader: oneshot::Sender<()>,
) {
    while let Some(mut batch) = out.recv().await {
        while let Ok(more) = out.try_recv() {
            batch.extend(more);
        }
        if let Err(e) = write_batch(&mut wr, &batch).await {
            // The peer is gone; the reader will see it and report PeerClosed.
            tracing::debug!("write failed: {e}");
            return;
        }
    }
    let _ = wr.shutdown().await;
    let _ = stop_reader.send(());
    tracing::debug!("writer done");
}

/// Writes every part of every PDU of `batch`, in order, with as few `writev` calls as the
/// socket allows.
async fn write_batch(wr: &mut OwnedWriteHalf, batch: &[PduBytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch
        .iter()
        .flat_map(PduBytes::parts)
        .map(IoSlice::new)
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = wr.write_vectored(&rest[..rest.len().min(MAX_IOV)]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

async fn reader(
    conn: ConnId,
    mut rd: OwnedReadHalf,
    events: mpsc::Sender<NetEvent>,
    mut stop: oneshot::Receiver<()>,
    permit: ConnPermit,
) {
    let mut buf = Vec::with_capacity(READ_BUF);
    loop {
        tokio::select! {
            biased;
            Ok(()) = &mut stop => break,
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    let _ = events.send(NetEvent::PeerClosed { conn }).await;
                    drop(permit);
                    return;
                }
                Ok(_) => {
                    let ev = NetEvent::Bytes { conn, data: take_read(&mut buf) };
                    if events.send(ev).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
    linger(&mut rd).await;
    drop(permit);
}

/// The bytes read into `buf`, leaving it empty with room for the next read (see
/// `COPY_READ_MAX`).
fn take_read(buf: &mut Vec<u8>) -> Vec<u8> {
    if buf.len() <= COPY_READ_MAX {
        let data = buf.clone();
        buf.clear();
        data
    } else {
        std::mem::replace(buf, Vec::with_capacity(READ_BUF))
    }
}

/// Drains and discards input for up to `CLOSE_LINGER` or until EOF.
async fn linger(rd: &mut OwnedReadHalf) {
    let mut buf = vec![0u8; 16 * 1024];
    let drain = async {
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_reads_are_copied_and_large_reads_move_the_buffer() {
        let mut buf = Vec::with_capacity(READ_BUF);
        buf.extend_from_slice(&[7; 100]);
        let small = take_read(&mut buf);
        assert_eq!(small, vec![7; 100]);
        assert!(
            buf.is_empty() && buf.capacity() >= READ_BUF,
            "the read buffer is kept"
        );
        buf.resize(COPY_READ_MAX + 1, 9);
        let at = buf.as_ptr();
        let large = take_read(&mut buf);
        assert_eq!(
            (large.len(), large.as_ptr()),
            (COPY_READ_MAX + 1, at),
            "moved, not copied"
        );
        assert!(
            buf.is_empty() && buf.capacity() >= READ_BUF,
            "a fresh buffer replaces it"
        );
    }
}
