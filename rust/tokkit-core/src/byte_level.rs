//! The GPT-2 byte-to-unicode table: every byte gets a printable char, so byte-level tokens can be
//! stored as JSON strings. Bytes 33-126, 161-172 and 174-255 map to themselves; the other 68 map,
//! in increasing order, to U+0100..U+0143 (space is `Ġ`, newline `Ċ`).

use std::sync::OnceLock;

fn tables() -> &'static ([char; 256], [u16; 324]) {
    static TABLES: OnceLock<([char; 256], [u16; 324])> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut to_char = ['\0'; 256];
        // Reverse table over the code points used (0..=0x143); u16::MAX marks "not a byte char".
        let mut to_byte = [u16::MAX; 324];
        let mut next = 0x100u32;
        for b in 0..=255u8 {
            let keep = matches!(b, 33..=126 | 161..=172 | 174..=255);
            let cp = if keep {
                u32::from(b)
            } else {
                next += 1;
                next - 1
            };
            let c = char::from_u32(cp).expect("code points below 0x144 are valid chars");
            to_char[usize::from(b)] = c;
            to_byte[cp as usize] = u16::from(b);
        }
        (to_char, to_byte)
    })
}

/// The char that stands for byte `b`.
#[must_use]
pub fn byte_to_char(b: u8) -> char {
    tables().0[usize::from(b)]
}

/// The byte a byte-level char stands for, or `None` for a char outside the table.
#[must_use]
pub fn char_to_byte(c: char) -> Option<u8> {
    let table = &tables().1;
    let v = *table.get(c as usize)?;
    u8::try_from(v).ok()
}

/// Maps raw bytes to their byte-level string (`b" a"` becomes `"Ġa"`).
#[must_use]
pub fn bytes_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_to_char(b)).collect()
}

/// Maps a byte-level string back to raw bytes; `None` if it has a char outside the table.
#[must_use]
pub fn string_to_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(char_to_byte).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_a_bijection_with_the_known_anchors() {
        let chars: std::collections::HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(chars.len(), 256);
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'\t'), 'ĉ');
        assert_eq!(byte_to_char(b'\r'), 'č');
        assert_eq!(byte_to_char(b'a'), 'a');
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
        assert_eq!(char_to_byte('€'), None);
    }
}
