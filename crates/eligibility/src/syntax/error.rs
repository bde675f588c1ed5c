//! Errors of the rule language: where (line/column or JSON path), what was
//! found, what was expected — in Chinese, for policy staff.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// One problem in a rule. Text rules carry a position (1-based line and
/// column in characters, plus the byte span for highlighting); rules that
/// arrived as JSON carry `path` (e.g. `condition.all[1].left`) and line 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub line: usize,
    pub column: usize,
    pub span: Range<usize>,
    /// What is wrong, without the position prefix (UIs show the position
    /// themselves); [`fmt::Display`] adds it.
    pub message: String,
    /// What would have been accepted here, e.g. field names or units.
    pub expected: Vec<String>,
    /// JSON path for rules checked without source text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl RuleError {
    /// An error at byte span `span` of `src`.
    pub(crate) fn at(src: &str, span: Range<usize>, message: impl Into<String>) -> RuleError {
        let start = floor_char_boundary(src, span.start.min(src.len()));
        let before = &src[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = src[line_start..start].chars().count() + 1;
        RuleError {
            line,
            column,
            span,
            message: message.into(),
            expected: Vec::new(),
            path: None,
        }
    }

    /// An error in a rule without source text (JSON), located by `path`.
    pub(crate) fn at_path(path: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            line: 0,
            column: 0,
            span: 0..0,
            message: message.into(),
            expected: Vec::new(),
            path: Some(path.to_string()),
        }
    }

    pub(crate) fn expecting<S: Into<String>>(
        mut self,
        expected: impl IntoIterator<Item = S>,
    ) -> RuleError {
        self.expected = expected.into_iter().map(Into::into).collect();
        self
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "第{}行第{}列：{}", self.line, self.column, self.message)
        } else if let Some(p) = self.path.as_deref().filter(|p| !p.is_empty()) {
            write!(f, "{p}：{}", self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for RuleError {}

/// All errors, one per line, for logs and CLI output.
pub fn format_errors(errors: &[RuleError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
