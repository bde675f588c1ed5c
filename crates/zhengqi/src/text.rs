//! Plain-text table helpers for terminal output.

/// Display width in a terminal: CJK characters take two columns.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Pads `s` with spaces to `w` display columns.
pub fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_double() {
        assert_eq!(width("qiye"), 4);
        assert_eq!(width("企业用户"), 8);
        assert_eq!(pad("督查人员", 12), "督查人员    ");
    }
}
