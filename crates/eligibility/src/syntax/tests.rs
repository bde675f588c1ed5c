use chrono::NaiveDate;
use zhengqi_domain::enterprise::IndicatorKind::{self, *};
use zhengqi_domain::policy::parse_policy;
use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass::*;

use super::*;
use crate::ast::*;
use crate::num::Num;

fn rd() -> ReferenceData {
    ReferenceData::zhuhai()
}

fn rule(text: &str) -> Rule {
    parse_rule(text, &rd()).unwrap_or_else(|e| panic!("{text}\n{}", format_errors(&e)))
}

fn cond(text: &str) -> Cond {
    parse_condition(text, &rd()).unwrap_or_else(|e| panic!("{text}\n{}", format_errors(&e)))
}

fn expr(text: &str) -> Expr {
    parse_expr(text, &rd()).unwrap_or_else(|e| panic!("{text}\n{}", format_errors(&e)))
}

fn errors(text: &str) -> Vec<RuleError> {
    match parse_rule(text, &rd()) {
        Ok(r) => panic!("应报错却解析成功：{text}\n{r:?}"),
        Err(e) => e,
    }
}

/// The single error of `text`.
fn error(text: &str) -> RuleError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{}", format_errors(&e));
    e.into_iter().next().unwrap()
}

fn money(fen: i64) -> Expr {
    Expr::Lit {
        value: Num::int(fen),
        dim: Dim::Money,
    }
}

fn lit(value: Num, dim: Dim) -> Expr {
    Expr::Lit { value, dim }
}

fn ind(k: IndicatorKind, back: u8) -> Expr {
    Expr::Indicator {
        indicator: k,
        year: YearBack(back),
    }
}

fn cmp(op: CmpOp, left: Expr, right: Expr) -> Cond {
    Cond::Cmp { op, left, right }
}

fn tag(t: &str) -> Cond {
    Cond::HasTag { tag: t.into() }
}

fn not(c: Cond) -> Cond {
    Cond::Not { cond: Box::new(c) }
}

fn pct(n: i128) -> Num {
    Num::ratio(n, 100).unwrap()
}

#[test]
fn product_owner_example() {
    let r = rule(
        "企业规模 属于 [中型, 小型, 微型] 且 区域 属于 [香洲区, 横琴] 且 上年度.营业收入 >= 2000万元 且 成立年限 >= 1 且 非 失信企业",
    );
    assert_eq!(
        r.condition,
        Cond::And {
            all: vec![
                Cond::SizeIn {
                    sizes: vec![Medium, Small, Micro]
                },
                Cond::AreaIn {
                    areas: vec!["440402".into(), "440400-HQ".into()]
                },
                cmp(CmpOp::Ge, ind(Revenue, 1), money(2_000_000_000)),
                cmp(CmpOp::Ge, Expr::AgeYears, lit(Num::int(1), Dim::Years)),
                not(tag("失信企业")),
            ]
        }
    );
    assert_eq!(r.amount, None);
}

#[test]
fn lines_are_and_and_amount_comes_last() {
    let r = rule(
        "# 研发补助\n企业规模 属于 [中型, 小型]   # 中小企业\n\n资质 高新技术企业 有效\n金额 = min(上年度.研发投入 × 10%, 100万元)\n",
    );
    assert_eq!(
        r.condition,
        Cond::And {
            all: vec![
                Cond::SizeIn {
                    sizes: vec![Medium, Small]
                },
                Cond::CertValid {
                    name: "高新技术企业".into()
                },
            ]
        }
    );
    assert_eq!(
        r.amount,
        Some(Expr::Min {
            args: vec![
                Expr::Arith {
                    op: ArithOp::Mul,
                    left: Box::new(ind(RdSpending, 1)),
                    right: Box::new(lit(pct(10), Dim::Ratio)),
                },
                money(100_000_000),
            ]
        })
    );
    // An amount alone: everyone qualifies.
    let r = rule("金额 = 5万元");
    assert_eq!(r.condition, Cond::And { all: vec![] });
    assert_eq!(r.amount, Some(money(5_000_000)));
}

#[test]
fn precedence_not_and_or_and_continuation_lines() {
    let a = || tag("甲");
    let b = || tag("乙");
    let c = || tag("丙");
    assert_eq!(
        cond("甲 或 乙 且 丙"),
        Cond::Or {
            any: vec![
                a(),
                Cond::And {
                    all: vec![b(), c()]
                }
            ]
        }
    );
    assert_eq!(
        cond("非 甲 且 乙"),
        Cond::And {
            all: vec![not(a()), b()]
        }
    );
    assert_eq!(
        cond("非 (甲 且 乙)"),
        not(Cond::And {
            all: vec![a(), b()]
        })
    );
    // Each line is a whole condition; a line starting with 或 continues.
    assert_eq!(
        cond("甲\n乙\n或 丙"),
        Cond::And {
            all: vec![
                a(),
                Cond::Or {
                    any: vec![b(), c()]
                }
            ]
        }
    );
    assert_eq!(
        cond("甲 或\n乙"),
        Cond::Or {
            any: vec![a(), b()]
        }
    );
    // Inside brackets a line break is a space.
    assert_eq!(
        cond("(甲\n或 乙)\n丙"),
        Cond::And {
            all: vec![
                Cond::Or {
                    any: vec![a(), b()]
                },
                c()
            ]
        }
    );
    assert_eq!(cond("全部()"), Cond::And { all: vec![] });
    assert_eq!(cond("任一(甲)"), Cond::Or { any: vec![a()] });
}

#[test]
fn english_aliases_and_full_width_punctuation() {
    let zh = rule(
        "企业规模 属于 [中型, 小型] 且 区域 属于 [香洲区] 且 行业 属于 [C39] 且 上年度.营业收入 >= 1亿元 且 近三年平均.研发投入 > 0元 且 前年.纳税总额增长率 >= 10% 且 成立年限 >= 3",
    );
    let en = rule(
        "size in [medium, small] and area in [440402] and industry in [39] and last_year.revenue >= 1亿元 and avg3.rd_spending > 0元 and y2.tax_paid_growth >= 10% and age >= 3",
    );
    let full = rule(
        "企业规模 属于 【中型，小型】 且 区域 属于 ［香洲区］ 且 行业 属于 【Ｃ３９】 且 上年度．营业收入 ≥ １亿元 且 近3年平均.研发投入 ＞ 0元 且 前年.纳税总额增长率 ＞＝ 10％ 且 成立年限 >= 3年",
    );
    assert_eq!(zh, en);
    assert_eq!(zh, full);
}

#[test]
fn connectives_without_spaces() {
    assert_eq!(
        cond("成立年限>=1且上年度.从业人员<=300或者标签 链主企业"),
        Cond::Or {
            any: vec![
                Cond::And {
                    all: vec![
                        cmp(CmpOp::Ge, Expr::AgeYears, lit(Num::int(1), Dim::Years)),
                        cmp(
                            CmpOp::Le,
                            ind(Employees, 1),
                            lit(Num::int(300), Dim::Persons)
                        ),
                    ]
                },
                tag("链主企业"),
            ]
        }
    );
    assert_eq!(
        cond("企业规模属于[中型]并且区域不属于[横琴]"),
        Cond::And {
            all: vec![
                Cond::SizeIn {
                    sizes: vec![Medium]
                },
                not(Cond::AreaIn {
                    areas: vec!["440400-HQ".into()]
                }),
            ]
        }
    );
}

#[test]
fn sets_tags_certs_and_dates() {
    assert_eq!(
        cond("行业 属于 [C, C39, 39, 3911, 制造业]"),
        Cond::IndustryIn {
            codes: vec![
                "C".into(),
                "39".into(),
                "39".into(),
                "39".into(),
                "C".into()
            ]
        }
    );
    assert_eq!(
        cond("区域 属于 [珠海市, 鹤洲新区（筹）, \"440400-GLG\", 440400-BSQ]"),
        Cond::AreaIn {
            areas: vec![
                "440400".into(),
                "440400-HZXQ".into(),
                "440400-GLG".into(),
                "440400-BSQ".into()
            ]
        }
    );
    assert_eq!(
        cond("企业规模 属于 中小微"),
        Cond::SizeIn {
            sizes: vec![Medium, Small, Micro]
        }
    );
    assert_eq!(cond("有标签 链主企业"), tag("链主企业"));
    assert_eq!(cond("tag \"3D打印\""), tag("3D打印"));
    assert_eq!(
        cond("标签 “专精特新“小巨人”企业”"),
        Cond::HasTag {
            tag: "专精特新“小巨人”企业".into()
        }
    );
    for t in [
        "高新技术企业 有效",
        "资质 高新技术企业",
        "cert 高新技术企业 valid",
    ] {
        assert_eq!(
            cond(t),
            Cond::CertValid {
                name: "高新技术企业".into()
            },
            "{t}"
        );
    }
    let until = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    for t in [
        "有效期至 2026-12-31",
        "有效期至 2026/12/31",
        "有效期至 2026年12月31日",
        "valid_until 2026-12-31",
    ] {
        assert_eq!(cond(t), Cond::InForceUntil { until }, "{t}");
    }
    assert_eq!(
        cond("size not in [large]"),
        not(Cond::SizeIn { sizes: vec![Large] })
    );
}

#[test]
fn numbers_units_and_years() {
    assert_eq!(expr("2000万元"), money(2_000_000_000));
    assert_eq!(expr("1.5亿元"), money(15_000_000_000));
    assert_eq!(expr("500元"), money(50_000));
    assert_eq!(expr("0.01元"), money(1));
    assert_eq!(expr("10%"), lit(pct(10), Dim::Ratio));
    assert_eq!(expr("-2.5%"), lit(Num::ratio(-1, 40).unwrap(), Dim::Ratio));
    assert_eq!(expr("50人"), lit(Num::int(50), Dim::Persons));
    assert_eq!(expr("30亩"), lit(Num::int(3000), Dim::Land));
    assert_eq!(expr("0.5亩"), lit(Num::int(50), Dim::Land));
    assert_eq!(expr("3年"), lit(Num::int(3), Dim::Years));
    assert_eq!(expr("2"), lit(Num::int(2), Dim::Count));
    assert_eq!(expr("本年度.从业人员"), ind(Employees, 0));
    assert_eq!(expr("上年度营业收入"), ind(Revenue, 1));
    assert_eq!(expr("去年.用地面积"), ind(LandArea, 1));
    assert_eq!(expr("3年前.资产总额"), ind(TotalAssets, 3));
    assert_eq!(
        expr("上年度.营业收入增长率"),
        Expr::Growth {
            indicator: Revenue,
            year: YearBack(1)
        }
    );
    assert_eq!(
        expr("近三年合计.纳税总额"),
        Expr::Aggregate {
            indicator: TaxPaid,
            agg: Aggregate::Sum,
            years: 3
        }
    );
    assert_eq!(expr("sum5.tax_paid"), expr("近五年合计.纳税总额"));
    assert_eq!(
        expr("近2年平均.工业增加值"),
        expr("avg2.industrial_value_added")
    );
}

#[test]
fn arithmetic_precedence_and_tiers() {
    let a = || ind(Revenue, 1);
    let b = || ind(Revenue, 2);
    let sub = |l: Expr, r: Expr| Expr::Arith {
        op: ArithOp::Sub,
        left: Box::new(l),
        right: Box::new(r),
    };
    let mul = |l: Expr, r: Expr| Expr::Arith {
        op: ArithOp::Mul,
        left: Box::new(l),
        right: Box::new(r),
    };
    let two = || lit(Num::int(2), Dim::Count);
    assert_eq!(
        expr("上年度.营业收入 - 前年.营业收入 * 2"),
        sub(a(), mul(b(), two()))
    );
    assert_eq!(
        expr("(上年度.营业收入 - 前年.营业收入) × 2"),
        mul(sub(a(), b()), two())
    );
    assert_eq!(
        expr("上年度.营业收入 - 前年.营业收入 - 1元"),
        sub(sub(a(), b()), money(100))
    );
    let t = expr("阶梯(上年度.营业收入; 0元: 10万元; 2000万元: 30万元; 1亿元: 50万元)");
    assert_eq!(
        t,
        Expr::Tiers {
            basis: Box::new(a()),
            bands: vec![
                Band {
                    from: Num::ZERO,
                    amount: money(10_000_000)
                },
                Band {
                    from: Num::int(2_000_000_000),
                    amount: money(30_000_000)
                },
                Band {
                    from: Num::int(10_000_000_000),
                    amount: money(50_000_000)
                },
            ]
        }
    );
    // Commas, line breaks and a trailing separator read the same.
    assert_eq!(
        expr("tiers(last_year.revenue,\n 0元: 10万元,\n 2000万元: 30万元,\n 1亿元: 50万元,\n)"),
        t
    );
    // Tiers over persons take bare numbers as persons.
    assert_eq!(
        expr("阶梯(上年度.从业人员; 0: 1万元; 100: 2万元)"),
        expr("阶梯(上年度.从业人员; 0人: 1万元; 100人: 2万元)")
    );
    // A parenthesised formula at the start of a comparison.
    assert_eq!(
        cond("(上年度.营业收入 - 前年.营业收入) / 前年.营业收入 >= 20%"),
        cmp(
            CmpOp::Ge,
            Expr::Arith {
                op: ArithOp::Div,
                left: Box::new(sub(a(), b())),
                right: Box::new(b())
            },
            lit(pct(20), Dim::Ratio)
        )
    );
}

#[test]
fn unknown_field_points_at_it_and_lists_fields() {
    let e = error("企业规模 属于 [中型]\n且 上年度.营收 >= 2000万元");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.contains("未知指标“营收”"), "{e}");
    assert!(e.expected.contains(&"营业收入".to_string()));
    let e = error("营收 >= 2000万元");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(
        e.to_string()
            .starts_with("第1行第1列：未知字段“营收”，可用字段：营业收入、纳税总额"),
        "{e}"
    );
    let e = error("营业收入 >= 2000万元");
    assert!(e.message.contains("需指明年度，如 上年度.营业收入"), "{e}");
    let e = error("近三年平均.营业收入增长率 > 5%");
    assert!(e.message.contains("增长率只能用于单个年度"), "{e}");
    let e = error("今后.营业收入 > 5元");
    assert!(e.message.contains("未知年度“今后”"), "{e}");
    let e = error("规模等级 属于 [中型]");
    assert!(e.message.contains("未知字段“规模等级”"), "{e}");
}

#[test]
fn type_errors_say_what_was_found_and_expected() {
    let e = error("上年度.从业人员 >= 50万元");
    assert_eq!((e.line, e.column), (1, 1));
    assert_eq!(e.message, "“>=”两边类型不一致：左边是人数，右边是金额");
    assert_eq!(e.expected, ["人数"]);

    let e = error("上年度.营业收入 + 上年度.从业人员 > 1元");
    assert!(e.message.contains("不能把金额和人数相加"), "{e}");

    let e = error("上年度.营业收入 >= 10%");
    assert!(e.message.contains("左边是金额，右边是比例"), "{e}");

    let e = error("上年度.营业收入 >= 2026-12-31");
    assert!(e.message.contains("日期只能用于“有效期至"), "{e}");
    assert_eq!(e.column, 13);

    let e = error("上年度.营业收入 >= 2000");
    assert!(e.message.contains("“2000”缺少单位"), "{e}");
    assert_eq!(e.expected, ["元", "万元", "亿元"]);

    let e = error("标签 甲\n金额 = 上年度.研发投入 × 10% ÷ 上年度.营业收入");
    assert_eq!(e.line, 2);
    assert!(
        e.message.contains("金额公式的结果应是金额，这里是比例"),
        "{e}"
    );

    let e = error("金额 = 上年度.营业收入 × 上年度.纳税总额");
    assert!(e.message.contains("不能把金额和金额相乘"), "{e}");

    let e = error("金额 = 阶梯(上年度.营业收入; 2000万元: 30万元; 0元: 10万元)");
    assert!(e.message.contains("阶梯的起点应从小到大排列"), "{e}");
    assert_eq!(e.column, 33);

    let e = error("金额 = 阶梯(上年度.营业收入; 0人: 30万元)");
    assert!(e.message.contains("依据是金额，起点是人数"), "{e}");

    let e = error("金额 = 阶梯(上年度.营业收入; 0元: 30万元; 1亿元: 5%)");
    assert!(e.message.contains("第1档是金额，第2档是比例"), "{e}");

    let e = error("金额 = min(100万元, 10%)");
    assert!(e.message.contains("min(…) 的参数应是同一类数值"), "{e}");
}

#[test]
fn syntax_errors_in_chinese_with_positions() {
    let e = error("区域 属于 [香洲区, 广州市]");
    assert_eq!((e.line, e.column), (1, 13));
    assert!(
        e.message.starts_with("未知区域“广州市”，可用区域：珠海市"),
        "{e}"
    );

    let e = error("行业 属于 [Z9]");
    assert!(e.message.contains("未知行业“Z9”"), "{e}");

    let e = error("企业规模 属于 [巨型]");
    assert!(e.message.contains("未知企业规模“巨型”"), "{e}");
    assert_eq!(e.expected, ["大型", "中型", "小型", "微型"]);

    let e = error("企业规模 属于 []");
    assert!(e.message.contains("列表不能为空"), "{e}");

    let e = error("上年度.营业收入 >= 0.001元");
    assert!(e.message.contains("金额最小单位为分"), "{e}");

    let e = error("上年度.营业收入 >= 2000万");
    assert!(
        e.message.contains("“万”不是可用的单位，金额请写 万元"),
        "{e}"
    );

    let e = error("成立年限 >= 1 非 失信企业");
    assert!(e.message.contains("条件后应为“且”“或”或换行"), "{e}");
    assert_eq!(e.column, 11);

    let e = error("1 < 成立年限 < 5");
    assert!(e.message.contains("比较不能连写"), "{e}");

    let e = error("非失信企业");
    assert!(e.message.contains("“非”后要加空格（非 失信企业）"), "{e}");

    let e = error("香洲区 或 横琴");
    assert!(e.message.contains("请写 区域 属于 [香洲区]"), "{e}");
    let e = error("非 小型");
    assert!(e.message.contains("企业规模 属于 [小型]"), "{e}");
    assert_eq!(cond("标签 香洲区"), tag("香洲区"));

    let e = error("标签 \"未闭合");
    assert!(e.message.contains("引号没有闭合"), "{e}");

    let e = error("有效期至 2026-02-30");
    assert!(e.message.contains("日期“2026-02-30”不存在"), "{e}");

    let e = error("金额 = 5万元\n标签 甲");
    assert!(e.message.contains("金额公式应写在最后一行"), "{e}");

    let e = error("(标签 甲");
    assert!(e.message.contains("“)”"), "{e}");

    let e = error("   \n# 只有注释\n");
    assert!(e.message.contains("规则为空"), "{e}");

    // One error per bad line.
    let e = errors("营收 > 1元\n标签 甲\n区域 属于 [火星]");
    assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);

    assert!(parse_condition("金额 = 5元", &rd()).is_err());
}

/// Inputs the fuzzer found (fuzz/fuzz_targets/parse_rule.rs).
#[test]
fn fuzz_regressions_terminate() {
    for text in [
        // A list item with an unclosed parenthesis ran into the end of input
        // and looped forever.
        "企业规模 属于 [中 = max(上年度.纳税总额 × 5% - 103年前万元\n",
        "区域 属于 香洲区(",
        "行业 属于 [(",
    ] {
        assert!(parse_rule(text, &rd()).is_err(), "{text}");
    }
}

#[test]
fn depth_is_limited_without_overflowing_the_stack() {
    for n in [100, 10_000] {
        let text = format!("{}标签 甲{}", "(".repeat(n), ")".repeat(n));
        let e = parse_rule(&text, &rd()).unwrap_err();
        assert!(e[0].message.contains("嵌套层数过多"), "{}", e[0]);
        let text = format!("金额 = {}1元{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_rule(&text, &rd()).is_err());
        let text = format!("{}标签 甲", "非 ".repeat(n));
        assert!(parse_rule(&text, &rd()).is_err());
    }
    assert!(
        parse_rule(
            &format!("{}标签 甲{}", "(".repeat(20), ")".repeat(20)),
            &rd()
        )
        .is_ok()
    );
    // Parentheses around a formula are first tried as a condition group;
    // the fallback must stay cheap at the depth limit.
    let start = std::time::Instant::now();
    let text = format!("{}上年度.营业收入{} >= 1元", "(".repeat(30), ")".repeat(30));
    assert!(parse_rule(&text, &rd()).is_ok());
    let text = format!("{}上年度.营业收入 +", "(".repeat(60));
    assert!(parse_rule(&text, &rd()).is_err());
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn printer_writes_canonical_text() {
    let r = rule(
        "size in [medium,small] and area in [440402, 合作区] and industry in [39, c] and last_year.revenue >= 20000000元\n且 (标签 “3D打印” 或 高新技术企业 有效)\namount = min(last_year.rd_spending * 10%, 1000000元, 15000元 + 0.5元)",
    );
    let text = to_text(&r, &rd());
    assert_eq!(
        text,
        "企业规模 属于 [中型, 小型]\n区域 属于 [香洲区, 横琴]\n行业 属于 [C39, C]\n上年度.营业收入 >= 2000万元\n\
         标签 \"3D打印\" 或 资质 高新技术企业 有效\n\
         金额 = min(上年度.研发投入 × 10%, 100万元, 1.5万元 + 0.5元)"
    );
    assert_eq!(parse_rule(&text, &rd()).unwrap(), r);
    assert_eq!(
        expr_to_text(&expr(
            "3年前.资产总额 - (近三年平均.资产总额 - 1.25亿元) ÷ 2"
        )),
        "3年前.资产总额 - (近三年平均.资产总额 - 1.25亿元) ÷ 2"
    );
    assert_eq!(
        cond_to_text(&cond("非 非 标签 \"或\" 且 标签 “a\"”"), &rd()),
        "非 非 标签 \"或\"\n标签 “a\"”"
    );
    assert_eq!(
        cond_to_text(&cond("标签 “专精特新“小巨人”企业”"), &rd()),
        "标签 \"专精特新“小巨人”企业\""
    );
}

#[test]
fn text_json_text_round_trip() {
    let text = "企业规模 属于 [中型, 小型, 微型]\n区域 属于 [香洲区, 横琴]\n上年度.营业收入 >= 2000万元 且 上年度.营业收入增长率 >= 10%\n成立年限 >= 1年\n非 标签 失信企业\n金额 = 阶梯(上年度.营业收入; 0元: 10万元; 2000万元: 30万元; 1亿元: 50万元)";
    let r = rule(text);
    let json = serde_json::to_string(&rule_to_json(&r)).unwrap();
    let back = rule_from_json(&json, &rd()).unwrap();
    assert_eq!(back, r);
    assert_eq!(to_text(&back, &rd()), text);
    // The JSON form is readable: tags by kind, indicators by Chinese label.
    let v = rule_to_json(&rule("上年度.营业收入 >= 1元"));
    assert_eq!(
        v,
        serde_json::json!({
            "condition": {"kind": "cmp", "op": ">=",
                "left": {"kind": "indicator", "indicator": "营业收入", "year": 1},
                "right": {"kind": "lit", "value": {"num": 100, "den": 1}, "dim": "money"}}
        })
    );
}

#[test]
fn json_rules_are_checked_with_paths() {
    let bad = |json: &str| rule_from_json(json, &rd()).unwrap_err();
    let e = bad(r#"{"condition": {"kind": "cmp", "op": ">=",
        "left": {"kind": "indicator", "indicator": "从业人员", "year": 1},
        "right": {"kind": "lit", "value": {"num": 1, "den": 1}, "dim": "money"}}}"#);
    assert_eq!(e[0].path.as_deref(), Some("condition"));
    assert_eq!(
        e[0].to_string(),
        "condition：“>=”两边类型不一致：左边是人数，右边是金额"
    );
    let e =
        bad(r#"{"condition": {"kind": "and", "all": [{"kind": "area_in", "areas": ["香洲区"]}]}}"#);
    assert_eq!(e[0].path.as_deref(), Some("condition.all[0].areas[0]"));
    let e = bad(r#"{"condition": {"kind": "and", "all": []},
        "amount": {"kind": "lit", "value": {"num": 1, "den": 0}, "dim": "money"}}"#);
    assert!(e[0].message.contains("分母"), "{}", e[0]);
    let e = bad(r#"{"condition": {"kind": "and", "all": []},
        "amount": {"kind": "lit", "value": {"num": 1, "den": 3}, "dim": "money"}}"#);
    assert!(e[0].message.contains("不足一分"), "{}", e[0]);
    let e = bad(r#"{"condition": {"kind": "cmp", "op": ">",
        "left": {"kind": "growth", "indicator": "营业收入", "year": 1},
        "right": {"kind": "lit", "value": {"num": 1, "den": 3}, "dim": "ratio"}}}"#);
    assert!(e[0].message.contains("有限小数"), "{}", e[0]);
    let e =
        bad(r#"{"condition": {"kind": "and", "all": []}, "amount": {"kind": "max", "args": []}}"#);
    assert_eq!(e[0].path.as_deref(), Some("amount"));
    let e = bad(r#"{"condition": {"kind": "has_tag", "tag": " "}}"#);
    assert!(e[0].message.contains("标签名称"), "{}", e[0]);
    let e = bad(r#"{"condition": {"kind": "industry_in", "codes": ["C39"]}}"#);
    assert!(e[0].message.contains("行业代码“C39”无效"), "{}", e[0]);
    let e = bad(
        r#"{"condition": {"kind": "and", "all": []}, "amount": {"kind": "aggregate",
        "indicator": "营业收入", "agg": "sum", "years": 0}}"#,
    );
    assert_eq!(e[0].path.as_deref(), Some("amount.years"));
    let e = bad("{\n  \"condition\": 3");
    assert_eq!(e[0].line, 2);
    assert!(e[0].message.starts_with("JSON 格式错误"), "{}", e[0]);
    // check_rule needs no reference data.
    assert!(check_rule(&rule("区域 属于 [香洲区]")).is_ok());
}

#[test]
fn policy_tags_become_conditions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/policies");
    let load = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        parse_policy(&bytes, &rd()).unwrap()
    };
    // policy-000: 中型,小型,微型; the whole city list; 文件中未注明.
    let p = load("policy-000.txt");
    let conds = tag_conditions(&p);
    assert_eq!(
        conds,
        vec![
            Cond::SizeIn {
                sizes: vec![Medium, Small, Micro]
            },
            Cond::AreaIn {
                areas: p.area_codes()
            },
        ]
    );
    let Cond::AreaIn { areas } = &conds[1] else {
        unreachable!()
    };
    assert_eq!(areas.len(), 11);
    assert!(areas.contains(&"440400-BSQ".to_string()));

    // Every sample record: the conditions print and parse back.
    let mut with_date = 0;
    let mut all_sizes = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let Ok(p) = parse_policy(&std::fs::read(&path).unwrap(), &rd()) else {
            continue;
        };
        let conds = tag_conditions(&p);
        if p.valid_until.is_some() {
            with_date += 1;
            assert!(conds.iter().any(
                |c| matches!(c, Cond::InForceUntil { until } if Some(*until) == p.valid_until)
            ));
        }
        if p.enterprise_sizes.len() == 4 {
            all_sizes += 1;
            assert!(
                !conds.iter().any(|c| matches!(c, Cond::SizeIn { .. })),
                "{path:?}"
            );
        }
        if p.tags.get("有效期至").is_some_and(|v| v.contains("未注明")) {
            assert!(!conds.iter().any(|c| matches!(c, Cond::InForceUntil { .. })));
        }
        let c = Cond::And { all: conds };
        let text = cond_to_text(&c, &rd());
        if !matches!(&c, Cond::And { all } if all.is_empty()) {
            assert_eq!(
                parse_condition(&text, &rd()).unwrap(),
                c,
                "{path:?}\n{text}"
            );
        }
    }
    assert!(with_date >= 5, "{with_date}");
    assert!(all_sizes >= 3, "{all_sizes}");
}

#[test]
fn field_catalogue_examples_parse() {
    let f = fields();
    assert!(
        f.iter()
            .any(|d| d.name == "营业收入" && d.aliases == ["revenue"])
    );
    assert!(f.iter().any(|d| d.name == "成立年限" && d.kind == "年数"));
    for d in &f {
        assert!(parse_condition(&d.example, &rd()).is_ok(), "{}", d.example);
    }
}

/// Every ```rule block in docs/rules.md parses and prints back; every
/// ```rule-error block fails with the message quoted below it (`> …`).
#[test]
fn documentation_examples_parse() {
    let doc = include_str!("../../../../docs/rules.md");
    let mut ok = 0;
    let mut bad = 0;
    let mut lines = doc.lines().peekable();
    while let Some(line) = lines.next() {
        let kind = line.trim();
        if kind != "```rule" && kind != "```rule-error" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let text = block.join("\n");
        let r = parse_rule(&text, &rd());
        if kind == "```rule" {
            let r = r.unwrap_or_else(|e| panic!("{text}\n{}", format_errors(&e)));
            assert_eq!(parse_rule(&to_text(&r, &rd()), &rd()).unwrap(), r);
            ok += 1;
        } else {
            let e = r.expect_err(&text);
            let quoted = lines.peek().and_then(|l| l.strip_prefix("> "));
            let quoted = quoted.unwrap_or_else(|| panic!("错误示例后应引用错误信息：{text}"));
            assert_eq!(format_errors(&e), quoted, "{text}");
            bad += 1;
        }
    }
    assert!(ok >= 10 && bad >= 3, "{ok} {bad}");
}

mod props {
    use proptest::prelude::*;

    use super::*;

    const NAMES: &[&str] = &[
        "链主企业",
        "失信企业",
        "高新技术企业",
        "专精特新“小巨人”企业",
        "3D打印",
        "且",
        "非公企业",
        "A 级纳税人",
        "tag",
        "上年度.营业收入",
        "Ｂ轮",
        "say \"hi\"",
    ];

    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(NAMES).prop_map(String::from)
    }

    fn kind() -> impl Strategy<Value = IndicatorKind> {
        prop::sample::select(IndicatorKind::ALL.to_vec())
    }

    /// A literal of `dim` that text can express: money in whole 分, other
    /// dimensions as decimals.
    fn lit_of(dim: Dim) -> BoxedStrategy<Expr> {
        let value = match dim {
            Dim::Money => prop_oneof![
                (-10_000_000i64..10_000_000).prop_map(Num::int),
                (0i64..500).prop_map(|n| Num::int(n * 1_000_000)),
                (0i64..500).prop_map(|n| Num::int(n * 100_000_000)),
                (0i64..50).prop_map(|n| Num::int(n * 10_000_000_000)),
            ]
            .boxed(),
            _ => (
                -100_000i128..100_000,
                prop::sample::select(vec![1i128, 10, 100, 10_000]),
            )
                .prop_map(|(n, d)| Num::ratio(n, d).unwrap_or(Num::ZERO))
                .boxed(),
        };
        value
            .prop_map(move |value| Expr::Lit { value, dim })
            .boxed()
    }

    fn leaf_of(dim: Dim) -> BoxedStrategy<Expr> {
        let year = 0u8..=MAX_YEAR;
        let kinds: Vec<IndicatorKind> = IndicatorKind::ALL
            .into_iter()
            .filter(|k| Dim::of_indicator(*k) == dim)
            .collect();
        let mut options: Vec<BoxedStrategy<Expr>> = vec![lit_of(dim)];
        if !kinds.is_empty() {
            let k = prop::sample::select(kinds);
            options.push(
                (k.clone(), year.clone())
                    .prop_map(|(indicator, y)| Expr::Indicator {
                        indicator,
                        year: YearBack(y),
                    })
                    .boxed(),
            );
            options.push(
                (
                    k,
                    prop::sample::select(vec![Aggregate::Sum, Aggregate::Avg]),
                    1u8..=MAX_YEAR,
                )
                    .prop_map(|(indicator, agg, years)| Expr::Aggregate {
                        indicator,
                        agg,
                        years,
                    })
                    .boxed(),
            );
        }
        match dim {
            Dim::Ratio => options.push(
                (kind(), year)
                    .prop_map(|(indicator, y)| Expr::Growth {
                        indicator,
                        year: YearBack(y),
                    })
                    .boxed(),
            ),
            Dim::Years => options.push(Just(Expr::AgeYears).boxed()),
            _ => {}
        }
        prop::strategy::Union::new(options).boxed()
    }

    const MAX_YEAR: u8 = 20;

    fn any_dim() -> impl Strategy<Value = Dim> {
        prop::sample::select(vec![
            Dim::Money,
            Dim::Persons,
            Dim::Land,
            Dim::Years,
            Dim::Ratio,
            Dim::Count,
        ])
    }

    fn arith(op: ArithOp, l: Expr, r: Expr) -> Expr {
        Expr::Arith {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    /// A well-typed formula of dimension `dim` (see `check::combine`).
    fn expr_of(dim: Dim, depth: u32) -> BoxedStrategy<Expr> {
        if depth == 0 {
            return leaf_of(dim);
        }
        let sub = move |d: Dim| expr_of(d, depth - 1);
        let mut options: Vec<BoxedStrategy<Expr>> = vec![
            leaf_of(dim),
            (sub(dim), sub(dim), prop::bool::ANY)
                .prop_map(|(l, r, add)| arith(if add { ArithOp::Add } else { ArithOp::Sub }, l, r))
                .boxed(),
            (sub(dim), sub(Dim::Count), prop::bool::ANY)
                .prop_map(|(l, r, swap)| {
                    if swap {
                        arith(ArithOp::Mul, r, l)
                    } else {
                        arith(ArithOp::Mul, l, r)
                    }
                })
                .boxed(),
            (sub(dim), sub(Dim::Ratio))
                .prop_map(|(l, r)| arith(ArithOp::Div, l, r))
                .boxed(),
            (prop::bool::ANY, prop::collection::vec(sub(dim), 1..3))
                .prop_map(|(min, args)| {
                    if min {
                        Expr::Min { args }
                    } else {
                        Expr::Max { args }
                    }
                })
                .boxed(),
            any_dim()
                .prop_flat_map(move |bd| {
                    let froms = prop::collection::btree_set(
                        lit_of(bd).prop_map(|e| match e {
                            Expr::Lit { value, .. } => value,
                            _ => Num::ZERO,
                        }),
                        1..4,
                    );
                    (sub(bd), froms, prop::collection::vec(sub(dim), 3))
                })
                .prop_map(|(basis, froms, amounts)| Expr::Tiers {
                    basis: Box::new(basis),
                    bands: froms
                        .into_iter()
                        .zip(amounts)
                        .map(|(from, amount)| Band { from, amount })
                        .collect(),
                })
                .boxed(),
        ];
        if dim != Dim::Count {
            options.push(
                (sub(dim), sub(Dim::Ratio))
                    .prop_map(|(l, r)| arith(ArithOp::Mul, l, r))
                    .boxed(),
            );
            options.push(
                (sub(dim), sub(Dim::Count))
                    .prop_map(|(l, r)| arith(ArithOp::Div, l, r))
                    .boxed(),
            );
        }
        if dim == Dim::Ratio {
            options.push(
                any_dim()
                    .prop_flat_map(move |d| (sub(d), sub(d)))
                    .prop_map(|(l, r)| arith(ArithOp::Div, l, r))
                    .boxed(),
            );
        }
        prop::strategy::Union::new(options).boxed()
    }

    fn leaf_cond() -> BoxedStrategy<Cond> {
        let r = rd();
        let areas: Vec<String> = r.areas.iter().map(|a| a.code.clone()).collect();
        let industries: Vec<String> = r.industries.iter().map(|i| i.code.clone()).collect();
        let cmp_op = prop::sample::select(vec![
            CmpOp::Ge,
            CmpOp::Gt,
            CmpOp::Le,
            CmpOp::Lt,
            CmpOp::Eq,
            CmpOp::Ne,
        ]);
        prop_oneof![
            prop::collection::vec(prop::sample::select(SizeClass::ALL.to_vec()), 1..4)
                .prop_map(|sizes| Cond::SizeIn { sizes }),
            prop::collection::vec(prop::sample::select(areas), 1..4)
                .prop_map(|areas| Cond::AreaIn { areas }),
            prop::collection::vec(prop::sample::select(industries), 1..4)
                .prop_map(|codes| Cond::IndustryIn { codes }),
            name().prop_map(|tag| Cond::HasTag { tag }),
            name().prop_map(|name| Cond::CertValid { name }),
            (2000i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| Cond::InForceUntil {
                until: NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
            }),
            (cmp_op, any_dim())
                .prop_flat_map(|(op, d)| (Just(op), expr_of(d, 2), expr_of(d, 2)))
                .prop_map(|(op, left, right)| Cond::Cmp { op, left, right }),
        ]
        .boxed()
    }

    fn any_cond() -> impl Strategy<Value = Cond> {
        leaf_cond().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|all| Cond::And { all }),
                prop::collection::vec(inner.clone(), 0..4).prop_map(|any| Cond::Or { any }),
                inner.prop_map(|c| Cond::Not { cond: Box::new(c) }),
            ]
        })
    }

    fn any_rule() -> impl Strategy<Value = Rule> {
        (any_cond(), prop::option::of(expr_of(Dim::Money, 3)))
            .prop_map(|(condition, amount)| Rule { condition, amount })
    }

    use zhengqi_domain::size::SizeClass;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// parse(print(ast)) == ast for every well-typed rule, and the JSON
        /// form reads back to the same rule.
        #[test]
        fn print_then_parse_is_identity(r in any_rule()) {
            let rd = rd();
            prop_assert_eq!(validate_rule(&r, &rd), Ok(()));
            let text = to_text(&r, &rd);
            let back = parse_rule(&text, &rd);
            prop_assert_eq!(back.as_ref().map_err(|e| format_errors(e)), Ok(&r), "{}", text);
            let json = serde_json::to_string(&rule_to_json(&r)).unwrap();
            prop_assert_eq!(rule_from_json(&json, &rd).map_err(|e| format_errors(&e)), Ok(r));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let rd = rd();
            if let Ok(r) = parse_rule(&s, &rd) {
                prop_assert_eq!(parse_rule(&to_text(&r, &rd), &rd), Ok(r));
            }
            let _ = parse_condition(&s, &rd);
            let _ = parse_expr(&s, &rd);
            let _ = rule_from_json(&s, &rd);
        }

        /// Strings assembled from the language's own pieces reach deep into
        /// the parser; whatever parses must print and parse back the same.
        #[test]
        fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
            "企业规模", "属于", "不属于", "[", "]", "中型", "小型", ",", "，", "区域", "香洲区",
            "横琴", "行业", "C39", "39", "C", "标签", "资质", "有效", "有效期至", "2026-12-31",
            "且", "或", "非", "(", ")", "（", "）", "\n", "#注释\n", "上年度.营业收入", "前年.纳税总额",
            "近三年平均.研发投入", "上年度.从业人员", "上年度.营业收入增长率", "成立年限", "3年前.资产总额",
            ">=", ">", "<", "=", "!=", "≥", "+", "-", "×", "÷", "*", "/", "2000万元", "1.5亿元",
            "0.01元", "10%", "50人", "30亩", "3年", "2", "0", "min(", "max(", "阶梯(", ";", ":", "：",
            "金额 =", "金额 = ", "链主企业", "\"", "“", "”", " ", "全部(", "任一(", "not", "and",
        ]), 0..40)) {
            let rd = rd();
            let s: String = parts.concat();
            if let Ok(r) = parse_rule(&s, &rd) {
                let text = to_text(&r, &rd);
                prop_assert_eq!(parse_rule(&text, &rd), Ok(r), "{}\n→\n{}", s, text);
            }
        }
    }
}
