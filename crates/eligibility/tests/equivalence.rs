//! The batch evaluator (`match_all`) must give exactly the row evaluator's
//! verdict and amount for every enterprise and every policy, unknowns
//! included, on random populations and random rules.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use zhengqi_domain::enterprise::{Certification, Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::ast::*;
use zhengqi_eligibility::num::Num;
use zhengqi_eligibility::{Context, Population, RuleSet, Verdict};

const KINDS: [IndicatorKind; 3] = [
    IndicatorKind::Revenue,
    IndicatorKind::Employees,
    IndicatorKind::RdSpending,
];
const TAGS: [&str; 3] = ["链主企业", "专精特新", "失信企业"];
const CERTS: [&str; 2] = ["高新技术企业", "科技型中小企业"];
const AREAS: [&str; 7] = [
    "440400",
    "440402",
    "440404",
    "440400-GLG",
    "440400-BSQ",
    "440400-HQ",
    "999999",
];
const INDUSTRIES: [&str; 6] = ["39", "13", "65", "70", "01", "C39"];

fn today_s() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        Just(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()),
        Just(NaiveDate::from_ymd_opt(2025, 2, 28).unwrap()),
        Just(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
        Just(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
    ]
}

fn value_s() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -3i64..12,
        3 => prop::sample::select(vec![0i64, 100, 2000, 1_000_000_000, 2_000_000_000, 20_000_000_000]),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX / 3]),
        2 => any::<i32>().prop_map(i64::from),
    ]
}

fn date_near(today: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    (-3i64..=3, 0i64..12, prop::bool::ANY).prop_map(move |(d, y, leap)| {
        let base = if leap {
            NaiveDate::from_ymd_opt(2020, 2, 29).unwrap()
        } else {
            today
        };
        let shifted = base
            .checked_sub_months(chrono::Months::new((y * 12) as u32))
            .unwrap_or(base);
        shifted + chrono::Duration::days(d)
    })
}

fn enterprise_s(today: NaiveDate) -> impl Strategy<Value = (Enterprise, Vec<Indicator>)> {
    let indicator = (
        prop::sample::select(KINDS.to_vec()),
        0i32..6,
        value_s(),
        0i64..3,
    );
    (
        prop::sample::select(AREAS.to_vec()),
        prop::sample::select(INDUSTRIES.to_vec()),
        prop::option::weighted(0.8, prop::sample::select(SizeClass::ALL.to_vec())),
        prop::option::weighted(0.8, date_near(today)),
        prop::sample::subsequence(TAGS.to_vec(), 0..=3),
        prop::collection::vec(
            (
                prop::sample::select(CERTS.to_vec()),
                -2i64..=2,
                prop::option::of(-2i64..=2),
            ),
            0..3,
        ),
        prop::collection::vec(indicator, 0..16),
    )
        .prop_map(move |(area, industry, size, founded, tags, certs, inds)| {
            let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
            let e = Enterprise {
                uscc: Uscc::from_body("91440400MA4UX0000").unwrap(),
                name: "测试企业".into(),
                legal_rep: String::new(),
                founded,
                area: area.into(),
                industry: industry.into(),
                size_class: size,
                size_basis: None,
                tags: tags.into_iter().map(String::from).collect(),
                certifications: certs
                    .into_iter()
                    .map(|(n, f, t)| Certification {
                        name: n.into(),
                        number: None,
                        valid_from: today + chrono::Duration::days(f),
                        valid_to: t.map(|t| today + chrono::Duration::days(t)),
                    })
                    .collect(),
            };
            let ind = inds
                .into_iter()
                .map(|(kind, back, value, at)| Indicator {
                    kind,
                    year: chrono::Datelike::year(&today) - back,
                    value,
                    source: "SSWJ".into(),
                    arrived_at: t0 + chrono::Duration::seconds(at),
                })
                .collect();
            (e, ind)
        })
}

fn lit_s() -> impl Strategy<Value = Expr> {
    (
        prop_oneof![
            (-5i128..2_000).prop_map(|n| Num::ratio(n, 1).unwrap()),
            (-50i128..50, 1i128..12).prop_map(|(n, d)| Num::ratio(n, d).unwrap()),
            Just(Num::int(2_000_000_000)),
            Just(Num::ratio(1, 10).unwrap()),
        ],
        prop::sample::select(vec![Dim::Money, Dim::Persons, Dim::Ratio, Dim::Count]),
    )
        .prop_map(|(value, dim)| Expr::Lit { value, dim })
}

fn expr_s() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        3 => lit_s(),
        3 => (prop::sample::select(KINDS.to_vec()), 0u8..4)
            .prop_map(|(indicator, y)| Expr::Indicator { indicator, year: YearBack(y) }),
        1 => (prop::sample::select(KINDS.to_vec()), prop::bool::ANY, 0u8..4).prop_map(|(indicator, avg, years)| {
            Expr::Aggregate { indicator, agg: if avg { Aggregate::Avg } else { Aggregate::Sum }, years }
        }),
        1 => (prop::sample::select(KINDS.to_vec()), 0u8..4)
            .prop_map(|(indicator, y)| Expr::Growth { indicator, year: YearBack(y) }),
        1 => Just(Expr::AgeYears),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| Expr::Arith {
                    op,
                    left: Box::new(l),
                    right: Box::new(r)
                }),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|args| Expr::Min { args }),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|args| Expr::Max { args }),
            (
                inner.clone(),
                prop::collection::vec((-5i64..2_000, inner), 0..4)
            )
                .prop_map(|(basis, mut bands)| {
                    bands.sort_by_key(|b| b.0);
                    bands.dedup_by_key(|b| b.0);
                    Expr::Tiers {
                        basis: Box::new(basis),
                        bands: bands
                            .into_iter()
                            .map(|(f, amount)| Band {
                                from: Num::int(f),
                                amount,
                            })
                            .collect(),
                    }
                }),
        ]
    })
}

fn cond_s(today: NaiveDate) -> impl Strategy<Value = Cond> {
    let op = prop::sample::select(vec![
        CmpOp::Ge,
        CmpOp::Gt,
        CmpOp::Le,
        CmpOp::Lt,
        CmpOp::Eq,
        CmpOp::Ne,
    ]);
    let leaf = prop_oneof![
        prop::sample::subsequence(SizeClass::ALL.to_vec(), 0..=4)
            .prop_map(|sizes| Cond::SizeIn { sizes }),
        prop::sample::subsequence(AREAS.to_vec(), 0..=2).prop_map(|a| Cond::AreaIn {
            areas: a.into_iter().map(String::from).collect()
        }),
        prop::sample::subsequence(vec!["C", "39", "C39", "1", "A", "65", "x"], 0..=2).prop_map(
            |c| Cond::IndustryIn {
                codes: c.into_iter().map(String::from).collect()
            }
        ),
        prop::sample::select(TAGS.to_vec()).prop_map(|t| Cond::HasTag { tag: t.into() }),
        prop::sample::select(CERTS.to_vec()).prop_map(|n| Cond::CertValid { name: n.into() }),
        (-1i64..=1).prop_map(move |d| Cond::InForceUntil {
            until: today + chrono::Duration::days(d)
        }),
        // Threshold shapes the batch evaluator turns into range scans.
        (
            op.clone(),
            prop::sample::select(KINDS.to_vec()),
            0u8..3,
            lit_s(),
            prop::bool::ANY
        )
            .prop_map(|(op, k, y, lit, swap)| {
                let ind = Expr::Indicator {
                    indicator: k,
                    year: YearBack(y),
                };
                let (left, right) = if swap { (lit, ind) } else { (ind, lit) };
                Cond::Cmp { op, left, right }
            }),
        (op.clone(), lit_s()).prop_map(|(op, right)| Cond::Cmp {
            op,
            left: Expr::AgeYears,
            right
        }),
        (op.clone(), expr_s(), expr_s()).prop_map(|(op, left, right)| Cond::Cmp {
            op,
            left,
            right
        }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|all| Cond::And { all }),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|any| Cond::Or { any }),
            inner.prop_map(|c| Cond::Not { cond: Box::new(c) }),
        ]
    })
}

type Case = (NaiveDate, Vec<(Enterprise, Vec<Indicator>)>, Vec<Rule>);

fn case_s() -> impl Strategy<Value = Case> {
    today_s().prop_flat_map(|today| {
        (
            Just(today),
            prop::collection::vec(enterprise_s(today), 1..40),
            prop::collection::vec(
                (cond_s(today), prop::option::of(expr_s()))
                    .prop_map(|(condition, amount)| Rule { condition, amount }),
                1..6,
            ),
        )
    })
}

fn check(
    today: NaiveDate,
    rows: &[(Enterprise, Vec<Indicator>)],
    rules: &[Rule],
) -> Result<(), TestCaseError> {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today,
        reference: &rd,
    };
    // Each rule twice, plus one wrapped with its own first part, so the
    // hash-consing shares nodes across policies.
    let mut set = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        set.push((i as i64 * 3, r.clone()));
        set.push((i as i64 * 3 + 1, r.clone()));
        set.push((
            i as i64 * 3 + 2,
            Rule {
                condition: Cond::And {
                    all: vec![r.condition.clone(), rules[0].condition.clone()],
                },
                amount: r.amount.clone(),
            },
        ));
    }
    let rs = RuleSet::new(set, &ctx);
    let pop = Population::build(rows.iter().cloned(), &ctx);
    // The default strategy, then all bitmaps with per-policy amounts, then
    // row lists right after the first part with every formula computed
    // over all rows: each must give the row evaluator's answers.
    let results = [
        ("default", rs.match_all(&pop)),
        ("bitmaps", rs.match_all_with_tuning(&pop, 0, usize::MAX)),
        ("rows", rs.match_all_with_tuning(&pop, usize::MAX, 1)),
    ];
    for (name, res) in &results {
        prop_assert_eq!(res.policies.len(), rs.len());
        for pm in &res.policies {
            for (row, (e, ind)) in rows.iter().enumerate() {
                let expect = rs.evaluate(pm.policy, e, ind).unwrap();
                let (v, a) = pm.outcome(row as u32);
                prop_assert_eq!(
                    (v, a),
                    (expect.verdict, expect.amount),
                    "{} policy {} row {}: {:?}",
                    name,
                    pm.policy,
                    row,
                    rs.rule(pm.policy)
                );
            }
        }
    }
    // The streaming form hands out the same rows and amounts.
    let seen = std::sync::Mutex::new(Vec::new());
    rs.match_all_with(&pop, |p| {
        seen.lock().unwrap().push(p.to_match());
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_by_key(|p| p.policy);
    let mut expect = results[0].1.policies.clone();
    expect.sort_by_key(|p| p.policy);
    prop_assert_eq!(
        serde_json::to_value(&seen).unwrap(),
        serde_json::to_value(&expect).unwrap()
    );
    // match_one is evaluate for every policy.
    for (e, ind) in rows {
        for (id, o) in rs.match_one(e, ind) {
            prop_assert_eq!(Some(o), rs.evaluate(id, e, ind));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn batch_equals_row((today, rows, rules) in case_s()) {
        check(today, &rows, &rules)?;
    }

    /// After replacing rows in place the columns still match the records.
    #[test]
    fn replace_keeps_columns_consistent((today, rows, rules) in case_s(), swaps in prop::collection::vec((0usize..40, 0usize..40), 1..5)) {
        let rd = ReferenceData::zhuhai();
        let ctx = Context { today, reference: &rd };
        let mut current = rows.clone();
        let mut pop = Population::build(rows.iter().cloned(), &ctx);
        for (a, b) in swaps {
            let (a, b) = (a % rows.len(), b % rows.len());
            current[a] = rows[b].clone();
            prop_assert!(pop.replace(a, &rows[b].0, &rows[b].1, &rd));
        }
        let rs = RuleSet::new(rules.iter().cloned().enumerate().map(|(i, r)| (i as i64, r)).collect(), &ctx);
        for res in [rs.match_all(&pop), rs.match_all_with_tuning(&pop, usize::MAX, 1)] {
            for pm in &res.policies {
                for (row, (e, ind)) in current.iter().enumerate() {
                    let expect = rs.evaluate(pm.policy, e, ind).unwrap();
                    prop_assert_eq!(pm.outcome(row as u32), (expect.verdict, expect.amount));
                }
            }
        }
        // Every row is found by its USCC (the test rows share one USCC, so
        // the lowest row holding it).
        for (row, (e, _)) in current.iter().enumerate() {
            let found = pop.position(e.uscc.as_str()).unwrap();
            prop_assert!(found <= row);
            prop_assert_eq!(pop.uscc(found), e.uscc.as_str());
        }
        prop_assert_eq!(pop.position("not a uscc"), None);
    }
}

#[test]
fn verdicts_have_chinese_labels() {
    assert_eq!(Verdict::Eligible.label(), "符合");
    assert_eq!(Verdict::NotEligible.label(), "不符合");
    assert_eq!(Verdict::Undetermined.label(), "无法判断");
}
