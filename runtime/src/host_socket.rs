//! The initiator side's sockets, shared by `client` and `perf`: one TCP connection per host
//! queue, whose reader task forwards every chunk read (and the close) to the owning task's
//! channel as a `SockEv`. The owner feeds them to its sans-IO `Host` in arrival order.
//!
//! Owns: the socket-reader loop. Invariant: a queue's reader sends its data in read order and
//! exactly one `Closed` at EOF or on an error, then stops; it stops silently when the owner
//! is gone.

use fabcheck_core::host::Qid;
use std::net::SocketAddr;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What a queue's reader task reports.
pub enum SockEv {
    Data(Qid, Vec<u8>),
    Closed(Qid),
}

/// Bytes read per `read` call.
const READ_BUF: usize = 256 * 1024;

/// Connects queue `qid` to `target` (no Nagle), starts its reader task and returns the writer.
pub async fn open(
    target: SocketAddr,
    qid: Qid,
    tx: mpsc::UnboundedSender<SockEv>,
) -> std::io::Result<OwnedWriteHalf> {
    let stream = TcpStream::connect(target).await?;
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    tokio::spawn(read_loop(qid, rd, tx));
    Ok(wr)
}

/// Forwards everything read on queue `qid` to `tx`, then one `Closed`.
async fn read_loop(qid: Qid, mut rd: OwnedReadHalf, tx: mpsc::UnboundedSender<SockEv>) {
    let mut buf = vec![0u8; READ_BUF];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(SockEv::Closed(qid));
                return;
            }
            Ok(n) => {
                if tx.send(SockEv::Data(qid, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}
