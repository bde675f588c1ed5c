//! Demo data: about 2,000 fictional Zhuhai enterprises with three years of
//! indicators, plus demo accounts. Generation is a pure, seeded function
//! (so it can be tested and always gives the same registry); storing it is
//! separate.
//!
//! Sizes are not declared: each enterprise's figures are drawn inside the
//! bounds of a target size class, and [`Enterprise::compute_size`] derives
//! the class from the latest year, so the rule text is shown in the UI.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use fastrand::Rng;
use zhengqi_domain::auth::{Role, Username};
use zhengqi_domain::enterprise::{
    Certification, Enterprise, Indicator, IndicatorKind, NewIndicator,
};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::{Indicator as SizeIndicator, SizeClass, Threshold};
use zhengqi_domain::uscc::Uscc;
use zhengqi_store::{Actor, NewAccount, Store};

use crate::progress::{bar, note};

pub const DEMO_PASSWORD: &str = "zhengqi2026";

/// (username, role label, description) of every demo account.
pub const DEMO_ACCOUNTS: &[(&str, &str, &str)] = &[
    (
        "qiye",
        "企业用户",
        "示范企业经办人，绑定 珠海示范科技有限公司（保税区，软件业小型企业）",
    ),
    (
        "qiye2",
        "企业用户",
        "格力电器经办人，绑定 珠海格力电器股份有限公司（香洲区，大型企业）",
    ),
    ("fgj", "部门工作人员", "发改局工作人员，市发展改革局"),
    ("swj", "部门工作人员", "税务局工作人员，市税务局"),
    // The departments of 开办餐饮店一件事, so its parallel handling can be tried.
    (
        "scjg",
        "部门工作人员",
        "市场监管局工作人员，市市场监督管理局",
    ),
    ("shuiwu", "部门工作人员", "水务局工作人员，市水务局"),
    ("zjj", "部门工作人员", "住建局工作人员，市住房城乡建设局"),
    ("ducha", "督查人员", "市政府办公室督查科"),
    ("admin", "系统管理员", "管理参考数据、账号与数据导入"),
];

pub const SEED: u64 = 20221;
/// Randomly generated enterprises (the two fixed ones come on top).
pub const RANDOM_ENTERPRISES: usize = 2_000;

pub const GREE_USCC: &str = "91440400192548256N";
pub const GREE_NAME: &str = "珠海格力电器股份有限公司";
pub const SHOWCASE_NAME: &str = "珠海示范科技有限公司";
/// First 17 characters of the showcase enterprise's code; the check
/// character is computed.
const SHOWCASE_BODY: &str = "91440400MA4WKF01X";

/// USCC characters usable in the body (I, O, Z, S, V are excluded).
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

const BRAND: &[char] = &[
    '华', '金', '海', '格', '瑞', '科', '达', '信', '联', '鑫', '恒', '宏', '泰', '丰', '源', '隆',
    '盛', '兴', '安', '诚', '德', '创', '新', '益', '嘉', '汇', '博', '宇', '明', '通', '远', '邦',
    '卓', '越', '腾', '锐', '航', '星', '辰', '凯', '智', '合', '美', '亿', '晟', '富', '康', '顺',
    '和', '佳',
];

const SURNAMES: &[char] = &[
    '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭',
    '何', '林', '罗', '高', '梁', '郑', '谢', '冯', '邓', '曾', '彭', '肖', '蔡', '潘', '袁', '许',
    '钟', '卢', '叶', '苏', '温', '江', '区', '莫',
];

const GIVEN: &[char] = &[
    '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明',
    '超', '秀', '霞', '平', '刚', '桂', '华', '建', '国', '志', '文', '辉', '海', '玲', '晓', '婷',
    '雪', '峰', '宇', '鹏', '斌', '俊', '家', '嘉', '欣', '子', '浩', '锦', '荣',
];

/// GB/T 4754 division, weight, and name words that fit it. Manufacturing
/// dominates, as in Zhuhai's registry of industrial enterprises.
const INDUSTRY_MIX: &[(&str, u32, &[&str])] = &[
    ("39", 140, &["电子科技", "微电子", "光电科技"]),
    ("38", 80, &["电气", "新能源科技", "电器"]),
    ("34", 90, &["智能装备", "精密机械", "自动化设备"]),
    ("35", 70, &["机械设备", "医疗器械", "专用设备"]),
    ("27", 55, &["生物医药", "制药", "生物科技"]),
    ("36", 20, &["汽车零部件", "汽车电子"]),
    ("33", 20, &["五金制品", "金属制品"]),
    ("29", 20, &["塑胶制品", "橡塑科技"]),
    ("26", 15, &["化工", "精细化工"]),
    ("30", 10, &["新材料", "建材"]),
    ("40", 12, &["仪器仪表", "检测仪器"]),
    ("13", 8, &["食品", "农产品加工"]),
    ("14", 10, &["食品"]),
    ("15", 5, &["饮料"]),
    ("17", 5, &["纺织"]),
    ("18", 6, &["服饰"]),
    ("22", 4, &["纸业", "包装"]),
    ("23", 6, &["印刷", "包装印刷"]),
    ("65", 200, &["软件技术", "信息技术", "网络科技", "数字科技"]),
    ("51", 140, &["贸易", "进出口贸易", "供应链管理"]),
    ("52", 90, &["商贸", "百货"]),
    ("72", 90, &["企业管理咨询", "商务服务"]),
    ("75", 60, &["科技", "科技服务"]),
    ("73", 25, &["科技", "检测技术"]),
    ("62", 40, &["餐饮管理"]),
    ("47", 15, &["建设工程"]),
    ("48", 20, &["建设工程", "建筑工程"]),
    ("70", 25, &["房地产开发", "置业"]),
    ("54", 35, &["物流", "运输"]),
];

/// Relative weights of the areas (by name); others get a small default.
const AREA_WEIGHTS: &[(&str, u32)] = &[
    ("香洲区", 26),
    ("高新区", 16),
    ("金湾区", 10),
    ("高栏港", 8),
    ("斗门区", 12),
    ("横琴", 14),
    ("保税区", 6),
    ("万山区", 2),
    ("市直属", 2),
];

/// Generated registry and the indicator history of every enterprise.
pub struct DemoData {
    pub enterprises: Vec<Enterprise>,
    pub indicators: Vec<(Uscc, Indicator)>,
}

/// Department codes of the data sources, looked up by name so the demo
/// follows whatever codes the reference data uses.
struct Sources {
    tax: String,
    hr: String,
    science: String,
    statistics: String,
    market: String,
    industry: String,
    land: String,
}

fn dept(rd: &ReferenceData, name: &str) -> anyhow::Result<String> {
    rd.department_by_name(name)
        .map(|d| d.code.clone())
        .ok_or_else(|| anyhow::anyhow!("参考数据中没有部门“{name}”，无法生成演示数据"))
}

impl Sources {
    fn new(rd: &ReferenceData) -> anyhow::Result<Sources> {
        Ok(Sources {
            tax: dept(rd, "市税务局")?,
            hr: dept(rd, "市人力资源社会保障局")?,
            science: dept(rd, "市科技创新局")?,
            statistics: dept(rd, "市统计局")?,
            market: dept(rd, "市市场监督管理局")?,
            industry: dept(rd, "市工业和信息化局")?,
            land: dept(rd, "市自然资源局")?,
        })
    }
}

fn area_code_by_name(rd: &ReferenceData, name: &str) -> anyhow::Result<String> {
    rd.area_by_name(name)
        .map(|a| a.code.clone())
        .ok_or_else(|| anyhow::anyhow!("参考数据中没有区域“{name}”，无法生成演示数据"))
}

/// Areas an enterprise can be registered in: every leaf, plus districts
/// (GB/T 2260 codes) that also contain function zones.
fn registrable_areas(rd: &ReferenceData) -> Vec<(String, u32)> {
    let parents: HashSet<&str> = rd
        .areas
        .iter()
        .filter_map(|a| a.parent.as_deref())
        .collect();
    rd.areas
        .iter()
        .filter(|a| a.parent.is_some())
        .filter(|a| !parents.contains(a.code.as_str()) || is_division_code(&a.code))
        .map(|a| {
            let w = AREA_WEIGHTS
                .iter()
                .find(|(n, _)| *n == a.name)
                .map_or(4, |(_, w)| *w);
            (a.code.clone(), w)
        })
        .collect()
}

fn is_division_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The GB/T 2260 code of the registering authority: the area's own code
/// for a district, else the nearest ancestor's (function zones register
/// with the city or their district).
fn region_code(rd: &ReferenceData, area: &str) -> String {
    let mut code = area.to_owned();
    for _ in 0..16 {
        if is_division_code(&code) {
            return code;
        }
        match rd.area(&code).and_then(|a| a.parent.clone()) {
            Some(p) => code = p,
            None => break,
        }
    }
    "440400".to_owned()
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [(T, u32)]) -> Option<&'a T> {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.u32(0..total);
    for (item, w) in items {
        if r < *w {
            return Some(item);
        }
        r -= w;
    }
    None
}

fn pick_char(rng: &mut Rng, set: &[char]) -> char {
    set.get(rng.usize(0..set.len().max(1)))
        .copied()
        .unwrap_or('华')
}

fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo * (hi / lo).powf(rng.f64())
}

fn draw_tier(rng: &mut Rng) -> SizeClass {
    let r = rng.f64();
    if r < 0.33 {
        SizeClass::Micro
    } else if r < 0.69 {
        SizeClass::Small
    } else if r < 0.975 {
        SizeClass::Medium
    } else {
        SizeClass::Large
    }
}

/// `[lo, hi)` of a size-rule indicator for a tier, in its unit (人/万元).
fn tier_range(t: &Threshold, tier: SizeClass) -> (f64, f64) {
    let (l, m, s) = (t.large as f64, t.medium as f64, t.small as f64);
    match tier {
        SizeClass::Large => (l, l * 3.0),
        SizeClass::Medium => (m, l),
        SizeClass::Small => (s, m),
        SizeClass::Micro => ((s / 6.0).max(1.0), s),
    }
}

/// Typical ranges for figures the industry's size rule does not use.
fn generic_range(kind: SizeIndicator, tier: SizeClass) -> (f64, f64) {
    use SizeClass::*;
    match (kind, tier) {
        (SizeIndicator::Employees, Micro) => (2.0, 20.0),
        (SizeIndicator::Employees, Small) => (20.0, 300.0),
        (SizeIndicator::Employees, Medium) => (300.0, 1000.0),
        (SizeIndicator::Employees, Large) => (1000.0, 5000.0),
        (SizeIndicator::Revenue, Micro) => (20.0, 300.0),
        (SizeIndicator::Revenue, Small) => (300.0, 2000.0),
        (SizeIndicator::Revenue, Medium) => (2000.0, 40000.0),
        (SizeIndicator::Revenue, Large) => (40000.0, 200000.0),
        (SizeIndicator::Assets, Micro) => (30.0, 500.0),
        (SizeIndicator::Assets, Small) => (300.0, 5000.0),
        (SizeIndicator::Assets, Medium) => (5000.0, 80000.0),
        (SizeIndicator::Assets, Large) => (80000.0, 500000.0),
    }
}

/// A figure drawn inside `[lo, hi)`: persons, or 元 for money (given in 万元).
fn draw_in(rng: &mut Rng, kind: SizeIndicator, (lo, hi): (f64, f64)) -> i64 {
    let v = log_uniform(rng, lo, hi);
    match kind {
        SizeIndicator::Employees => {
            let (min, max) = (
                lo.ceil() as i64,
                (hi.ceil() as i64 - 1).max(lo.ceil() as i64),
            );
            (v.floor() as i64).clamp(min, max)
        }
        _ => {
            let (min, max) = ((lo * 10_000.0).ceil() as i64, (hi * 10_000.0) as i64 - 1);
            ((v * 10_000.0).floor() as i64).clamp(min, max.max(min))
        }
    }
}

/// Latest-year (employees, revenue 元, assets 元) for the target tier.
fn latest_figures(rd: &ReferenceData, rng: &mut Rng, industry: &str, tier: SizeClass) -> [i64; 3] {
    let row = rd
        .size_rules
        .row_for(industry)
        .and_then(|name| rd.size_rules.rows().iter().find(|r| r.name == name));
    [
        SizeIndicator::Employees,
        SizeIndicator::Revenue,
        SizeIndicator::Assets,
    ]
    .map(|kind| {
        let range = row
            .and_then(|r| r.indicators.iter().find(|t| t.code == kind))
            .map_or_else(|| generic_range(kind, tier), |t| tier_range(t, tier));
        draw_in(rng, kind, range)
    })
}

fn is_manufacturing(industry: &str) -> bool {
    industry.parse::<u8>().is_ok_and(|d| (13..=43).contains(&d))
}

fn is_tech(industry: &str) -> bool {
    is_manufacturing(industry) || matches!(industry, "65" | "73" | "75")
}

/// 规模以上: the statistical reporting thresholds, simplified per sector.
fn above_scale(industry: &str, revenue_yuan: i64) -> bool {
    let wan = revenue_yuan / 10_000;
    match industry {
        "52" | "62" => wan >= 500,
        "65" | "72" | "73" | "75" | "54" => wan >= 1_000,
        _ => wan >= 2_000,
    }
}

/// When a source usually delivers a year's figures: (month, day)
/// in the following year.
fn delivery(kind: IndicatorKind, from_market: bool) -> (u32, u32) {
    match kind {
        IndicatorKind::LandArea => (1, 15),
        IndicatorKind::Employees => (2, 26),
        IndicatorKind::IndustrialValueAdded => (3, 18),
        IndicatorKind::Revenue | IndicatorKind::TaxPaid => (3, 31),
        IndicatorKind::TotalAssets if from_market => (6, 30),
        IndicatorKind::TotalAssets => (4, 20),
        IndicatorKind::RdSpending => (5, 15),
    }
}

/// Arrival in the spring after `year`, spread over six delivery batches,
/// never in the future.
fn arrival(
    year: i32,
    kind: IndicatorKind,
    from_market: bool,
    batch: u32,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let (m, d) = delivery(kind, from_market);
    let day = NaiveDate::from_ymd_opt(year + 1, m, d)
        .and_then(|day| day.checked_add_days(chrono::Days::new(u64::from(batch) * 3)));
    // 09:00 Beijing time = 01:00 UTC, later batches later in the day.
    let time = NaiveTime::from_hms_opt(1 + batch % 8, (batch * 7) % 60, 0);
    match (day, time) {
        (Some(d), Some(t)) => Utc.from_utc_datetime(&d.and_time(t)).min(now),
        _ => now,
    }
}

fn certification(from: NaiveDate, number: Option<String>) -> Certification {
    let to = from
        .checked_add_months(Months::new(36))
        .and_then(|d| d.pred_opt());
    Certification {
        name: "高新技术企业".to_owned(),
        number,
        valid_from: from,
        valid_to: to,
    }
}

/// Builds one enterprise's indicators from latest-year figures and growth.
struct Series<'a> {
    uscc: &'a Uscc,
    out: &'a mut Vec<(Uscc, Indicator)>,
    now: DateTime<Utc>,
    batch: u32,
}

impl Series<'_> {
    fn push(
        &mut self,
        kind: IndicatorKind,
        year: i32,
        value: i64,
        source: &str,
        from_market: bool,
    ) {
        self.out.push((
            self.uscc.clone(),
            Indicator {
                kind,
                year,
                value: value.max(0),
                source: source.to_owned(),
                arrived_at: arrival(year, kind, from_market, self.batch, self.now),
            },
        ));
    }
}

/// Generates the demo registry. `current_year` is the calendar year now
/// (figures cover the three full years before it); arrival times are
/// capped at `now`.
pub fn generate(
    rd: &ReferenceData,
    current_year: i32,
    now: DateTime<Utc>,
    count: usize,
) -> anyhow::Result<DemoData> {
    let src = Sources::new(rd)?;
    let mut rng = Rng::with_seed(SEED);
    let latest = current_year - 1;
    let years = [latest - 2, latest - 1, latest];
    let mut enterprises = Vec::with_capacity(count + 2);
    let mut indicators = Vec::new();
    let mut codes: HashSet<String> = HashSet::new();
    let mut names: HashSet<String> = HashSet::new();

    for e in fixed_enterprises(rd, &src, latest, now, &mut indicators)? {
        codes.insert(e.uscc.as_str().to_owned());
        names.insert(e.name.clone());
        enterprises.push(e);
    }

    let areas = registrable_areas(rd);
    let industries: Vec<((&str, &[&str]), u32)> = INDUSTRY_MIX
        .iter()
        .filter(|(code, _, _)| rd.industry(code).is_some())
        .map(|(code, w, words)| ((*code, *words), *w))
        .collect();
    if areas.is_empty() || industries.is_empty() {
        anyhow::bail!("参考数据缺少区域或行业，无法生成演示数据");
    }

    for i in 0..count {
        let tier = draw_tier(&mut rng);
        let Some(&(industry, words)) = pick(&mut rng, &industries) else {
            anyhow::bail!("行业权重无效");
        };
        let Some(area) = pick(&mut rng, &areas).cloned() else {
            anyhow::bail!("区域权重无效");
        };
        let uscc = unique_uscc(&mut rng, &region_code(rd, &area), &mut codes)?;
        let name = unique_name(&mut rng, words, tier, &mut names);
        let legal_rep = person_name(&mut rng);

        // Older firms are the bigger ones; most are young.
        let newest = match tier {
            SizeClass::Large => latest - 10,
            SizeClass::Medium => latest - 4,
            _ => latest,
        };
        let span = (newest - 1995).max(0) as f64;
        let year = 1995 + (span * rng.f64().powf(0.6)).round() as i32;
        let founded = NaiveDate::from_yo_opt(year, rng.u32(1..=365));

        let [emp, rev, assets] = latest_figures(rd, &mut rng, industry, tier);
        let manufacturing = is_manufacturing(industry);
        let tech = is_tech(industry);
        let scale = above_scale(industry, rev);
        let mut series = Series {
            uscc: &uscc,
            out: &mut indicators,
            now,
            batch: (i % 6) as u32,
        };

        let tax_rate = 0.015 + rng.f64() * 0.055;
        let rd_rate = match (industry, tech) {
            ("65", _) if rng.f64() < 0.8 => Some(0.05 + rng.f64() * 0.10),
            (_, true) if rng.f64() < 0.7 => Some(0.01 + rng.f64() * 0.07),
            (_, false) if rng.f64() < 0.1 => Some(0.002 + rng.f64() * 0.008),
            _ => None,
        };
        let va_rate = 0.18 + rng.f64() * 0.14;
        let land = (manufacturing && rng.f64() < 0.8).then(|| {
            let (lo, hi) = match tier {
                SizeClass::Micro => (2.0, 15.0),
                SizeClass::Small => (5.0, 60.0),
                SizeClass::Medium => (30.0, 200.0),
                SizeClass::Large => (150.0, 1200.0),
            };
            (log_uniform(&mut rng, lo, hi) * 100.0).round() as i64
        });
        let (assets_src, from_market) = if scale {
            (src.statistics.as_str(), false)
        } else {
            (src.market.as_str(), true)
        };

        // Walk back from the latest year: each year is the next one
        // divided by that year's growth (−10%…+30%).
        let (mut e_y, mut r_y, mut a_y) = (emp as f64, rev as f64, assets as f64);
        for (k, &y) in years.iter().enumerate().rev() {
            if founded.is_some_and(|f| f.year() > y) {
                break;
            }
            if k + 1 < years.len() {
                let g = -0.10 + rng.f64() * 0.40;
                r_y /= 1.0 + g;
                e_y = (e_y / (1.0 + g * 0.6 + (rng.f64() - 0.5) * 0.06)).max(1.0);
                a_y /= 1.0 + g * 0.5;
            }
            let (e, r, a) = (e_y.round() as i64, r_y.round() as i64, a_y.round() as i64);
            let jitter = 0.9 + rng.f64() * 0.2;
            series.push(IndicatorKind::Revenue, y, r * 100, &src.tax, false);
            series.push(
                IndicatorKind::TaxPaid,
                y,
                (r as f64 * tax_rate * jitter).round() as i64 * 100,
                &src.tax,
                false,
            );
            series.push(IndicatorKind::Employees, y, e, &src.hr, false);
            series.push(
                IndicatorKind::TotalAssets,
                y,
                a * 100,
                assets_src,
                from_market,
            );
            if let Some(rate) = rd_rate {
                series.push(
                    IndicatorKind::RdSpending,
                    y,
                    (r as f64 * rate * jitter).round() as i64 * 100,
                    &src.science,
                    false,
                );
            }
            if manufacturing {
                series.push(
                    IndicatorKind::IndustrialValueAdded,
                    y,
                    (r as f64 * va_rate).round() as i64 * 100,
                    &src.industry,
                    false,
                );
            }
            if let Some(mu) = land {
                series.push(IndicatorKind::LandArea, y, mu, &src.land, false);
            }
        }
        // A few revenue figures are corrected later in the year, so the
        // history view has something to show.
        if rng.f64() < 0.03
            && let Some(prev) = indicators
                .iter()
                .rev()
                .find(|(u, ind)| {
                    u == &uscc && ind.kind == IndicatorKind::Revenue && ind.year == latest - 1
                })
                .map(|(_, ind)| ind.value)
        {
            let factor = 0.92 + rng.f64() * 0.16;
            let at = NaiveDate::from_ymd_opt(latest, 9, 1 + rng.u32(0..28))
                .and_then(|d| d.and_hms_opt(2, 30, 0))
                .map_or(now, |t| Utc.from_utc_datetime(&t).min(now));
            indicators.push((
                uscc.clone(),
                Indicator {
                    kind: IndicatorKind::Revenue,
                    year: latest - 1,
                    value: ((prev as f64 * factor / 100.0).round() as i64) * 100,
                    source: src.tax.clone(),
                    arrived_at: at,
                },
            ));
        }

        let mut tags = Vec::new();
        if tier == SizeClass::Large && rng.f64() < 0.5 {
            tags.push("链主企业".to_owned());
        }
        if matches!(tier, SizeClass::Small | SizeClass::Medium)
            && (manufacturing || industry == "65")
            && rng.f64() < 0.12
        {
            tags.push("专精特新".to_owned());
        }
        if scale {
            tags.push("规上企业".to_owned());
        }
        let mut certifications = Vec::new();
        let p_cert = if tech { 0.16 } else { 0.01 };
        if rng.f64() < p_cert {
            let from_year = latest - 5 + rng.i32(0..=5);
            let from = NaiveDate::from_ymd_opt(from_year, 1 + rng.u32(0..12), 1 + rng.u32(0..28));
            if let Some(from) = from.filter(|d| founded.is_none_or(|f| f < *d)) {
                certifications.push(certification(from, None));
            }
        }

        enterprises.push(Enterprise {
            uscc,
            name,
            legal_rep,
            founded,
            area,
            industry: industry.to_owned(),
            size_class: None,
            size_basis: None,
            tags,
            certifications,
        });
    }

    // Sizes come from the figures, like they would for real data.
    let mut by_uscc: HashMap<&Uscc, Vec<Indicator>> = HashMap::new();
    for (u, ind) in &indicators {
        by_uscc.entry(u).or_default().push(ind.clone());
    }
    for e in &mut enterprises {
        let inds = by_uscc.get(&e.uscc).map(Vec::as_slice).unwrap_or_default();
        e.compute_size(rd, inds);
    }
    Ok(DemoData {
        enterprises,
        indicators,
    })
}

fn unique_uscc(rng: &mut Rng, region: &str, codes: &mut HashSet<String>) -> anyhow::Result<Uscc> {
    for _ in 0..1000 {
        let tail: String = (0..9)
            .map(|_| char::from(USCC_CHARS[rng.usize(0..USCC_CHARS.len())]))
            .collect();
        let uscc = Uscc::from_body(&format!("91{region}{tail}"))
            .map_err(|e| anyhow::anyhow!("演示企业代码生成失败：{e}"))?;
        if codes.insert(uscc.as_str().to_owned()) {
            return Ok(uscc);
        }
    }
    anyhow::bail!("无法生成不重复的演示企业代码")
}

fn unique_name(
    rng: &mut Rng,
    words: &[&str],
    tier: SizeClass,
    names: &mut HashSet<String>,
) -> String {
    let p_share = match tier {
        SizeClass::Large => 0.6,
        SizeClass::Medium => 0.25,
        _ => 0.04,
    };
    let suffix = if rng.f64() < p_share {
        "股份有限公司"
    } else {
        "有限公司"
    };
    let word = words
        .get(rng.usize(0..words.len().max(1)))
        .copied()
        .unwrap_or("科技");
    for attempt in 0..200 {
        let a = pick_char(rng, BRAND);
        let mut b = pick_char(rng, BRAND);
        while b == a {
            b = pick_char(rng, BRAND);
        }
        // After many collisions a third character makes room.
        let brand = if attempt < 50 {
            format!("{a}{b}")
        } else {
            format!("{a}{b}{}", pick_char(rng, BRAND))
        };
        let name = format!("珠海{brand}{word}{suffix}");
        if names.insert(name.clone()) {
            return name;
        }
    }
    // Practically unreachable; a numbered name is still unique.
    let name = format!("珠海{word}{}号{suffix}", names.len());
    names.insert(name.clone());
    name
}

fn person_name(rng: &mut Rng) -> String {
    let mut s = String::new();
    s.push(pick_char(rng, SURNAMES));
    s.push(pick_char(rng, GIVEN));
    if rng.f64() < 0.7 {
        s.push(pick_char(rng, GIVEN));
    }
    s
}

pub fn showcase_uscc() -> anyhow::Result<Uscc> {
    Uscc::from_body(SHOWCASE_BODY).map_err(|e| anyhow::anyhow!("示范企业代码无效：{e}"))
}

fn gree_uscc() -> anyhow::Result<Uscc> {
    Uscc::parse(GREE_USCC).map_err(|e| anyhow::anyhow!("格力电器代码无效：{e}"))
}

/// 万元 → 分.
fn wan(x: f64) -> i64 {
    (x * 1_000_000.0).round() as i64
}

/// The two enterprises demo accounts are bound to, with fixed figures.
fn fixed_enterprises(
    rd: &ReferenceData,
    src: &Sources,
    latest: i32,
    now: DateTime<Utc>,
    out: &mut Vec<(Uscc, Indicator)>,
) -> anyhow::Result<Vec<Enterprise>> {
    let years = [latest - 2, latest - 1, latest];
    let gree = gree_uscc()?;
    let mut s = Series {
        uscc: &gree,
        out,
        now,
        batch: 0,
    };
    // Illustrative magnitudes for a household-appliance maker; not real filings.
    let revenue = [18_899_000.0, 20_398_000.0, 19_002_000.0];
    let employees = [72_380, 74_800, 73_500];
    let tax = [1_286_000.0, 1_352_000.0, 1_319_000.0];
    let rnd = [621_000.0, 664_000.0, 703_000.0];
    let assets = [35_500_000.0, 36_800_000.0, 38_000_000.0];
    let value_added = [5_200_000.0, 5_600_000.0, 5_400_000.0];
    for (k, &y) in years.iter().enumerate() {
        s.push(IndicatorKind::Revenue, y, wan(revenue[k]), &src.tax, false);
        s.push(IndicatorKind::TaxPaid, y, wan(tax[k]), &src.tax, false);
        s.push(IndicatorKind::Employees, y, employees[k], &src.hr, false);
        s.push(
            IndicatorKind::RdSpending,
            y,
            wan(rnd[k]),
            &src.science,
            false,
        );
        s.push(
            IndicatorKind::TotalAssets,
            y,
            wan(assets[k]),
            &src.statistics,
            false,
        );
        s.push(
            IndicatorKind::IndustrialValueAdded,
            y,
            wan(value_added[k]),
            &src.industry,
            false,
        );
        s.push(IndicatorKind::LandArea, y, 360_050, &src.land, false);
    }
    let showcase = showcase_uscc()?;
    let mut s = Series {
        uscc: &showcase,
        out,
        now,
        batch: 1,
    };
    let revenue = [420.0, 560.0, 680.0];
    let employees = [28, 32, 36];
    let tax = [21.5, 29.8, 35.2];
    let rnd = [55.0, 70.0, 92.0];
    let assets = [900.0, 1_100.0, 1_300.0];
    for (k, &y) in years.iter().enumerate() {
        s.push(IndicatorKind::Revenue, y, wan(revenue[k]), &src.tax, false);
        s.push(IndicatorKind::TaxPaid, y, wan(tax[k]), &src.tax, false);
        s.push(IndicatorKind::Employees, y, employees[k], &src.hr, false);
        s.push(
            IndicatorKind::RdSpending,
            y,
            wan(rnd[k]),
            &src.science,
            false,
        );
        s.push(
            IndicatorKind::TotalAssets,
            y,
            wan(assets[k]),
            &src.market,
            true,
        );
    }
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    Ok(vec![
        Enterprise {
            uscc: gree,
            name: GREE_NAME.to_owned(),
            legal_rep: "董明珠".to_owned(),
            founded: date(1989, 12, 13),
            area: area_code_by_name(rd, "香洲区")?,
            industry: "38".to_owned(),
            size_class: None,
            size_basis: None,
            tags: vec!["链主企业".to_owned(), "规上企业".to_owned()],
            certifications: date(latest - 1, 11, 10)
                .map(|d| certification(d, None))
                .into_iter()
                .collect(),
        },
        Enterprise {
            uscc: showcase,
            name: SHOWCASE_NAME.to_owned(),
            legal_rep: "林晓明".to_owned(),
            founded: date(2019, 6, 18),
            area: area_code_by_name(rd, "保税区")?,
            industry: "65".to_owned(),
            size_class: None,
            size_basis: None,
            tags: vec!["科技型中小企业".to_owned()],
            // Issued two years ago in December: near its end, as a reminder case.
            certifications: date(latest - 2, 12, 1)
                .map(|d| certification(d, None))
                .into_iter()
                .collect(),
        },
    ])
}

pub struct SeedSummary {
    pub enterprises: usize,
    pub indicators: usize,
}

/// Generates and stores the demo registry: enterprises in chunks, then
/// indicators grouped by arrival time (one batch per delivery).
pub async fn seed(store: &Store, rd: &ReferenceData) -> anyhow::Result<SeedSummary> {
    let now = Utc::now();
    let year = chrono::Local::now().year();
    let data = generate(rd, year, now, RANDOM_ENTERPRISES)?;
    let actor = Actor::system("演示数据");
    let total = data.enterprises.len() + data.indicators.len();
    let pb = bar(total as u64, "写入演示数据");
    for chunk in data.enterprises.chunks(500) {
        store.upsert_enterprises(chunk, &actor).await?;
        pb.inc(chunk.len() as u64);
    }
    note(
        &pb,
        &format!("已写入企业 {} 家，正在写入指标…", data.enterprises.len()),
    );
    let mut by_arrival: BTreeMap<DateTime<Utc>, Vec<NewIndicator>> = BTreeMap::new();
    for (uscc, ind) in &data.indicators {
        by_arrival
            .entry(ind.arrived_at)
            .or_default()
            .push(NewIndicator {
                uscc: uscc.clone(),
                kind: ind.kind,
                year: ind.year,
                value: ind.value,
                source: ind.source.clone(),
            });
    }
    for (at, items) in by_arrival {
        for chunk in items.chunks(1000) {
            store.add_indicators(chunk, &actor, at).await?;
            pb.inc(chunk.len() as u64);
        }
    }
    pb.finish_and_clear();
    Ok(SeedSummary {
        enterprises: data.enterprises.len(),
        indicators: data.indicators.len(),
    })
}

/// (username, display name, role, bound enterprise, department code).
type AccountSpec = (
    &'static str,
    &'static str,
    Role,
    Option<Uscc>,
    Option<String>,
);

/// Creates the demo accounts that do not exist yet. A failure (e.g. the
/// bound enterprise was deleted) is reported and the others still created.
pub async fn ensure_accounts(store: &Store, rd: &ReferenceData) -> anyhow::Result<()> {
    let actor = Actor::system("演示数据");
    let specs: [AccountSpec; 9] = [
        (
            "qiye",
            "示范企业经办人",
            Role::Enterprise,
            Some(showcase_uscc()?),
            None,
        ),
        (
            "qiye2",
            "格力电器经办人",
            Role::Enterprise,
            Some(gree_uscc()?),
            None,
        ),
        (
            "fgj",
            "发改局工作人员",
            Role::Staff,
            None,
            Some(dept(rd, "市发展改革局")?),
        ),
        (
            "swj",
            "税务局工作人员",
            Role::Staff,
            None,
            Some(dept(rd, "市税务局")?),
        ),
        (
            "scjg",
            "市场监管局工作人员",
            Role::Staff,
            None,
            Some(dept(rd, "市市场监督管理局")?),
        ),
        (
            "shuiwu",
            "水务局工作人员",
            Role::Staff,
            None,
            Some(dept(rd, "市水务局")?),
        ),
        (
            "zjj",
            "住建局工作人员",
            Role::Staff,
            None,
            Some(dept(rd, "市住房城乡建设局")?),
        ),
        ("ducha", "市政府办公室督查科", Role::Supervisor, None, None),
        ("admin", "系统管理员", Role::Admin, None, None),
    ];
    for (username, display, role, enterprise, department) in specs {
        if store.account_by_username(username).await?.is_some() {
            continue;
        }
        let account = NewAccount {
            username: Username::parse(username).map_err(|e| anyhow::anyhow!(e))?,
            display_name: display.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            role,
            enterprise,
            department,
        };
        if let Err(e) = store.create_account(&account, &actor).await {
            eprintln!("无法创建演示账号 {username}：{e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhengqi_domain::enterprise::SizeBasis;

    fn sample() -> DemoData {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        generate(&ReferenceData::zhuhai(), 2026, now, RANDOM_ENTERPRISES).unwrap()
    }

    #[test]
    fn same_seed_same_registry() {
        let a = sample();
        let b = sample();
        let codes = |d: &DemoData| -> Vec<String> {
            d.enterprises
                .iter()
                .take(20)
                .map(|e| e.uscc.as_str().to_owned())
                .collect()
        };
        assert_eq!(codes(&a), codes(&b));
        assert_eq!(a.enterprises, b.enterprises);
        assert_eq!(a.indicators.len(), b.indicators.len());
    }

    #[test]
    fn codes_are_valid_unique_and_match_the_area() {
        let rd = ReferenceData::zhuhai();
        let d = sample();
        assert_eq!(d.enterprises.len(), RANDOM_ENTERPRISES + 2);
        let mut seen = HashSet::new();
        for e in &d.enterprises {
            assert!(Uscc::parse(e.uscc.as_str()).is_ok(), "{}", e.uscc);
            assert!(seen.insert(e.uscc.clone()), "duplicate {}", e.uscc);
            assert!(rd.area(&e.area).is_some(), "{}", e.area);
            assert!(rd.industry(&e.industry).is_some(), "{}", e.industry);
        }
        for e in d.enterprises.iter().skip(2) {
            assert_eq!(e.uscc.region_code(), region_code(&rd, &e.area));
            assert!(
                ["440400", "440402", "440403", "440404"].contains(&e.uscc.region_code()),
                "{}",
                e.uscc
            );
        }
        assert_eq!(d.enterprises[0].uscc.as_str(), GREE_USCC);
        assert_eq!(d.enterprises[1].uscc, showcase_uscc().unwrap());
    }

    #[test]
    fn names_are_unique_and_believable() {
        let d = sample();
        let mut seen = HashSet::new();
        for e in &d.enterprises {
            assert!(seen.insert(e.name.clone()), "duplicate {}", e.name);
            assert!(
                e.name.starts_with("珠海") && e.name.ends_with("有限公司"),
                "{}",
                e.name
            );
            assert!(
                (2..=3).contains(&e.legal_rep.chars().count()),
                "{}",
                e.legal_rep
            );
        }
    }

    #[test]
    fn sizes_are_computed_and_mostly_small() {
        let d = sample();
        let mut count: HashMap<SizeClass, usize> = HashMap::new();
        for e in &d.enterprises {
            assert!(
                matches!(e.size_basis, Some(SizeBasis::Computed(_))),
                "{} {:?}",
                e.name,
                e.size_basis
            );
            *count.entry(e.size_class.unwrap()).or_default() += 1;
        }
        let n = d.enterprises.len() as f64;
        let share = |c: SizeClass| *count.get(&c).unwrap_or(&0) as f64 / n;
        let small = share(SizeClass::Small) + share(SizeClass::Micro);
        assert!(small >= 0.60, "{count:?}");
        assert!(share(SizeClass::Medium) > 0.15, "{count:?}");
        assert!(
            share(SizeClass::Large) > 0.0 && share(SizeClass::Large) < 0.06,
            "{count:?}"
        );
        assert_eq!(d.enterprises[0].size_class, Some(SizeClass::Large));
        assert_eq!(d.enterprises[1].size_class, Some(SizeClass::Small));
    }

    #[test]
    fn indicators_cover_three_years_from_their_sources() {
        let rd = ReferenceData::zhuhai();
        let d = sample();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        let years: HashSet<i32> = d.indicators.iter().map(|(_, i)| i.year).collect();
        assert_eq!(years, HashSet::from([2023, 2024, 2025]));
        for (_, i) in &d.indicators {
            assert!(rd.department(&i.source).is_some(), "{}", i.source);
            assert!(i.arrived_at <= now);
            assert!(i.arrived_at.year() > i.year, "{i:?}");
            assert!(i.value >= 0);
        }
        let tax = rd.department_by_name("市税务局").unwrap().code.clone();
        assert!(
            d.indicators
                .iter()
                .any(|(_, i)| i.kind == IndicatorKind::TaxPaid && i.source == tax)
        );
        // Tags and certifications appear in roughly the intended shares.
        let n = d.enterprises.len() as f64;
        let tagged = |t: &str| {
            d.enterprises
                .iter()
                .filter(|e| e.tags.iter().any(|x| x == t))
                .count() as f64
                / n
        };
        assert!(tagged("专精特新") > 0.02 && tagged("专精特新") < 0.09);
        assert!(tagged("链主企业") > 0.003 && tagged("链主企业") < 0.03);
        let certified = d
            .enterprises
            .iter()
            .filter(|e| !e.certifications.is_empty())
            .count() as f64
            / n;
        assert!(certified > 0.06 && certified < 0.15, "{certified}");
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(
            d.enterprises
                .iter()
                .flat_map(|e| &e.certifications)
                .any(|c| !c.valid_on(today))
        );
    }

    #[test]
    fn demo_accounts_use_the_role_labels() {
        for (user, role, _) in DEMO_ACCOUNTS {
            assert!(Role::parse(role).is_some(), "{role}");
            assert!(Username::parse(user).is_ok(), "{user}");
        }
        assert!(zhengqi_domain::auth::check_new_password(DEMO_PASSWORD).is_ok());
    }
}
