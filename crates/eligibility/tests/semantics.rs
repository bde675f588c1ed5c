//! Pins the rule semantics of `ast.rs` on hand-made cases, through both
//! evaluators, and the Chinese explanations and sandbox figures.

use chrono::{DateTime, NaiveDate, Utc};
use zhengqi_domain::enterprise::{Certification, Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass;
use zhengqi_domain::uscc::Uscc;
use zhengqi_eligibility::ast::*;
use zhengqi_eligibility::num::Num;
use zhengqi_eligibility::{Context, Outcome, Population, RuleSet, Verdict, simulate_rule};

use IndicatorKind::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn firm() -> Enterprise {
    Enterprise {
        uscc: Uscc::from_body("91440400MA4UX0000").unwrap(),
        name: "珠海测试科技有限公司".into(),
        legal_rep: String::new(),
        founded: NaiveDate::from_ymd_opt(2020, 3, 1),
        area: "440402".into(), // 香洲区
        industry: "39".into(),
        size_class: Some(SizeClass::Small),
        size_basis: None,
        tags: vec!["专精特新".into()],
        certifications: vec![Certification {
            name: "高新技术企业".into(),
            number: None,
            valid_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            valid_to: NaiveDate::from_ymd_opt(2026, 12, 31),
        }],
    }
}

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn fig(kind: IndicatorKind, year: i32, value: i64) -> Indicator {
    Indicator {
        kind,
        year,
        value,
        source: "SSWJ".into(),
        arrived_at: at(0),
    }
}

fn wan(w: i64) -> Expr {
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

fn ge(left: Expr, right: Expr) -> Cond {
    Cond::Cmp {
        op: CmpOp::Ge,
        left,
        right,
    }
}

fn years(n: i64) -> Expr {
    Expr::Lit {
        value: Num::int(n),
        dim: Dim::Years,
    }
}

/// Evaluates with the row evaluator and checks the batch evaluator agrees.
fn run_on(rule: Rule, e: &Enterprise, inds: &[Indicator], day: NaiveDate) -> Outcome {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: day,
        reference: &rd,
    };
    let rs = RuleSet::new(vec![(1, rule)], &ctx);
    let row = rs.evaluate(1, e, inds).unwrap();
    let pop = Population::build([(e.clone(), inds.to_vec())], &ctx);
    let batch = rs.match_all(&pop);
    assert_eq!(
        batch.policies[0].outcome(0),
        (row.verdict, row.amount),
        "batch and row disagree"
    );
    row
}

fn run(rule: Rule, inds: &[Indicator]) -> Outcome {
    run_on(rule, &firm(), inds, today())
}

fn cond(c: Cond) -> Rule {
    Rule {
        condition: c,
        amount: None,
    }
}

#[test]
fn kleene_logic() {
    let unknown = ge(ind(Revenue, 1), wan(1)); // no figures → unknown
    let yes = Cond::HasTag {
        tag: "专精特新".into(),
    };
    let no = Cond::HasTag {
        tag: "链主企业".into(),
    };
    let v = |c: Cond| run(cond(c), &[]).verdict;
    use Verdict::*;
    assert_eq!(v(unknown.clone()), Undetermined);
    assert_eq!(
        v(Cond::And {
            all: vec![unknown.clone(), no.clone()]
        }),
        NotEligible
    );
    assert_eq!(
        v(Cond::And {
            all: vec![unknown.clone(), yes.clone()]
        }),
        Undetermined
    );
    assert_eq!(
        v(Cond::Or {
            any: vec![unknown.clone(), yes.clone()]
        }),
        Eligible
    );
    assert_eq!(
        v(Cond::Or {
            any: vec![unknown.clone(), no.clone()]
        }),
        Undetermined
    );
    assert_eq!(
        v(Cond::Not {
            cond: Box::new(unknown)
        }),
        Undetermined
    );
    assert_eq!(v(Cond::Not { cond: Box::new(no) }), Eligible);
    assert_eq!(v(Cond::And { all: vec![] }), Eligible);
    assert_eq!(v(Cond::Or { any: vec![] }), NotEligible);
    // A missing size class is unknown; a missing tag is simply false.
    let mut e = firm();
    e.size_class = None;
    let r = run_on(
        cond(Cond::SizeIn {
            sizes: vec![SizeClass::Small],
        }),
        &e,
        &[],
        today(),
    );
    assert_eq!(r.verdict, Undetermined);
}

#[test]
fn growth_over_zero_base_is_unknown() {
    let g = |base: i64| {
        run(
            cond(ge(
                Expr::Growth {
                    indicator: Revenue,
                    year: YearBack(1),
                },
                Expr::Lit {
                    value: Num::ratio(1, 10).unwrap(),
                    dim: Dim::Ratio,
                },
            )),
            &[fig(Revenue, 2025, 2200), fig(Revenue, 2024, base)],
        )
        .verdict
    };
    assert_eq!(g(0), Verdict::Undetermined);
    assert_eq!(g(2000), Verdict::Eligible); // exactly 10%
    assert_eq!(g(2001), Verdict::NotEligible);
}

#[test]
fn age_uses_the_birthday_rule() {
    // Founded 2020-03-01: 6 full years on 2026-03-01, 5 the day before.
    let rule = || cond(ge(Expr::AgeYears, years(6)));
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    assert_eq!(
        run_on(rule(), &firm(), &[], d(2026, 3, 1)).verdict,
        Verdict::Eligible
    );
    assert_eq!(
        run_on(rule(), &firm(), &[], d(2026, 2, 28)).verdict,
        Verdict::NotEligible
    );
    let mut e = firm();
    e.founded = None;
    assert_eq!(
        run_on(rule(), &e, &[], today()).verdict,
        Verdict::Undetermined
    );
}

#[test]
fn ten_percent_rounds_half_away_and_caps() {
    let amount = Expr::Min {
        args: vec![
            Expr::Arith {
                op: ArithOp::Mul,
                left: Box::new(ind(RdSpending, 1)),
                right: Box::new(Expr::Lit {
                    value: Num::ratio(1, 10).unwrap(),
                    dim: Dim::Ratio,
                }),
            },
            wan(100),
        ],
    };
    let r = |rd: i64| {
        run(
            Rule {
                condition: Cond::And { all: vec![] },
                amount: Some(amount.clone()),
            },
            &[fig(RdSpending, 2025, rd)],
        )
    };
    assert_eq!(r(1_234_565).amount, Some(123_457)); // 123,456.5 分 → 123,457
    assert_eq!(r(1_234_564).amount, Some(123_456));
    assert_eq!(r(3_200_000_000).amount, Some(100_000_000)); // capped at 100万元
    // Eligible without the figure: the amount is unknown, the verdict stays.
    let missing = r(0);
    assert_eq!(missing.amount, Some(0));
    let none = run(
        Rule {
            condition: Cond::And { all: vec![] },
            amount: Some(amount),
        },
        &[],
    );
    assert_eq!((none.verdict, none.amount), (Verdict::Eligible, None));
}

#[test]
fn tiers_lower_bounds_are_inclusive() {
    let tiers = Expr::Tiers {
        basis: Box::new(ind(Revenue, 1)),
        bands: vec![
            Band {
                from: Num::int(1000),
                amount: wan(10),
            },
            Band {
                from: Num::int(5000),
                amount: wan(30),
            },
        ],
    };
    let r = |rev: i64| {
        run(
            Rule {
                condition: Cond::And { all: vec![] },
                amount: Some(tiers.clone()),
            },
            &[fig(Revenue, 2025, rev)],
        )
        .amount
    };
    assert_eq!(r(999), Some(0));
    assert_eq!(r(1000), Some(10_000_000));
    assert_eq!(r(4999), Some(10_000_000));
    assert_eq!(r(5000), Some(30_000_000));
}

#[test]
fn area_groups_and_industry_sections() {
    let area = |codes: &[&str]| {
        run(
            cond(Cond::AreaIn {
                areas: codes.iter().map(|s| s.to_string()).collect(),
            }),
            &[],
        )
        .verdict
    };
    assert_eq!(area(&["440400"]), Verdict::Eligible); // 香洲区 lies within 珠海市
    assert_eq!(area(&["440404", "440403"]), Verdict::NotEligible);
    let industry = |codes: &[&str]| {
        run(
            cond(Cond::IndustryIn {
                codes: codes.iter().map(|s| s.to_string()).collect(),
            }),
            &[],
        )
        .verdict
    };
    assert_eq!(industry(&["C"]), Verdict::Eligible);
    assert_eq!(industry(&["C39"]), Verdict::Eligible);
    assert_eq!(industry(&["I", "40"]), Verdict::NotEligible);
}

#[test]
fn latest_arrival_wins_and_certs_are_dated() {
    let mut corrected = fig(Revenue, 2025, 3_000_000_000);
    corrected.arrived_at = at(10);
    let rule = cond(ge(ind(Revenue, 1), wan(2000)));
    assert_eq!(
        run(rule.clone(), &[corrected.clone(), fig(Revenue, 2025, 1)]).verdict,
        Verdict::Eligible
    );
    let cert = cond(Cond::CertValid {
        name: "高新技术企业".into(),
    });
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    assert_eq!(
        run_on(cert.clone(), &firm(), &[], d(2026, 12, 31)).verdict,
        Verdict::Eligible
    );
    assert_eq!(
        run_on(cert, &firm(), &[], d(2027, 1, 1)).verdict,
        Verdict::NotEligible
    );
}

#[test]
fn explanations_say_what_is_missing_and_what_would_do() {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: today(),
        reference: &rd,
    };
    let rule = Rule {
        condition: Cond::And {
            all: vec![
                ge(ind(Revenue, 1), wan(2000)),
                ge(
                    ind(Employees, 1),
                    Expr::Lit {
                        value: Num::int(10),
                        dim: Dim::Persons,
                    },
                ),
                Cond::AreaIn {
                    areas: vec!["440403".into()],
                },
                Cond::SizeIn {
                    sizes: vec![SizeClass::Medium],
                },
            ],
        },
        amount: Some(Expr::Min {
            args: vec![
                Expr::Arith {
                    op: ArithOp::Mul,
                    left: Box::new(ind(RdSpending, 1)),
                    right: Box::new(Expr::Lit {
                        value: Num::ratio(1, 10).unwrap(),
                        dim: Dim::Ratio,
                    }),
                },
                wan(100),
            ],
        }),
    };
    let rs = RuleSet::new(vec![(7, rule)], &ctx);
    let inds = [fig(Revenue, 2025, 1_850_000_000)];
    let x = rs.explain(7, &firm(), &inds).unwrap();
    assert_eq!(x.verdict, Verdict::NotEligible);
    let c = &x.conditions;
    assert_eq!(c[0].text, "上年度（2025年）营业收入 ≥ 2,000万元");
    assert_eq!(c[0].verdict, Verdict::NotEligible);
    assert_eq!(
        c[0].hint.as_deref(),
        Some("上年度（2025年）营业收入 1,850万元，差 150万元 达到 2,000万元")
    );
    assert_eq!(c[0].values[0].label, "2025年营业收入");
    assert_eq!(c[0].values[0].value.as_deref(), Some("1,850万元"));
    assert_eq!(c[0].values[0].source.as_deref(), Some("SSWJ"));
    assert_eq!(c[1].verdict, Verdict::Undetermined);
    assert_eq!(
        c[1].hint.as_deref(),
        Some("缺少2025年从业人员数据（需人力资源社会保障/统计部门共享）")
    );
    assert_eq!(
        c[2].hint.as_deref(),
        Some("企业所在区域为香洲区，不在 斗门区 范围内")
    );
    assert_eq!(c[3].hint.as_deref(), Some("企业规模为小型，要求 中型"));

    // Eligible: the amount formula with the figures put in.
    let rs = RuleSet::new(
        vec![(
            8,
            Rule {
                condition: Cond::And { all: vec![] },
                amount: rs.rule(7).unwrap().amount.clone(),
            },
        )],
        &ctx,
    );
    let x = rs
        .explain(8, &firm(), &[fig(RdSpending, 2025, 320_000_000)])
        .unwrap();
    assert_eq!(x.amount, Some(32_000_000));
    assert_eq!(
        x.amount_text.as_deref(),
        Some("min(2025年研发投入 320万元 × 10% = 32万元, 100万元) = 32万元")
    );
    let json = serde_json::to_string(&x).unwrap();
    assert!(json.contains("\"verdict\":\"eligible\""), "{json}");
}

#[test]
fn simulation_counts_and_blockers() {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: today(),
        reference: &rd,
    };
    let mk = |area: &str, size: Option<SizeClass>, rev: Option<i64>| {
        let mut e = firm();
        e.area = area.into();
        e.size_class = size;
        let inds = rev.map(|r| vec![fig(Revenue, 2025, r)]).unwrap_or_default();
        (e, inds)
    };
    let rows = vec![
        mk("440402", Some(SizeClass::Small), Some(3_000_000_000)), // eligible
        mk("440403", Some(SizeClass::Small), Some(3_000_000_000)), // eligible
        mk("440402", Some(SizeClass::Large), Some(3_000_000_000)), // size only
        mk("440402", Some(SizeClass::Large), Some(1)),             // size and revenue
        mk("440402", None, Some(3_000_000_000)),                   // undetermined
        mk("440402", Some(SizeClass::Small), None),                // undetermined
    ];
    let pop = Population::build(rows, &ctx);
    let rule = Rule {
        condition: Cond::And {
            all: vec![
                Cond::SizeIn {
                    sizes: vec![SizeClass::Small, SizeClass::Micro],
                },
                ge(ind(Revenue, 1), wan(2000)),
            ],
        },
        amount: Some(wan(50)),
    };
    let s = simulate_rule(&rule, &ctx, &pop);
    assert_eq!((s.eligible, s.undetermined, s.not_eligible), (2, 2, 2));
    assert_eq!(s.amount.total, 100_000_000);
    assert_eq!(s.amount.median, Some(50_000_000));
    assert_eq!(s.conditions[0].text, "企业规模属于 小型、微型");
    assert_eq!(
        (
            s.conditions[0].not_met,
            s.conditions[0].sole_blocker,
            s.conditions[0].unknown
        ),
        (2, 1, 1)
    );
    assert_eq!(
        (
            s.conditions[1].not_met,
            s.conditions[1].sole_blocker,
            s.conditions[1].unknown
        ),
        (1, 0, 1)
    );
    let xz = s.by_area.iter().find(|b| b.name == "香洲区").unwrap();
    assert_eq!(xz.eligible, 1);
    assert_eq!(s.by_section[0].key, "C");
    assert_eq!(s.by_section[0].eligible, 2);
    assert!(s.summary().starts_with("符合 2 家"), "{}", s.summary());
}

#[test]
fn rows_are_found_by_uscc_and_the_index_follows_replacements() {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: today(),
        reference: &rd,
    };
    let rows: Vec<_> = zhengqi_eligibility::synth::enterprises(300, 5, today(), &rd).collect();
    let mut pop = Population::build(rows.iter().cloned(), &ctx);
    for (r, (e, _)) in rows.iter().enumerate() {
        assert_eq!(pop.position(e.uscc.as_str()), Some(r));
    }
    assert_eq!(pop.position("91440400MA4UX0000X"), None);
    assert_eq!(pop.position(""), None);
    // Row 7 now holds row 3's enterprise: the lowest row wins, and row 7's
    // old USCC is gone.
    assert!(pop.replace(7, &rows[3].0, &rows[3].1, &rd));
    assert_eq!(pop.position(rows[3].0.uscc.as_str()), Some(3));
    assert_eq!(pop.position(rows[7].0.uscc.as_str()), None);
    let mut e = firm();
    e.uscc = Uscc::from_body("91440400MA4UX0001").unwrap();
    let row = pop.push(&e, &[], &rd);
    assert_eq!(pop.position(e.uscc.as_str()), Some(row));
}

#[test]
fn streaming_match_equals_the_materialised_one() {
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: today(),
        reference: &rd,
    };
    let pop = Population::build(
        zhengqi_eligibility::synth::enterprises(3000, 9, today(), &rd),
        &ctx,
    );
    let rs = RuleSet::new(zhengqi_eligibility::synth::rules(60, 3, today()), &ctx);
    let full = rs.match_all(&pop);
    assert!(full.eligible_pairs() > 0 && full.undetermined_pairs() > 0);
    let seen = std::sync::Mutex::new(Vec::new());
    rs.match_all_with(&pop, |p| {
        let m = full.policy(p.policy).unwrap();
        assert_eq!(p.eligible, m.eligible.as_slice());
        assert_eq!(p.undetermined, m.undetermined.as_slice());
        for i in 0..p.eligible.len() {
            assert_eq!(p.amount(i), m.amount(i));
        }
        assert_eq!(p.amount_total(), m.amount_total());
        seen.lock().unwrap().push(p.policy);
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    let mut ids: Vec<i64> = rs.policy_ids().collect();
    ids.sort();
    assert_eq!(seen, ids);
}

#[test]
fn figures_of_far_apart_years_are_still_found() {
    // A stray year 1 makes the year span too wide for the direct column
    // table; lookups then go through the hash map and must agree.
    let inds = [
        fig(Revenue, 1, 5),
        fig(Revenue, 2025, 3_000_000_000),
        fig(RdSpending, 2025, 400_000_000),
    ];
    let rule = Rule {
        condition: ge(ind(Revenue, 1), wan(2000)),
        amount: Some(Expr::Arith {
            op: ArithOp::Mul,
            left: Box::new(ind(RdSpending, 1)),
            right: Box::new(Expr::Lit {
                value: Num::ratio(1, 10).unwrap(),
                dim: Dim::Ratio,
            }),
        }),
    };
    let o = run(rule, &inds);
    assert_eq!(o.verdict, Verdict::Eligible);
    assert_eq!(o.amount, Some(40_000_000));
    let rd = ReferenceData::zhuhai();
    let ctx = Context {
        today: today(),
        reference: &rd,
    };
    let pop = Population::build([(firm(), inds.to_vec())], &ctx);
    assert_eq!(pop.value(0, Revenue, 1), Some(5));
    assert_eq!(pop.value(0, Revenue, 2025), Some(3_000_000_000));
    assert_eq!(pop.value(0, Revenue, 2024), None);
}
