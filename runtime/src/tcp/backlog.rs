//! A connection's send queue (`Backlog`): the PDUs the driver sent that the socket has not
//! taken yet, written with `writev` from the driver (direct writes) or from the connection's
//! writer task, always under the `Outbox` lock of `super::ConnHandle`.
//!
//! Invariant kept: PDUs leave in the order queued, each byte once (`sent` counts the first
//! PDU's bytes already written); after a failed write nothing more is queued or written.

use super::ConnPermit;
use fabcheck_core::wire::PduBytes;
use std::collections::VecDeque;
use std::io::IoSlice;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// At most this many buffers per `writev` (Linux `UIO_MAXIOV` is 1024); they live on the
/// stack, so a write allocates nothing, and are cleared for every call, so there are not more
/// of them than 32 responses of two parts need.
const MAX_IOV: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Backlog {
    pub(super) pdus: VecDeque<PduBytes>,
    /// Bytes of the first queued PDU already written.
    pub(super) sent: usize,
    /// The handle was dropped: flush, then shut down.
    pub(super) closing: bool,
    /// The read side the driver read itself, handed over at the close: the writer task
    /// lingers on it after the flush, as the reader task does otherwise.
    pub(super) linger: Option<(OwnedReadHalf, ConnPermit)>,
    /// A write failed (the peer is gone; the reader reports it): later sends are dropped.
    pub(super) failed: bool,
}

impl Backlog {
    /// Writes queued bytes until the queue is empty (`Ok(true)`) or the socket is full
    /// (`Ok(false)`), handing each PDU written out in full to `done`.
    pub(super) fn write_some(
        &mut self,
        wr: &OwnedWriteHalf,
        mut done: impl FnMut(PduBytes),
    ) -> std::io::Result<bool> {
        while !self.pdus.is_empty() {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut n_iov = 0;
            let mut skip = self.sent;
            'fill: for pdu in &self.pdus {
                for part in pdu.parts() {
                    if skip >= part.len() {
                        skip -= part.len();
                        continue;
                    }
                    iov[n_iov] = IoSlice::new(&part[skip..]);
                    skip = 0;
                    n_iov += 1;
                    if n_iov == MAX_IOV {
                        break 'fill;
                    }
                }
            }
            match wr.try_write_vectored(&iov[..n_iov]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => self.advance(n, &mut done),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Takes the first `n` queued bytes off the queue, handing each PDU they complete to
    /// `done`.
    pub(super) fn advance(&mut self, mut n: usize, done: &mut impl FnMut(PduBytes)) {
        while let Some(first) = self.pdus.front() {
            let left = first.len() - self.sent;
            if n < left {
                self.sent += n;
                return;
            }
            n -= left;
            self.sent = 0;
            if let Some(pdu) = self.pdus.pop_front() {
                done(pdu);
            }
        }
    }

    pub(super) fn fail(&mut self, e: &std::io::Error) {
        // The peer is gone; the read side (the reader task, or the driver's `read`) sees it
        // and reports the close.
        tracing::debug!("write failed: {e}");
        self.failed = true;
        self.pdus.clear();
        self.sent = 0;
    }
}
