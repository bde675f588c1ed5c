//! Search latency on 10,000 generated policies (issue 3: p95 < 20 ms).
//! Run: `cargo bench -p zhengqi-search` (release profile). Prints indexing
//! time and p50/p95/p99 latency for text queries, filtered queries and
//! combined queries. Data is generated from a fixed seed.

use std::time::Instant;

use chrono::NaiveDate;
use zhengqi_search::{PolicyDoc, SearchIndex, SearchQuery, Validity};

const PHRASES: &[&str] = &[
    "对新认定的高新技术企业给予一次性奖励",
    "研发费用按比例给予补助",
    "支持企业技术改造和设备更新",
    "优化营商环境推行容缺受理",
    "实施并联审批压缩审批时限",
    "对专精特新中小企业给予资金扶持",
    "稳岗补贴按参保人数发放",
    "引进高层次人才给予安家补贴",
    "支持企业开拓国际市场参加境外展会",
    "对首台套重大技术装备给予奖励",
    "企业上市挂牌分阶段给予奖励",
    "工业用地弹性年期出让",
    "对租赁办公用房给予租金补贴",
    "支持建设产业配套基础设施",
    "政府性资金事前绩效评估",
    "免申即享直接兑现到企业账户",
    "链主企业专人对接上门服务",
    "数字化转型智能制造示范项目",
    "绿色低碳节能改造补助",
    "知识产权质押融资贴息",
    "跨境电商综合试验区建设",
    "新能源汽车产业链招商引资",
    "集成电路设计企业流片补贴",
    "生物医药临床试验补助",
];
const AREAS: &[&str] = &[
    "440400",
    "440400-SZS",
    "440402",
    "440403",
    "440404",
    "440400-GXQ",
    "440400-HZXQ",
    "440400-BSQ",
    "440400-WSQ",
    "440400-GLG",
    "440400-HQ",
];
const SIZES: &[&str] = &["大型", "中型", "小型", "微型"];
const TYPES: &[&str] = &["资金扶持", "税费减免", "人才支持", "用地保障", "审批服务"];
const DEPTS: &[&str] = &[
    "SFGJ", "SCZJ", "SKJJ", "SGXJ", "SRSJ", "SZRJ", "SZSS", "SSWJ",
];
const QUERIES: &[&str] = &[
    "高新技术企业 奖励",
    "研发 补助",
    "营商环境",
    "人才",
    "上市",
    "租金补贴",
    "技术改造",
    "容缺受理",
    "首台套",
    "跨境电商",
];

fn generate(n: usize) -> Vec<PolicyDoc> {
    let mut rng = fastrand::Rng::with_seed(3);
    (0..n as i64)
        .map(|id| {
            let title = format!(
                "珠海市{}实施办法（第{}号）",
                PHRASES[rng.usize(..PHRASES.len())],
                id
            );
            let body: String = (0..rng.usize(20..60))
                .map(|i| {
                    format!(
                        "{}、{}，最高不超过{}万元。",
                        i + 1,
                        PHRASES[rng.usize(..PHRASES.len())],
                        rng.u32(10..1000)
                    )
                })
                .collect();
            let pick = |rng: &mut fastrand::Rng, xs: &[&str], k: usize| -> Vec<String> {
                (0..k)
                    .map(|_| xs[rng.usize(..xs.len())].to_owned())
                    .collect()
            };
            PolicyDoc {
                id,
                title,
                body,
                sizes: pick(&mut rng, SIZES, 3),
                areas: pick(&mut rng, AREAS, 2),
                departments: pick(&mut rng, DEPTS, 2),
                policy_type: TYPES[rng.usize(..TYPES.len())].to_owned(),
                status: "published".into(),
                valid_until: if rng.bool() {
                    None
                } else {
                    NaiveDate::from_ymd_opt(2025 + rng.i32(0..3), rng.u32(1..13), 1)
                },
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn run(ix: &SearchIndex, name: &str, make: impl Fn(usize) -> SearchQuery) {
    for i in 0..50 {
        ix.search(&make(i)).unwrap();
    }
    let mut times: Vec<f64> = (0..1000)
        .map(|i| {
            let q = make(i);
            let t = Instant::now();
            let r = ix.search(&q).unwrap();
            std::hint::black_box(r.total);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<28} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  (1000 queries, top 20 with snippets)",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99)
    );
}

fn main() {
    let n = std::env::var("POLICIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let docs = generate(n);
    let ix = SearchIndex::new().unwrap();
    let t = Instant::now();
    for chunk in docs.chunks(2_000) {
        ix.upsert(chunk).unwrap();
    }
    println!("indexed {n} policies in {:.2} s", t.elapsed().as_secs_f64());
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    run(&ix, "text only", |i| SearchQuery {
        text: QUERIES[i % QUERIES.len()].into(),
        limit: 20,
        ..Default::default()
    });
    run(&ix, "filters only", |i| SearchQuery {
        size: Some(SIZES[i % 4].into()),
        areas_any: vec![AREAS[i % AREAS.len()].into(), "440400".into()],
        validity: Validity::InForceOn(today),
        limit: 20,
        ..Default::default()
    });
    run(&ix, "text + filters", |i| SearchQuery {
        text: QUERIES[i % QUERIES.len()].into(),
        size: Some("小型".into()),
        areas_any: vec!["440400-BSQ".into(), "440400-HZXQ".into(), "440400".into()],
        department: Some(DEPTS[i % DEPTS.len()].into()),
        validity: Validity::InForceOn(today),
        limit: 20,
        ..Default::default()
    });
}
