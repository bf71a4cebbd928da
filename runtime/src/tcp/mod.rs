//! Sockets: NVMe/TCP listeners (accept loops) and per-connection socket I/O.
//!
//! Owns: the TCP side of every connection, in one of two ways. On a current-thread runtime
//! (fabcheck-target pinned to one CPU) the driver does the connection's I/O itself through
//! its `ConnHandle`: it reads the socket when the runtime's I/O driver reports it readable
//! (`read`, `poll_readable`) and writes straight to it while nothing is queued; only what a
//! full socket leaves behind waits in the connection's backlog for its writer task. On a
//! multi-thread runtime a reader task forwards the bytes as they arrive (`NetEvent::Bytes`,
//! EOF and errors once as `PeerClosed`) and every send goes through the writer task, so the
//! system calls run beside the driver. When the driver drops the handle (the core's
//! `Output::Close`) the writer flushes the backlog, the socket is shut down for writing, and
//! reading stops; then the read side keeps draining (and discarding) input for a short
//! linger so the kernel does not answer unread bytes with a RST that would destroy the
//! TermReq just sent.
//!
//! Invariants: bytes of one connection reach the driver in socket order; PDUs leave in the
//! order the driver sent them (every socket write happens under the backlog's lock, and a
//! direct write only while the backlog is empty); the driver hears of a peer's close at most
//! once per connection; a connection holds one `ConnPermit` until its socket is done with.

use crate::shared::{ConnLimiter, ConnPermit};
use fabcheck_core::nvmf::{ConnId, Trid};
use fabcheck_core::wire::PduBytes;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

mod backlog;
use backlog::Backlog;

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

/// The driver's handle on one connection's sending side. Dropping it closes the connection:
/// the writer task sends what is still queued, then the socket is shut down for writing.
#[derive(Debug)]
pub struct ConnHandle {
    wr: Arc<OwnedWriteHalf>,
    outbox: Arc<Outbox>,
    /// Write straight to the socket when nothing is queued (a current-thread runtime, where
    /// the writer task would run on the driver's thread anyway); otherwise every send goes
    /// through the writer task, which another worker may run beside the driver.
    direct: bool,
    /// On a current-thread runtime the driver reads the socket itself (`read`,
    /// `poll_readable`); otherwise a reader task forwards the bytes as `NetEvent`s.
    read: Option<DirectRead>,
}

/// The receiving side the driver reads itself.
#[derive(Debug)]
struct DirectRead {
    rd: OwnedReadHalf,
    buf: Vec<u8>,
    permit: ConnPermit,
    /// EOF or an error was seen (and reported once).
    closed: bool,
}

impl DirectRead {
    /// What a read that returned `got` (bytes appended to `buf`) means for the driver: bytes
    /// (also when a short read answered `WouldBlock` to clear the readiness), nothing now, or
    /// the close (EOF or an error, reported once: `closed`).
    fn settle(&mut self, got: std::io::Result<usize>) -> Read {
        use std::io::ErrorKind::{Interrupted, WouldBlock};
        match got {
            Ok(0) => {
                self.closed = true;
                Read::Closed
            }
            Ok(_) => Read::Bytes(take_read(&mut self.buf)),
            Err(e) if e.kind() == WouldBlock && !self.buf.is_empty() => {
                Read::Bytes(take_read(&mut self.buf))
            }
            Err(e) if matches!(e.kind(), WouldBlock | Interrupted) => Read::Empty,
            Err(_) => {
                self.closed = true;
                Read::Closed
            }
        }
    }
}

/// What one `ConnHandle::read` got.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Bytes(Vec<u8>),
    /// Nothing to read now.
    Empty,
    /// The peer closed the connection or it failed; reported once, then `Empty`.
    Closed,
}

/// What a connection still has to send, shared by the driver's handle and the writer task.
/// Every write to the socket happens under its lock, so bytes leave in the order queued.
#[derive(Debug, Default)]
struct Outbox {
    backlog: Mutex<Backlog>,
    /// Wakes the writer: work was queued, or the handle was dropped.
    wake: Notify,
}

impl ConnHandle {
    /// Sends `pdus` in order after everything sent before, leaving `pdus` empty (its capacity
    /// is kept for the next batch). Never blocks: what the socket does not take now is left
    /// to the writer task. The PDUs this call wrote out in full are appended to `written`, so
    /// the caller can reuse their buffers (`Target::recycle`); what the writer task writes it
    /// drops.
    pub fn send(&self, pdus: &mut Vec<PduBytes>, written: &mut Vec<PduBytes>) {
        let mut b = lock(&self.outbox.backlog);
        if b.failed {
            pdus.clear();
            return;
        }
        let idle = b.pdus.is_empty();
        b.pdus.extend(pdus.drain(..));
        if !idle {
            // The writer owns a backlog and is waiting for the socket; it takes these too.
            return;
        }
        if !self.direct {
            self.outbox.wake.notify_one();
            return;
        }
        match b.write_some(&self.wr, |p| written.push(p)) {
            Ok(true) => {}
            Ok(false) => self.outbox.wake.notify_one(),
            Err(e) => b.fail(&e),
        }
    }

    /// Reads what the socket holds now, without waiting (a driver-read connection only; a
    /// connection with a reader task reads nothing here). Without readiness news from the
    /// runtime's I/O driver this costs no system call.
    pub fn read(&mut self) -> Read {
        let Some(r) = self.read.as_mut().filter(|r| !r.closed) else {
            return Read::Empty;
        };
        let stream: &TcpStream = r.rd.as_ref();
        let spare = r.buf.capacity() - r.buf.len();
        let buf = &mut r.buf;
        // A read shorter than the room it had emptied the socket: answering `WouldBlock` to
        // `try_io` clears the readiness, as tokio's own `poll_read` does, so the next turn
        // does not spend a system call to learn that nothing came.
        let got = stream.try_io(tokio::io::Interest::READABLE, || {
            match stream.try_read_buf(buf)? {
                n if n > 0 && n < spare => Err(std::io::ErrorKind::WouldBlock.into()),
                n => Ok(n),
            }
        });
        r.settle(got)
    }

    /// `read` without waiting for readiness news: one non-blocking `recv` on the socket
    /// whatever the runtime's I/O driver last saw, so bytes that came after its last
    /// `epoll_wait` are found now rather than a poll later. For the connections the driver
    /// busy-polls (docs/runtime.md, "The ninth pass"); it costs a system call when nothing
    /// came. Elsewhere than Linux with glibc it is `read`.
    pub fn read_now(&mut self) -> Read {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            use std::os::fd::AsRawFd;
            let Some(r) = self.read.as_mut().filter(|r| !r.closed) else {
                return Read::Empty;
            };
            let stream: &TcpStream = r.rd.as_ref();
            let spare = r.buf.spare_capacity_mut();
            // SAFETY: `recv` writes at most `spare.len()` bytes into the buffer's unused
            // capacity, which `spare` spans; the socket's fd stays open while `r.rd` lives.
            let n = unsafe {
                libc::recv(
                    stream.as_raw_fd(),
                    spare.as_mut_ptr().cast(),
                    spare.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            let got = usize::try_from(n).map_err(|_| std::io::Error::last_os_error());
            if let Ok(n) = got {
                let len = r.buf.len() + n;
                // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
                unsafe { r.buf.set_len(len) };
            }
            r.settle(got)
        }
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        self.read()
    }

    /// Ready when `read` may find bytes or the close; otherwise registers `cx` to be woken
    /// when the socket becomes readable. Pending for a connection with a reader task.
    pub fn poll_readable(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let Some(r) = self.read.as_mut().filter(|r| !r.closed) else {
            return std::task::Poll::Pending;
        };
        // Readiness as the runtime's I/O driver last saw it: no system call.
        let stream: &TcpStream = r.rd.as_ref();
        stream.poll_read_ready(cx).map(|_| ())
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        let mut b = lock(&self.outbox.backlog);
        b.closing = true;
        b.linger = self.read.take().map(|r| (r.rd, r.permit));
        drop(b);
        self.outbox.wake.notify_one();
    }
}

fn lock(m: &Mutex<Backlog>) -> std::sync::MutexGuard<'_, Backlog> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the writer task of an accepted connection, and its reader task unless `direct`
/// (see `ConnHandle`: with `direct` the driver reads and writes the socket itself).
pub fn spawn_connection(
    conn: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
    permit: ConnPermit,
    events: mpsc::Sender<NetEvent>,
    direct: bool,
) -> ConnHandle {
    let (rd, wr) = stream.into_split();
    let wr = Arc::new(wr);
    let outbox = Arc::new(Outbox::default());
    // A debug span, so `-v` (info) does not turn on a span these tasks enter on every poll;
    // their only events are debug messages.
    let span = tracing::debug_span!("conn", id = conn.0, %peer);
    let (read, stop_reader) = if direct {
        let buf = Vec::with_capacity(READ_BUF);
        let closed = false;
        (
            Some(DirectRead {
                rd,
                buf,
                permit,
                closed,
            }),
            None,
        )
    } else {
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = reader(conn, rd, events, stop_rx, permit);
        tokio::spawn(task.instrument(span.clone()));
        (None, Some(stop_tx))
    };
    tokio::spawn(writer(wr.clone(), outbox.clone(), stop_reader).instrument(span));
    ConnHandle {
        wr,
        outbox,
        direct,
        read,
    }
}

/// Sends the backlog whenever there is one; once the handle is dropped and the backlog is
/// sent, stops the reader's forwarding (or lingers on the read side itself when the driver
/// read the socket). The socket's write side shuts down when the last holder of the write
/// half (this task or the handle) drops it.
async fn writer(
    wr: Arc<OwnedWriteHalf>,
    outbox: Arc<Outbox>,
    stop_reader: Option<oneshot::Sender<()>>,
) {
    loop {
        outbox.wake.notified().await;
        loop {
            let (sent, closing) = {
                let mut b = lock(&outbox.backlog);
                if b.failed {
                    return;
                }
                match b.write_some(&wr, drop) {
                    Ok(sent) => (sent, b.closing),
                    Err(e) => {
                        b.fail(&e);
                        return;
                    }
                }
            };
            if sent && closing {
                drop(wr);
                if let Some(stop) = stop_reader {
                    let _ = stop.send(());
                }
                let read_side = lock(&outbox.backlog).linger.take();
                if let Some((mut rd, permit)) = read_side {
                    linger(&mut rd).await;
                    drop(permit);
                }
                tracing::debug!("writer done");
                return;
            }
            if sent {
                break;
            }
            if let Err(e) = wr.writable().await {
                lock(&outbox.backlog).fail(&e);
                return;
            }
        }
    }
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
    use tokio::io::AsyncWriteExt;

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

    /// A C2HData PDU with both digests, so each has three parts (header, data, digest).
    fn data_pdu(i: u32, len: usize) -> PduBytes {
        use fabcheck_core::wire::{C2HData, Digests, Pdu};
        let data = (0..len)
            .map(|k| (k as u32 ^ i.wrapping_mul(7919)) as u8)
            .collect();
        let pdu = Pdu::C2HData(C2HData {
            cccid: i as u16,
            datao: 0,
            last: true,
            success: true,
            data,
        });
        let both = Digests {
            header: true,
            data: true,
        };
        pdu.into_pdu_bytes(both)
    }

    /// A loopback connection: the client's end, and the server's end as the driver holds it
    /// (`direct`: see `ConnHandle`), with the receiver of its events kept open.
    async fn connected(direct: bool) -> (TcpStream, ConnHandle, mpsc::Receiver<NetEvent>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let (events, rx) = mpsc::channel(16);
        let permit = ConnLimiter::new(1).try_acquire().unwrap();
        let handle = spawn_connection(ConnId(1), server, peer, permit, events, direct);
        (client, handle, rx)
    }

    /// Sends 8 MiB (far beyond the socket buffers) to a peer that does not read yet, in
    /// batches of varied sizes, then drops the handle: the peer must get every byte in the
    /// order sent and then EOF, whether the driver writes directly or leaves it all to the
    /// writer task. With direct writes the socket fills, so the backlog and the writer task
    /// take over part-way through a PDU.
    async fn everything_arrives_in_order(direct: bool) {
        let (mut client, handle, _events) = connected(direct).await;
        let mut expected = Vec::new();
        let mut batch = Vec::new();
        let mut queued_behind = 0;
        for i in 0..200u32 {
            let pdu = data_pdu(i, [1, 4096, 40_000, 131_072][i as usize % 4]);
            expected.extend(pdu.to_vec());
            batch.push(pdu);
            if i % 3 == 2 {
                handle.send(&mut batch, &mut Vec::new());
                assert!(batch.is_empty(), "send takes the whole batch");
                queued_behind += usize::from(!lock(&handle.outbox.backlog).pdus.is_empty());
            }
        }
        handle.send(&mut batch, &mut Vec::new());
        assert!(
            queued_behind > 0,
            "the socket never filled, so the backlog was not exercised"
        );
        drop(handle);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn direct_writes_and_the_backlog_keep_the_order() {
        everything_arrives_in_order(true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writer_task_sends_keep_the_order() {
        everything_arrives_in_order(false).await;
    }

    #[test]
    fn advance_drops_whole_pdus_and_remembers_a_partial_one() {
        let mut b = Backlog::default();
        b.pdus.extend([data_pdu(1, 10), data_pdu(2, 20)]);
        let (first, second) = (b.pdus[0].len(), b.pdus[1].len());
        b.advance(first - 1, &mut drop);
        assert_eq!((b.pdus.len(), b.sent), (2, first - 1));
        b.advance(1 + 5, &mut drop);
        assert_eq!((b.pdus.len(), b.sent), (1, 5));
        b.advance(second - 5, &mut drop);
        assert_eq!((b.pdus.len(), b.sent), (0, 0));
    }

    /// A connection the driver reads itself: `poll_readable` wakes for bytes and for the
    /// close, `read` returns the bytes in order, reports the close once, and dropping the
    /// handle after the peer's close still flushes and shuts down.
    #[tokio::test(flavor = "current_thread")]
    async fn direct_reads_get_the_bytes_in_order_and_the_close_once() {
        let (mut client, mut handle, _events) = connected(true).await;
        assert_eq!(handle.read(), Read::Empty);
        let sent: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut got = Vec::new();
        let mut reply = vec![PduBytes::from(b"bye".to_vec())];
        tokio::join!(
            async {
                client.write_all(&sent).await.unwrap();
                client.shutdown().await.unwrap();
            },
            async {
                loop {
                    std::future::poll_fn(|cx| handle.poll_readable(cx)).await;
                    match handle.read() {
                        Read::Bytes(b) => got.extend(b),
                        Read::Empty => {}
                        Read::Closed => break,
                    }
                }
            }
        );
        assert!(
            got == sent,
            "{} of {} bytes, in order?",
            got.len(),
            sent.len()
        );
        assert_eq!(handle.read(), Read::Empty, "the close is reported once");
        handle.send(&mut reply, &mut Vec::new());
        drop(handle);
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"bye");
    }

    /// `read_now` finds bytes the runtime's I/O driver has not reported yet: the test never
    /// yields between the peer's write and the reads, so `read` (which waits for the news)
    /// finds nothing while `read_now` gets them; after them it finds nothing, and then the
    /// close, once.
    #[tokio::test(flavor = "current_thread")]
    async fn read_now_does_not_wait_for_readiness_news() {
        let (client, mut handle, _events) = connected(true).await;
        let mut client = client.into_std().unwrap();
        client.set_nonblocking(false).unwrap();
        // Whatever readiness the registration started with is cleared by a read that finds
        // nothing; no news can come after it, since the runtime's I/O driver never runs.
        assert_eq!(handle.read(), Read::Empty);
        std::io::Write::write_all(&mut client, b"capsule").unwrap();
        let mut got = Vec::new();
        for _ in 0..1000 {
            match handle.read() {
                Read::Empty => {}
                other => panic!("read found {other:?} without readiness news"),
            }
            match handle.read_now() {
                Read::Bytes(b) => got.extend(b),
                Read::Empty => {}
                Read::Closed => panic!("closed before the peer closed"),
            }
            if got.len() == 7 {
                break;
            }
        }
        assert_eq!(got, b"capsule");
        assert_eq!(handle.read_now(), Read::Empty);
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reads = Vec::new();
        for _ in 0..1000 {
            let r = handle.read_now();
            if r != Read::Empty {
                reads.push(r);
                break;
            }
        }
        assert_eq!(reads, [Read::Closed]);
        assert_eq!(handle.read_now(), Read::Empty, "the close is reported once");
    }
}
