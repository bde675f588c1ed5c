//! Bytes → normalised text: encoding detection, line endings, stray whitespace.

use super::PolicyParseError;

/// Policy records are a few kilobytes; anything far larger is not a record
/// and would only slow the importer down.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Decodes UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030.
pub fn decode(bytes: &[u8]) -> Result<String, PolicyParseError> {
    if bytes.len() > MAX_BYTES {
        return Err(PolicyParseError::TooLarge { bytes: bytes.len() });
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(str::to_owned)
            .map_err(|_| PolicyParseError::Encoding);
    }
    // Notepad's "Unicode" exports carry a BOM; without one UTF-16 is not guessed.
    for (bom, enc) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return enc
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|c| c.into_owned())
                .ok_or(PolicyParseError::Encoding);
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    // Valid UTF-8 is almost never accidental for Chinese text, so GB18030 is
    // only tried when UTF-8 fails; malformed input is rejected, not replaced.
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
        .ok_or(PolicyParseError::Encoding)
}

/// One trimmed, non-empty line per entry: CRLF/CR become LF, zero-width and
/// control characters are dropped, tabs become spaces.
pub fn normalise(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .filter_map(|c| match c {
            '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => Some('\n'),
            '\t' => Some(' '),
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
            c if c.is_control() && c != '\n' => None,
            c => Some(c),
        })
        .collect();
    cleaned
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
