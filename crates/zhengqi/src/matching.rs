//! `zhengqi match`: the full eligibility match over the stored data — every
//! enterprise against the current rule of every published policy — with
//! counts and timings, and optionally one CSV row per (enterprise, policy)
//! that is eligible or undetermined. Also seeds the demo's rules.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_eligibility::award::Mode;
use zhengqi_eligibility::{Context, Population, RuleSet, Verdict, parse_rule};
use zhengqi_store::{Actor, Store};

use crate::cli::DbArgs;
use crate::{db, fail};

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

pub async fn run(
    out: Option<&Path>,
    date: Option<&str>,
    args: &DbArgs,
) -> anyhow::Result<ExitCode> {
    let today = match date {
        None => chrono::Local::now().date_naive(),
        Some(d) => d
            .parse::<NaiveDate>()
            .map_err(|_| fail(2, format!("日期“{d}”无效，应为 YYYY-MM-DD")))?,
    };
    let (store, rd) = db::open(args).await?;
    let t = Instant::now();
    let subjects = store.load_subjects().await?;
    let t_load = t.elapsed();
    let ctx = Context {
        today,
        reference: &rd,
    };
    let t = Instant::now();
    let pop = Population::build(subjects, &ctx);
    let t_build = t.elapsed();
    let rules = store.published_rules(today).await?;
    let titles: std::collections::HashMap<i64, String> = rules
        .iter()
        .map(|r| (r.policy_id, r.title.clone()))
        .collect();
    let t = Instant::now();
    let set = RuleSet::new(
        rules.into_iter().map(|r| (r.policy_id, r.rule)).collect(),
        &ctx,
    );
    let result = set.match_all(&pop);
    let t_match = t.elapsed();
    println!(
        "匹配日期 {today}：企业 {} 家 × 有规则的已发布政策 {} 项",
        pop.len(),
        set.len()
    );
    println!(
        "耗时：读取数据 {:.0} ms，建立列存 {:.0} ms，匹配 {:.1} ms",
        t_load.as_secs_f64() * 1000.0,
        t_build.as_secs_f64() * 1000.0,
        t_match.as_secs_f64() * 1000.0
    );
    println!("政策编号\t符合\t无法判断\t金额合计（元）\t政策");
    let mut ids: Vec<i64> = set.policy_ids().collect();
    ids.sort();
    for id in &ids {
        if let Some(m) = result.policy(*id) {
            println!(
                "{id}\t{}\t{}\t{}\t{}",
                m.eligible_count(),
                m.undetermined_count(),
                yuan(m.amount_total()),
                titles.get(id).map(String::as_str).unwrap_or("")
            );
        }
    }
    println!(
        "合计：符合 {} 对，无法判断 {} 对",
        result.eligible_pairs(),
        result.undetermined_pairs()
    );
    if let Some(path) = out {
        let f = std::fs::File::create(path)
            .map_err(|e| fail(2, format!("无法写入 {}：{e}", path.display())))?;
        let mut w = std::io::BufWriter::new(f);
        // UTF-8 with BOM so Excel opens the Chinese header correctly.
        w.write_all("\u{feff}统一社会信用代码,政策编号,结论,金额（元）\n".as_bytes())?;
        let mut rows = 0usize;
        for r in result.iter(&pop) {
            let verdict = match r.verdict {
                Verdict::Eligible => "符合",
                Verdict::Undetermined => "无法判断",
                Verdict::NotEligible => continue,
            };
            let amount = r.amount.map(yuan).unwrap_or_default();
            writeln!(w, "{},{},{verdict},{amount}", r.uscc, r.policy)?;
            rows += 1;
        }
        w.flush()?;
        println!("已写出 {rows} 行到 {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

const DEMO_RULES: &str = include_str!("../../../data/rules/demo-rules.txt");

/// (policy file stem, mode, rule text) sections of the demo rule file.
pub fn demo_rule_sections() -> Vec<(String, Mode, String)> {
    let mut out: Vec<(String, Mode, String)> = Vec::new();
    for line in DEMO_RULES.lines() {
        if let Some(head) = line
            .trim()
            .strip_prefix("==")
            .and_then(|h| h.strip_suffix("=="))
        {
            let (key, mode) = head.split_once('|').unwrap_or((head, "依申请"));
            out.push((
                key.trim().to_owned(),
                Mode::parse(mode).unwrap_or(Mode::Standard),
                String::new(),
            ));
        } else if let Some(last) = out.last_mut()
            && !line.trim_start().starts_with('#')
        {
            last.2.push_str(line);
            last.2.push('\n');
        }
    }
    for s in &mut out {
        s.2 = s.2.trim().to_owned();
    }
    out
}

/// Gives the demo's sample policies their rules (idempotent: saving the
/// same text again is a no-op). `ids` maps file stems to policy ids.
pub async fn seed_demo_rules(
    store: &Store,
    rd: &ReferenceData,
    ids: &[(String, i64)],
) -> anyhow::Result<usize> {
    let actor = Actor::system("演示数据");
    let mut n = 0;
    for (key, mode, text) in demo_rule_sections() {
        let Some((_, id)) = ids.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        let rule = parse_rule(&text, rd).map_err(|e| {
            anyhow::anyhow!(
                "演示规则 {key} 有误：{}",
                zhengqi_eligibility::syntax::format_errors(&e)
            )
        })?;
        store.save_rule(*id, &text, &rule, mode, &actor).await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_rule_parses_and_names_a_sample_policy() {
        let rd = ReferenceData::zhuhai();
        let sections = demo_rule_sections();
        assert!(sections.len() >= 6, "{sections:?}");
        assert!(sections.iter().any(|s| s.1 == Mode::Exempt));
        assert!(sections.iter().any(|s| s.1 == Mode::Instant));
        for (key, _, text) in &sections {
            assert!(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../../data/policies/{key}.txt"))
                    .exists(),
                "{key}"
            );
            if let Err(e) = parse_rule(text, &rd) {
                panic!("{key}: {}", zhengqi_eligibility::syntax::format_errors(&e));
            }
        }
    }
}
