//! A deterministic synthetic enterprise base and policy mix, for benchmarks
//! (`cargo bench -p zhengqi-eligibility`) and a later `zhengqi bench-match`.
//!
//! The shape follows Zhuhai's base: areas and industries from the
//! reference data (manufacturing-heavy), mostly micro and small firms,
//! five years of seven indicators with about 5% of figures missing, a few
//! corrections arriving later, common tags and certifications with validity
//! ranges around the evaluation date. Policies have about five conditions;
//! the categorical parts (size, area, industry, tag sets) come from small
//! pools so many policies share them, as real policy families do.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use zhengqi_domain::enterprise::{Certification, Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;

use crate::ast::{Aggregate, ArithOp, Band, CmpOp, Cond, Dim, Expr, Rule, YearBack};
use crate::num::Num;

pub const TAGS: [&str; 8] = [
    "专精特新",
    "链主企业",
    "高成长企业",
    "上市企业",
    "规上企业",
    "失信企业",
    "外资企业",
    "总部企业",
];
/// Share of enterprises carrying each tag of [`TAGS`], in per mille.
const TAG_RATE: [u32; 8] = [40, 5, 60, 8, 150, 20, 50, 10];
pub const CERTS: [&str; 3] = ["高新技术企业", "科技型中小企业", "专精特新中小企业"];
const CERT_RATE: [u32; 3] = [150, 100, 50];

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn source_of(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Revenue | IndicatorKind::TaxPaid => "SSWJ",
        IndicatorKind::Employees => "SRSJ",
        IndicatorKind::RdSpending => "SKCJ",
        IndicatorKind::TotalAssets | IndicatorKind::IndustrialValueAdded => "STJJ",
        IndicatorKind::LandArea => "SZRJ",
    }
}

/// Enterprises in row order: `n` rows from `seed`, lazily (the base is
/// never held as structs, only as the population's columns).
pub fn enterprises(
    n: usize,
    seed: u64,
    today: NaiveDate,
    rd: &ReferenceData,
) -> impl Iterator<Item = (Enterprise, Vec<Indicator>)> + use<> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let areas: Vec<String> = rd
        .areas
        .iter()
        .filter(|a| a.parent.is_some())
        .map(|a| a.code.clone())
        .collect();
    let divisions: Vec<(String, bool)> = rd
        .industries
        .iter()
        .filter(|i| !i.is_section())
        .map(|i| (i.code.clone(), i.section == "C"))
        .collect();
    let arrived = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let later = DateTime::<Utc>::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let year0 = today.year();
    (0..n).map(move |i| {
        // Bodies drawn from the USCC alphabet always get a check character.
        let uscc = loop {
            let body: String = format!(
                "914404{:02}{}",
                i % 100,
                (0..9)
                    .map(|_| USCC_CHARS[rng.usize(..USCC_CHARS.len())] as char)
                    .collect::<String>()
            );
            if let Ok(u) = Uscc::from_body(&body) {
                break u;
            }
        };
        // Half of Zhuhai's firms are in manufacturing divisions.
        let industry = loop {
            let (code, manuf) = &divisions[rng.usize(..divisions.len())];
            if *manuf || rng.bool() {
                break code.clone();
            }
        };
        let size = match rng.u32(..1000) {
            0..50 => None,
            50..620 => Some(SizeClass::Micro),
            620..870 => Some(SizeClass::Small),
            870..960 => Some(SizeClass::Medium),
            _ => Some(SizeClass::Large),
        };
        let founded = (rng.u32(..100) >= 5)
            .then(|| {
                NaiveDate::from_ymd_opt(rng.i32(1985..=year0), rng.u32(1..=12), rng.u32(1..=28))
            })
            .flatten();
        let tags = TAGS
            .iter()
            .zip(TAG_RATE)
            .filter(|(_, r)| rng.u32(..1000) < *r)
            .map(|(t, _)| (*t).to_owned())
            .collect();
        let mut certifications = Vec::new();
        for (c, rate) in CERTS.iter().zip(CERT_RATE) {
            if rng.u32(..1000) < rate {
                // Three-year certificates issued over the last four years:
                // about a quarter have lapsed by the evaluation date.
                let from = today - chrono::Days::new(rng.u64(0..1500));
                certifications.push(Certification {
                    name: (*c).to_owned(),
                    number: None,
                    valid_from: from,
                    valid_to: Some(from + chrono::Days::new(1095)),
                });
            }
        }
        // Scale by size: a micro firm has ~10 staff, a large one ~2,000.
        let scale: f64 = match size {
            Some(SizeClass::Micro) | None => 1.0,
            Some(SizeClass::Small) => 8.0,
            Some(SizeClass::Medium) => 40.0,
            Some(SizeClass::Large) => 250.0,
        };
        let base_rev = (scale * (200_000_000.0 + rng.f64() * 800_000_000.0)) as i64; // 分
        let mut ind = Vec::with_capacity(36);
        for back in 1..=5 {
            let year = year0 - back;
            let drift = 1.0 + (rng.f64() - 0.4) * 0.3;
            let rev = (base_rev as f64 * drift) as i64;
            for kind in IndicatorKind::ALL {
                if rng.u32(..100) < 5 {
                    continue;
                }
                let value = match kind {
                    IndicatorKind::Revenue => rev,
                    IndicatorKind::TaxPaid => rev / 20,
                    IndicatorKind::Employees => (scale * (5.0 + rng.f64() * 20.0)) as i64,
                    IndicatorKind::RdSpending => {
                        if rng.u32(..10) < 3 {
                            0
                        } else {
                            (rev as f64 * rng.f64() * 0.08) as i64
                        }
                    }
                    IndicatorKind::TotalAssets => rev * 2,
                    IndicatorKind::IndustrialValueAdded => rev / 4,
                    IndicatorKind::LandArea => (scale * (rng.f64() * 2000.0)) as i64,
                };
                ind.push(Indicator {
                    kind,
                    year,
                    value,
                    source: source_of(kind).to_owned(),
                    arrived_at: arrived,
                });
                // A correction arriving later replaces ~1% of figures.
                if rng.u32(..100) == 0 {
                    ind.push(Indicator {
                        kind,
                        year,
                        value: value + value / 10,
                        source: source_of(kind).to_owned(),
                        arrived_at: later,
                    });
                }
            }
        }
        let e = Enterprise {
            uscc,
            name: format!("珠海合成企业{i}有限公司"),
            legal_rep: String::new(),
            founded,
            area: areas[rng.usize(..areas.len())].clone(),
            industry,
            size_class: size,
            size_basis: None,
            tags,
            certifications,
        };
        (e, ind)
    })
}

fn money_wan(w: i64) -> Expr {
    Expr::Lit {
        value: Num::int(w * 1_000_000),
        dim: Dim::Money,
    }
}

fn ind(kind: IndicatorKind, back: u8) -> Expr {
    Expr::Indicator {
        indicator: kind,
        year: YearBack(back),
    }
}

fn pct(p: i64) -> Expr {
    Expr::Lit {
        value: Num::ratio(i128::from(p), 100).unwrap_or(Num::ZERO),
        dim: Dim::Ratio,
    }
}

fn cmp(op: CmpOp, left: Expr, right: Expr) -> Cond {
    Cond::Cmp { op, left, right }
}

/// `n` policies with about five conditions each, drawn from shared pools.
pub fn rules(n: usize, seed: u64, today: NaiveDate) -> Vec<(i64, Rule)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    use SizeClass::*;
    let size_pool: Vec<Vec<SizeClass>> = vec![
        vec![Medium, Small, Micro],
        vec![Small, Micro],
        vec![Large, Medium],
        vec![Medium, Small],
        vec![Large],
        vec![Micro],
    ];
    let area_pool: Vec<Vec<&str>> = vec![
        vec!["440400"],
        vec!["440402"],
        vec!["440403"],
        vec!["440404"],
        vec!["440400-GXQ"],
        vec!["440400-HQ"],
        vec!["440402", "440400-GXQ"],
        vec!["440404", "440400-GLG"],
        vec!["440400-HZXQ"],
    ];
    let industry_pool: Vec<Vec<&str>> = vec![
        vec!["C"],
        vec!["39"],
        vec!["38", "39", "40"],
        vec!["I"],
        vec!["M"],
        vec!["26", "27"],
        vec!["C", "I", "M"],
        vec!["34", "35"],
        vec!["F", "G"],
        vec!["36", "37"],
        vec!["65", "64"],
        vec!["13", "14", "15"],
    ];
    let revenue_wan = [500, 1000, 2000, 5000, 10_000, 20_000];
    let until = today + chrono::Days::new(400);
    (0..n)
        .map(|i| {
            let mut all = Vec::with_capacity(7);
            if rng.u32(..10) < 3 {
                all.push(Cond::InForceUntil { until });
            }
            all.push(Cond::SizeIn {
                sizes: size_pool[rng.usize(..size_pool.len())].clone(),
            });
            all.push(Cond::AreaIn {
                areas: area_pool[rng.usize(..area_pool.len())]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            });
            if rng.u32(..10) < 7 {
                all.push(Cond::IndustryIn {
                    codes: industry_pool[rng.usize(..industry_pool.len())]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                });
            }
            all.push(Cond::Not {
                cond: Box::new(Cond::HasTag {
                    tag: "失信企业".into(),
                }),
            });
            // One or two figures.
            let rev = revenue_wan[rng.usize(..revenue_wan.len())];
            match rng.u32(..8) {
                0..=2 => all.push(cmp(
                    CmpOp::Ge,
                    ind(IndicatorKind::Revenue, 1),
                    money_wan(rev),
                )),
                3 => all.push(cmp(
                    CmpOp::Ge,
                    Expr::Growth {
                        indicator: IndicatorKind::Revenue,
                        year: YearBack(1),
                    },
                    pct([5, 10, 15, 20][rng.usize(..4)]),
                )),
                4 => all.push(cmp(
                    CmpOp::Ge,
                    Expr::Arith {
                        op: ArithOp::Div,
                        left: Box::new(ind(IndicatorKind::RdSpending, 1)),
                        right: Box::new(ind(IndicatorKind::Revenue, 1)),
                    },
                    pct([3, 4, 5][rng.usize(..3)]),
                )),
                5 => all.push(cmp(
                    CmpOp::Ge,
                    Expr::Aggregate {
                        indicator: IndicatorKind::RdSpending,
                        agg: Aggregate::Sum,
                        years: 3,
                    },
                    money_wan(rev / 10),
                )),
                6 => all.push(cmp(
                    CmpOp::Ge,
                    ind(IndicatorKind::Employees, 1),
                    Expr::Lit {
                        value: Num::int([20, 50, 100, 300][rng.usize(..4)]),
                        dim: Dim::Persons,
                    },
                )),
                _ => all.push(cmp(
                    CmpOp::Ge,
                    Expr::AgeYears,
                    Expr::Lit {
                        value: Num::int([1, 2, 3, 5][rng.usize(..4)]),
                        dim: Dim::Years,
                    },
                )),
            }
            match rng.u32(..10) {
                0..3 => all.push(Cond::Or {
                    any: vec![
                        Cond::HasTag {
                            tag: "专精特新".into(),
                        },
                        Cond::CertValid {
                            name: "高新技术企业".into(),
                        },
                    ],
                }),
                3..5 => all.push(cmp(
                    CmpOp::Ge,
                    ind(IndicatorKind::TaxPaid, 1),
                    money_wan(rev / 40),
                )),
                _ => {}
            }
            let amount = match rng.u32(..10) {
                0..3 => Some(money_wan([10, 20, 50, 100][rng.usize(..4)])),
                3..6 => Some(Expr::Min {
                    args: vec![
                        Expr::Arith {
                            op: ArithOp::Mul,
                            left: Box::new(ind(IndicatorKind::RdSpending, 1)),
                            right: Box::new(pct(10)),
                        },
                        money_wan(100),
                    ],
                }),
                6..8 => Some(Expr::Tiers {
                    basis: Box::new(ind(IndicatorKind::Revenue, 1)),
                    bands: vec![
                        Band {
                            from: Num::int(1_000_000_000),
                            amount: money_wan(10),
                        },
                        Band {
                            from: Num::int(5_000_000_000),
                            amount: money_wan(30),
                        },
                        Band {
                            from: Num::int(20_000_000_000),
                            amount: money_wan(80),
                        },
                    ],
                }),
                _ => None,
            };
            (
                i as i64 + 1,
                Rule {
                    condition: Cond::And { all },
                    amount,
                },
            )
        })
        .collect()
}
