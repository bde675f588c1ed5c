//! Progress bars on stderr, hidden when stderr is not a terminal (pipes,
//! CI) so logs stay clean. Messages go through [`note`], because
//! `ProgressBar::println` is silent when the bar is hidden.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(len: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40.cyan/blue}] {pos}/{len}（{elapsed_precise}）")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message);
    pb
}

/// Prints a line on stderr above the bar (or plainly when hidden).
pub fn note(pb: &ProgressBar, line: &str) {
    pb.suspend(|| eprintln!("{line}"));
}
