//! Little-endian field access on byte slices (the smoltcp `field` helpers).
//!
//! Owns: bounds-checked-by-construction reads and writes. Callers MUST have checked the slice
//! length first (every caller works on a slice whose length the decoder already validated);
//! the `debug_assert!`s name that duty.

/// Reads a little-endian `u16` at `off`.
#[inline]
pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    debug_assert!(
        b.len() >= off + 2,
        "get_u16 past the end: caller skipped a length check"
    );
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

/// Reads a little-endian `u32` at `off`.
#[inline]
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    debug_assert!(
        b.len() >= off + 4,
        "get_u32 past the end: caller skipped a length check"
    );
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Reads a little-endian `u64` at `off`.
#[inline]
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Writes a little-endian `u16` at `off`.
#[inline]
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian `u32` at `off`.
#[inline]
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian `u64` at `off`.
#[inline]
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Reads a NUL-padded string field (NQNs): bytes up to the first NUL, `None` if not UTF-8.
pub(crate) fn get_cstr(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8(b[..end].to_vec()).ok()
}

/// Writes `s` into `field`, truncated to leave room for one NUL; the rest stays as it was
/// (callers pass a zeroed field).
pub(crate) fn put_cstr(field: &mut [u8], s: &str) {
    let n = s.len().min(field.len().saturating_sub(1));
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Reads a space-padded ASCII field (serial number, model, firmware): trailing spaces and
/// NULs removed, non-UTF-8 bytes replaced.
pub(crate) fn get_padded(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Writes `s` space-padded into `field` (truncated to the field).
pub(crate) fn put_padded(field: &mut [u8], s: &str) {
    field.fill(b' ');
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_endian_fields() {
        let mut b = [0u8; 16];
        put_u16(&mut b, 0, 0x1234);
        put_u32(&mut b, 2, 0xdead_beef);
        put_u64(&mut b, 6, 0x0102_0304_0506_0708);
        assert_eq!(&b[..6], &[0x34, 0x12, 0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(get_u16(&b, 0), 0x1234);
        assert_eq!(get_u32(&b, 2), 0xdead_beef);
        assert_eq!(get_u64(&b, 6), 0x0102_0304_0506_0708);
        assert_eq!(b[6], 0x08);
    }

    #[test]
    fn string_fields() {
        let mut f = [0u8; 8];
        put_cstr(&mut f, "nqn.abcdefgh");
        assert_eq!(&f, b"nqn.abc\0");
        assert_eq!(get_cstr(&f).unwrap(), "nqn.abc");
        assert_eq!(get_cstr(&[0xff, 0]), None);
        put_padded(&mut f, "ab");
        assert_eq!(&f, b"ab      ");
        assert_eq!(get_padded(&f), "ab");
        assert_eq!(get_padded(b"  "), "");
    }
}
