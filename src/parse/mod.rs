//! Stage 2: read a file's bytes into text and a JSON tree with spans.
//!
//! Positions are byte offsets until they reach a reporter, which turns them
//! into 1-based lines and columns through [`LineIndex`]. Columns count Unicode
//! code points (SARIF `columnKind: unicodeCodePoints`); a leading byte-order
//! mark takes no column.

pub mod json;

pub use json::{parse, Json, Member, Node, Number, ParseError, Span};

/// Files larger than this are reported, not read: no real template comes
/// close (the largest in Azure's quickstart repository is 1.4 MB).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// Start offsets of every line, to turn byte offsets into positions.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Lines end at `\n`, `\r\n` or a lone `\r`, as editors and GitHub count them.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // The `\r` of a `\r\n` is left to its `\n`.
            if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// Position of a byte offset in `text` (the text the index was built from).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let line_start = self.starts[line];
        let mut prefix = &text.as_bytes()[line_start..offset];
        if line == 0 && prefix.starts_with("\u{feff}".as_bytes()) {
            prefix = &prefix[3..];
        }
        // Count code points: every byte that does not continue a UTF-8 sequence.
        let column = prefix.iter().filter(|b| (**b & 0xC0) != 0x80).count();
        Position {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text<'t>(&self, text: &'t str, line: u32) -> &'t str {
        let Some(&start) = self.starts.get((line as usize).saturating_sub(1)) else {
            return "";
        };
        let end = self
            .starts
            .get(line as usize)
            .copied()
            .unwrap_or(text.len());
        let s = text.get(start..end).unwrap_or("");
        let s = s.trim_end_matches(['\n', '\r']);
        s.strip_prefix('\u{feff}').unwrap_or(s)
    }
}

/// Why a file's bytes could not become text.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    TooLarge(u64),
    /// Offset of the first byte that is not UTF-8, and the valid text before it.
    NotUtf8 {
        offset: usize,
        valid_prefix: String,
    },
}

/// Reads a file as UTF-8 text, refusing files over [`MAX_FILE_BYTES`].
pub fn read_text(path: &std::path::Path) -> Result<String, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(len));
    }
    // Read one byte past the limit, in case the file grew since `metadata`.
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let valid_prefix = String::from_utf8_lossy(&bytes[..offset]).into_owned();
        ReadError::NotUtf8 {
            offset,
            valid_prefix,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_code_points() {
        let text = "\u{feff}ab\r\nçd\re\nf";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 3), Position { line: 1, column: 1 });
        assert_eq!(idx.position(text, 4), Position { line: 1, column: 2 });
        let d = text.find('d').expect("d");
        assert_eq!(idx.position(text, d), Position { line: 2, column: 2 });
        let e = text.find('e').expect("e");
        assert_eq!(idx.position(text, e), Position { line: 3, column: 1 });
        assert_eq!(idx.line_text(text, 1), "ab");
        assert_eq!(idx.line_text(text, 2), "çd");
        assert_eq!(idx.line_text(text, 4), "f");
        assert_eq!(idx.line_text(text, 9), "");
        let breaks = "a\n\r\n\r\rb\r\n";
        let idx = LineIndex::new(breaks);
        assert_eq!(idx.starts, [0, 2, 4, 5, 6, 9]);
    }
}
