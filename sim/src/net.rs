//! Per-connection, per-direction in-order byte pipes. A pipe keeps bytes in order and may hand
//! out any prefix of what is pending (that is how PDUs get split at arbitrary bytes); a close
//! (FIN) is queued behind the bytes and delivered only once they are gone.
//!
//! Invariants kept: bytes come out in the order they went in, none twice, none lost unless the
//! connection is reset (`clear`); the FIN is never delivered before the last byte.

use std::collections::VecDeque;

/// One direction of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Pipe {
    bytes: VecDeque<u8>,
    fin: bool,
}

/// What one delivery hands to the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Bytes(Vec<u8>),
    Fin,
}

impl Pipe {
    /// Queues bytes behind what is pending. Bytes after a FIN are dropped (the writer closed).
    pub fn push(&mut self, data: &[u8]) {
        if !self.fin {
            self.bytes.extend(data);
        }
    }

    /// Hashes the pending bytes as one byte string (the derived `Hash` writes them one by one),
    /// then the FIN (host symmetry renames host NQNs in byte strings: `world::symmetry`).
    pub fn hash_whole<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        let (a, b) = self.bytes.as_slices();
        [a, b].concat().hash(h);
        self.fin.hash(h);
    }

    /// Queues a FIN behind the pending bytes.
    pub fn close(&mut self) {
        self.fin = true;
    }

    /// Drops everything pending (a reset); a pending FIN goes too.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fin = false;
    }

    /// Bytes pending.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing (neither bytes nor a FIN) is pending.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && !self.fin
    }

    /// Whether a FIN was queued (delivered or not).
    pub fn fin_queued(&self) -> bool {
        self.fin
    }

    /// Takes the next delivery: `Some(n)` bytes (clamped to `1..=len`), or all when `None`;
    /// the FIN once no bytes are left. `None` when the pipe is empty.
    pub fn take(&mut self, prefix: Option<usize>) -> Option<Delivery> {
        if self.bytes.is_empty() {
            if self.fin {
                self.fin = false;
                self.bytes.shrink_to_fit();
                return Some(Delivery::Fin);
            }
            return None;
        }
        let n = prefix
            .unwrap_or(self.bytes.len())
            .clamp(1, self.bytes.len());
        Some(Delivery::Bytes(self.bytes.drain(..n).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_split_anywhere_then_fin() {
        let mut p = Pipe::default();
        assert!(p.is_empty() && p.take(None).is_none());
        p.push(&[1, 2, 3]);
        p.push(&[4, 5]);
        p.close();
        p.push(&[9]);
        assert_eq!(p.len(), 5);
        assert_eq!(p.take(Some(2)), Some(Delivery::Bytes(vec![1, 2])));
        assert_eq!(p.take(Some(0)), Some(Delivery::Bytes(vec![3])));
        assert_eq!(p.take(Some(99)), Some(Delivery::Bytes(vec![4, 5])));
        assert!(!p.is_empty());
        assert_eq!(p.take(None), Some(Delivery::Fin));
        assert!(p.is_empty());
        assert_eq!(p.take(None), None);
    }

    #[test]
    fn reset_drops_bytes_and_fin() {
        let mut p = Pipe::default();
        p.push(&[1]);
        p.close();
        p.clear();
        assert!(p.is_empty());
    }
}
