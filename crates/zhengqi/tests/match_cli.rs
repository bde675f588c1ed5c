//! `zhengqi match` over the demo database: the command-line full match must
//! agree with the pushes the server recorded at its start (same data, same
//! day), and its CSV must hold exactly the pairs it counts.

#[macro_use]
mod common;

use std::fs;
use std::process::Command;

use common::*;

fn count_after(text: &str, prefix: &str, suffix: &str) -> Option<usize> {
    let start = text.find(prefix)? + prefix.len();
    let rest = &text[start..];
    rest[..rest.find(suffix)?].trim().parse().ok()
}

#[test]
fn match_agrees_with_the_servers_pushes_and_writes_its_pairs() {
    let mut guard = Guard::new();
    // Seeds the demo and runs the initial match before answering.
    guard.start_server().expect("zhengqi serve --demo");
    guard.kill_server().unwrap();
    let log = fs::read_to_string(guard.log("server.log")).unwrap();
    let pushed = count_after(&log, "政策匹配完成：新推送", "条")
        .unwrap_or_else(|| panic!("no push count in the server log:\n{log}"));
    assert!(pushed > 0, "the demo rules match some enterprises");

    let csv = guard.dir.join("matches.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .args(["match", "--out"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(guard.dir.join("data"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eligible = count_after(&stdout, "合计：符合", "对").expect(&stdout);
    let undetermined = count_after(&stdout, "对，无法判断", "对").expect(&stdout);
    assert_eq!(
        eligible, pushed,
        "CLI match vs pushes at serve start\n{stdout}"
    );

    let text = fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}统一社会信用代码,政策编号,结论,金额（元）")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let yes = rows.iter().filter(|r| r[2] == "符合").count();
    let unknown = rows.iter().filter(|r| r[2] == "无法判断").count();
    assert_eq!((yes, unknown), (eligible, undetermined));
    for r in &rows {
        assert_eq!(r[0].len(), 18, "a 统一社会信用代码: {r:?}");
        assert!(r[1].parse::<i64>().is_ok(), "policy id: {r:?}");
        if r[2] == "符合" && !r[3].is_empty() {
            // Amounts are printed exactly, in 元 with two decimals.
            let (yuan, fen) = r[3].split_once('.').expect("元.分");
            assert!(yuan.parse::<i64>().is_ok() && fen.len() == 2, "{r:?}");
        }
    }

    // A bad date is a clear error with exit code 2, nothing matched.
    let bad = Command::new(env!("CARGO_BIN_EXE_zhengqi"))
        .args(["match", "--date", "2026-13-01", "--data-dir"])
        .arg(guard.dir.join("data"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("日期“2026-13-01”无效"));
}
