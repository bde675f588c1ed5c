use proptest::prelude::*;

use super::*;

fn rd() -> ReferenceData {
    ReferenceData::zhuhai()
}

fn parse(bytes: &[u8]) -> ParsedPolicy {
    parse_policy(bytes, &rd()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_str(s: &str) -> Result<ParsedPolicy, PolicyParseError> {
    parse_policy(s.as_bytes(), &rd())
}

const SEED: &[u8] = include_bytes!("../../../../data/policies/policy-000.txt");

#[test]
fn policy_seed_gives_ten_articles_with_their_lead_units() {
    let p = parse(SEED);
    let want: [&[&str]; 10] = [
        &["市政府办公室", "市发展改革局"],
        &["市政务服务数据管理局", "市发展改革局", "市住房城乡建设局"],
        &["市政务服务数据管理局"],
        &["市招商署"],
        &["市财政局", "市发展改革局"],
        &["市发展改革局", "市财政局"],
        &["市自然资源局"],
        &["市财政局", "市人力资源社会保障局"],
        &["市财政局"],
        &["市招商署", "市工业和信息化局", "市自然资源局"],
    ];
    assert_eq!(p.articles.len(), 10);
    for (i, (a, w)) in p.articles.iter().zip(want).enumerate() {
        assert_eq!(a.number as usize, i + 1);
        assert_eq!(a.lead_units, w, "第{}条", i + 1);
        assert!(a.unknown_lead_units.is_empty());
    }
    assert_eq!(
        p.articles[0].heading,
        "以“产业第一”为切入口再造政府系统业务流程"
    );
    assert_eq!(p.articles[1].heading, "建立容缺办理、并联审批机制");
    assert!(
        p.articles[9]
            .text
            .ends_with("(市招商署、市工业和信息化局、市自然资源局牵头)")
    );
    assert_eq!(
        p.enterprise_sizes,
        [SizeClass::Medium, SizeClass::Small, SizeClass::Micro]
    );
    let names: Vec<&str> = p.areas.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "珠海市",
            "市直属",
            "香洲区",
            "高新区",
            "斗门区",
            "鹤洲新区筹备组",
            "金湾区",
            "横琴"
        ]
    );
    assert_eq!(p.areas[5].code, "440400-HZXQ");
    assert_eq!(p.areas[5].members, ["保税区", "万山区"]);
    assert_eq!(p.areas[5].member_codes, ["440400-BSQ", "440400-WSQ"]);
    assert_eq!(p.areas[6].members, ["高栏港"]);
    assert_eq!(p.area_codes().len(), 11);
    assert_eq!(p.valid_until, None);
    assert!(p.closing.starts_with("各牵头单位根据职责分工"));
    assert!(p.closing.contains("实操督办"));
    let t = p
        .targets
        .iter()
        .find(|t| t.kind == TargetKind::Percent)
        .unwrap();
    assert_eq!((t.article, t.exact, t.value), (2, 8000, 0.8));
    assert!(t.text.contains("80%"));
    assert!(p.title_derived);
    assert!(
        p.title
            .starts_with("以“产业第一”为切入口再造政府系统业务流程")
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.content_hash.len(), 64);
}

#[test]
fn policy_json_matches_cli_contract() {
    let p = parse(SEED);
    let j = to_json(&p);
    assert_eq!(j["tags"]["企业规模"], "中型,小型,微型");
    assert_eq!(j["tags"]["有效期至"], "文件中未注明");
    assert_eq!(
        j["enterprise_sizes"],
        serde_json::json!(["中型", "小型", "微型"])
    );
    assert_eq!(j["areas"][5]["name"], "鹤洲新区筹备组");
    assert_eq!(
        j["areas"][5]["members"],
        serde_json::json!(["保税区", "万山区"])
    );
    assert!(j["areas"][5]["code"].is_string());
    assert!(j["valid_until"].is_null());
    assert_eq!(j["articles"][0]["number"], 1);
    assert_eq!(
        j["articles"][0]["lead_units"],
        serde_json::json!(["市政府办公室", "市发展改革局"])
    );
    assert!(j["articles"][0]["text"].is_string());
    assert!(j["closing"].is_string());
    assert_eq!(j["targets"][0]["article"], 2);
    assert_eq!(j["targets"][0]["kind"], "percent");
    assert_eq!(j["targets"][0]["value"], 0.8);
    assert_eq!(j["targets"][0]["exact"], 8000);

    let dated = parse_str("有效期至 | 2025年12月31日 |\n一、甲。乙。").unwrap();
    assert_eq!(to_json(&dated)["valid_until"], "2025-12-31");
}

struct Case {
    file: &'static str,
    bytes: &'static [u8],
    articles: usize,
    /// (article, expected known lead units)
    lead: (u32, &'static [&'static str]),
    /// (article, expected unknown lead units); article 0 = none anywhere
    unknown: (u32, &'static [&'static str]),
    sizes: &'static [&'static str],
    areas: usize,
    valid_until: Option<&'static str>,
    /// (article, kind, exact, comparison)
    target: (u32, &'static str, i64, Option<&'static str>),
    /// (article, number of items, first label)
    items: (u32, usize, Option<&'static str>),
    closing: bool,
    title: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        file: "policy-000.txt",
        bytes: SEED,
        articles: 10,
        lead: (10, &["市招商署", "市工业和信息化局", "市自然资源局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 8,
        valid_until: None,
        target: (2, "percent", 8000, None),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-001-yanfa-buzhu.txt",
        bytes: include_bytes!("../../../../data/policies/policy-001-yanfa-buzhu.txt"),
        articles: 3,
        lead: (2, &["市科技创新局", "市税务局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2026-12-31"),
        target: (1, "money", 500000000, Some("最高不超过")),
        items: (2, 3, Some("（一）")),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-002-gaoqi-rending.txt",
        bytes: include_bytes!("../../../../data/policies/policy-002-gaoqi-rending.txt"),
        articles: 4,
        lead: (1, &["市科技创新局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 4,
        valid_until: None,
        target: (3, "money", 2000000000, Some("以上")),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-003-zhuanjingtexin.txt",
        bytes: include_bytes!("../../../../data/policies/policy-003-zhuanjingtexin.txt"),
        articles: 3,
        lead: (2, &["市工业和信息化局", "市统计局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 2,
        valid_until: Some("2025-12-31"),
        target: (1, "money", 100000000, None),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-004-wengang-butie.txt",
        bytes: include_bytes!("../../../../data/policies/policy-004-wengang-butie.txt"),
        articles: 3,
        lead: (3, &["市人力资源社会保障局", "市政务服务数据管理局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 8,
        valid_until: Some("2025-12-31"),
        target: (1, "percent", 550, Some("不高于")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-005-rencai-anjia.txt",
        bytes: include_bytes!("../../../../data/policies/policy-005-rencai-anjia.txt"),
        articles: 3,
        lead: (1, &["市人力资源社会保障局"]),
        unknown: (1, &["市委组织部"]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2027-06-30"),
        target: (1, "money", 30000000, None),
        items: (1, 3, Some("1.")),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-006-jigai.txt",
        bytes: include_bytes!("../../../../data/policies/policy-006-jigai.txt"),
        articles: 3,
        lead: (1, &["斗门区工业和信息化局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型"],
        areas: 1,
        valid_until: Some("2026-06-30"),
        target: (1, "money", 500000000, Some("以上")),
        items: (1, 4, Some("（一）")),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-007-waimao-xinbao.txt",
        bytes: include_bytes!("../../../../data/policies/policy-007-waimao-xinbao.txt"),
        articles: 3,
        lead: (3, &["市商务局", "市政务服务数据管理局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 3,
        valid_until: Some("2025-12-31"),
        target: (2, "money", 1000000000, Some("以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-008-shangshi-jiangli.txt",
        bytes: include_bytes!("../../../../data/policies/policy-008-shangshi-jiangli.txt"),
        articles: 3,
        lead: (1, &["市财政局"]),
        unknown: (1, &["市地方金融监督管理局"]),
        sizes: &["大型", "中型", "小型"],
        areas: 1,
        valid_until: None,
        target: (3, "money", 100000000000, Some("以上")),
        items: (1, 3, Some("（一）")),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-009-zujin-butie.txt",
        bytes: include_bytes!("../../../../data/policies/policy-009-zujin-butie.txt"),
        articles: 3,
        lead: (1, &["横琴粤澳深度合作区商事服务局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2026-12-31"),
        target: (1, "duration", 36, None),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-010-shoutaitao.txt",
        bytes: include_bytes!("../../../../data/policies/policy-010-shoutaitao.txt"),
        articles: 2,
        lead: (1, &["市工业和信息化局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 3,
        valid_until: Some("2027-12-31"),
        target: (2, "percent", 8000, None),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-011-qiye-kaiban.txt",
        bytes: include_bytes!("../../../../data/policies/policy-011-qiye-kaiban.txt"),
        articles: 3,
        lead: (1, &["市市场监督管理局", "市政务服务数据管理局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 2,
        valid_until: None,
        target: (2, "money", 30000, Some("不超过")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-012-rongque-shouli.txt",
        bytes: include_bytes!("../../../../data/policies/policy-012-rongque-shouli.txt"),
        articles: 4,
        lead: (3, &["市政务服务数据管理局", "市住房城乡建设局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2026-12-31"),
        target: (1, "percent", 8000, Some("达到…以上")),
        items: (1, 0, None),
        closing: true,
        title: Some("珠海市政务服务容缺受理实施办法"),
    },
    Case {
        file: "policy-013-daikuan-tiexi.txt",
        bytes: include_bytes!("../../../../data/policies/policy-013-daikuan-tiexi.txt"),
        articles: 2,
        lead: (1, &["市财政局"]),
        unknown: (1, &["人民银行珠海市分行"]),
        sizes: &["小型", "微型"],
        areas: 3,
        valid_until: Some("2025-06-30"),
        target: (1, "money", 1000000000, Some("以下")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-014-shuzihua-zhuanxing.txt",
        bytes: include_bytes!("../../../../data/policies/policy-014-shuzihua-zhuanxing.txt"),
        articles: 3,
        lead: (1, &["市工业和信息化局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2027-06-30"),
        target: (1, "money", 20000000, Some("不低于")),
        items: (1, 3, Some("（一）")),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-015-zongbu-qiye.txt",
        bytes: include_bytes!("../../../../data/policies/policy-015-zongbu-qiye.txt"),
        articles: 3,
        lead: (3, &["市发展改革局", "市自然资源局"]),
        unknown: (0, &[]),
        sizes: &["大型"],
        areas: 2,
        valid_until: Some("2026-12-31"),
        target: (2, "money", 15000000000, Some("超过")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-016-xiaoshenggui.txt",
        bytes: include_bytes!("../../../../data/policies/policy-016-xiaoshenggui.txt"),
        articles: 3,
        lead: (1, &["市工业和信息化局", "市统计局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 5,
        valid_until: Some("2025-12-31"),
        target: (2, "percent", 1000, Some("以上")),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-017-zhaoshang-luodi.txt",
        bytes: include_bytes!("../../../../data/policies/policy-017-zhaoshang-luodi.txt"),
        articles: 3,
        lead: (1, &["市招商署"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型"],
        areas: 1,
        valid_until: None,
        target: (3, "duration", 18, Some("内")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-018-fuhuaqi.txt",
        bytes: include_bytes!("../../../../data/policies/policy-018-fuhuaqi.txt"),
        articles: 2,
        lead: (2, &["市科技创新局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 3,
        valid_until: Some("2026-12-31"),
        target: (2, "count", 50, Some("达到…以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-019-zhuanli-zizhu.txt",
        bytes: include_bytes!("../../../../data/policies/policy-019-zhuanli-zizhu.txt"),
        articles: 3,
        lead: (1, &["市市场监督管理局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2025-12-31"),
        target: (1, "money", 300000, None),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-020-lvse-zhizao.txt",
        bytes: include_bytes!("../../../../data/policies/policy-020-lvse-zhizao.txt"),
        articles: 3,
        lead: (1, &["市工业和信息化局", "市生态环境局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 3,
        valid_until: None,
        target: (2, "percent", 1000, Some("以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-021-danbao-feilv.txt",
        bytes: include_bytes!("../../../../data/policies/policy-021-danbao-feilv.txt"),
        articles: 2,
        lead: (2, &["市财政局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: None,
        target: (1, "percent", 100, Some("不超过")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-022-kuajing-dianshang.txt",
        bytes: include_bytes!("../../../../data/policies/policy-022-kuajing-dianshang.txt"),
        articles: 2,
        lead: (1, &["市商务局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 2,
        valid_until: Some("2026-03-31"),
        target: (1, "money", 5000000000, Some("达到…以上")),
        items: (1, 2, Some("①")),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-023-jineng-peixun.txt",
        bytes: include_bytes!("../../../../data/policies/policy-023-jineng-peixun.txt"),
        articles: 3,
        lead: (2, &["市人力资源社会保障局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 5,
        valid_until: Some("2025-12-31"),
        target: (1, "duration", 40, Some("不少于")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-024-gangkou-hangyun.txt",
        bytes: include_bytes!("../../../../data/policies/policy-024-gangkou-hangyun.txt"),
        articles: 3,
        lead: (2, &["市交通运输局", "市财政局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型"],
        areas: 3,
        valid_until: Some("2026-12-31"),
        target: (2, "percent", 2000, Some("以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-025-anquan-shengchan.txt",
        bytes: include_bytes!("../../../../data/policies/policy-025-anquan-shengchan.txt"),
        articles: 3,
        lead: (1, &[]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2025-12-31"),
        target: (2, "money", 100000000, Some("最高不超过")),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-026-xiangzhou-louyu.txt",
        bytes: include_bytes!("../../../../data/policies/policy-026-xiangzhou-louyu.txt"),
        articles: 2,
        lead: (2, &["香洲区发展和改革局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2026-12-31"),
        target: (2, "money", 10000000000, Some("超过")),
        items: (1, 0, None),
        closing: true,
        title: None,
    },
    Case {
        file: "policy-027-jinwan-hangkong.txt",
        bytes: include_bytes!("../../../../data/policies/policy-027-jinwan-hangkong.txt"),
        articles: 3,
        lead: (3, &["金湾区经济发展局", "市人力资源社会保障局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2028-03-31"),
        target: (1, "money", 10000000000, Some("达到…以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-028-gaoxin-jicheng-dianlu.txt",
        bytes: include_bytes!("../../../../data/policies/policy-028-gaoxin-jicheng-dianlu.txt"),
        articles: 3,
        lead: (3, &["高新区经济发展局", "市科技创新局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2027-12-31"),
        target: (1, "percent", 5000, None),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-029-doumen-nongye.txt",
        bytes: include_bytes!("../../../../data/policies/policy-029-doumen-nongye.txt"),
        articles: 2,
        lead: (1, &["斗门区工业和信息化局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 2,
        valid_until: Some("2026-12-31"),
        target: (2, "money", 200000000, Some("以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-030-hezhou-haiyang.txt",
        bytes: include_bytes!("../../../../data/policies/policy-030-hezhou-haiyang.txt"),
        articles: 2,
        lead: (2, &["市发展改革局", "市商务局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2025-12-31"),
        target: (2, "percent", 1500, Some("以上")),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-031-yingshang-21tiao.txt",
        bytes: include_bytes!("../../../../data/policies/policy-031-yingshang-21tiao.txt"),
        articles: 21,
        lead: (21, &["市政府办公室", "市发展改革局"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2026-01-09"),
        target: (7, "percent", 5000, Some("以上")),
        items: (1, 0, None),
        closing: true,
        title: Some("珠海市进一步优化营商环境二十一条措施"),
    },
    Case {
        file: "policy-032-duohang-biaoqian.txt",
        bytes: include_bytes!("../../../../data/policies/policy-032-duohang-biaoqian.txt"),
        articles: 3,
        lead: (2, &["市市场监督管理局", "市科技创新局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 3,
        valid_until: Some("2027-06-17"),
        target: (3, "money", 3000000000, Some("最高不超过")),
        items: (1, 0, None),
        closing: true,
        title: Some("珠海市促进生物医药产业高质量发展若干措施"),
    },
    Case {
        file: "policy-033-kongbai-suojin.txt",
        bytes: include_bytes!("../../../../data/policies/policy-033-kongbai-suojin.txt"),
        articles: 2,
        lead: (1, &["市商务局", "市统计局"]),
        unknown: (0, &[]),
        sizes: &["中型", "小型", "微型"],
        areas: 1,
        valid_until: Some("2025-12-31"),
        target: (1, "money", 5000000, None),
        items: (1, 0, None),
        closing: false,
        title: None,
    },
    Case {
        file: "policy-034-qiantao-bianhao.txt",
        bytes: include_bytes!("../../../../data/policies/policy-034-qiantao-bianhao.txt"),
        articles: 2,
        lead: (1, &["市发展改革局", "市招商署"]),
        unknown: (0, &[]),
        sizes: &["大型", "中型", "小型", "微型"],
        areas: 2,
        valid_until: None,
        target: (1, "money", 100000000000, Some("以上")),
        items: (1, 4, Some("（一）")),
        closing: true,
        title: None,
    },
];

#[test]
fn policy_sample_records_parse_as_expected() {
    let rd = rd();
    for c in CASES {
        let p = parse_policy(c.bytes, &rd).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        let f = c.file;
        assert_eq!(p.articles.len(), c.articles, "{f}: 条款数");
        for (i, a) in p.articles.iter().enumerate() {
            assert_eq!(a.number as usize, i + 1, "{f}: 编号");
            assert!(!a.heading.is_empty(), "{f}: 第{}条标题为空", a.number);
        }
        let a = &p.articles[c.lead.0 as usize - 1];
        assert_eq!(a.lead_units, c.lead.1, "{f}: 第{}条牵头单位", c.lead.0);
        if c.unknown.0 == 0 {
            assert!(
                p.articles.iter().all(|a| a.unknown_lead_units.is_empty()),
                "{f}"
            );
        } else {
            let a = &p.articles[c.unknown.0 as usize - 1];
            assert_eq!(a.unknown_lead_units, c.unknown.1, "{f}: 未知牵头单位");
            assert!(p.warnings.iter().any(|w| w.contains(c.unknown.1[0])), "{f}");
        }
        let sizes: Vec<&str> = p.enterprise_sizes.iter().map(|s| s.label()).collect();
        assert_eq!(sizes, c.sizes, "{f}: 企业规模");
        assert_eq!(p.areas.len(), c.areas, "{f}: 适用区域");
        assert_eq!(
            p.valid_until.map(|d| d.to_string()).as_deref(),
            c.valid_until,
            "{f}: 有效期"
        );
        let (ta, kind, exact, cmp) = c.target;
        assert!(
            p.targets.iter().any(|t| t.article == ta
                && serde_json::to_value(t.kind).ok() == Some(kind.into())
                && t.exact == exact
                && t.comparison.as_deref() == cmp),
            "{f}: 缺少指标 {:?}，实际 {:#?}",
            c.target,
            p.targets
        );
        let a = &p.articles[c.items.0 as usize - 1];
        assert_eq!(a.items.len(), c.items.1, "{f}: 第{}条子项", c.items.0);
        assert_eq!(a.items.first().map(|i| i.label.as_str()), c.items.2, "{f}");
        assert_eq!(
            !p.closing.is_empty(),
            c.closing,
            "{f}: 结尾段 {:?}",
            p.closing
        );
        match c.title {
            Some(t) => assert_eq!((p.title.as_str(), p.title_derived), (t, false), "{f}"),
            None => assert!(p.title_derived && !p.title.is_empty(), "{f}"),
        }
        for t in &p.targets {
            assert!(t.value.is_finite() && t.exact >= 0, "{f}: {t:?}");
            if let Some(m) = t.amount() {
                assert_eq!(m.fen(), t.exact);
            }
        }
    }
}

/// Every sample file must be in the table, so a new file cannot go untested.
#[test]
fn policy_every_sample_file_is_in_the_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/policies");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(files.len() >= 31);
}

#[test]
fn policy_invalid_records_are_rejected_with_chinese_messages() {
    let e = parse_policy(
        include_bytes!("../../../../data/policies/invalid/unknown-area.txt"),
        &rd(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        PolicyParseError::UnknownArea {
            names: vec!["火星区".into()]
        }
    );
    assert_eq!(e.to_string(), "无法识别的适用区域“火星区”");

    let e = parse_policy(
        include_bytes!("../../../../data/policies/invalid/empty.txt"),
        &rd(),
    )
    .unwrap_err();
    assert_eq!(e, PolicyParseError::Empty);
    assert_eq!(e.to_string(), "文件为空");

    let e = parse_policy(
        include_bytes!("../../../../data/policies/invalid/no-articles.txt"),
        &rd(),
    )
    .unwrap_err();
    assert_eq!(e, PolicyParseError::NoArticles);
    assert_eq!(e.to_string(), "没有找到编号条款（如“一、”）");

    assert_eq!(
        parse_policy(b"", &rd()).unwrap_err(),
        PolicyParseError::Empty
    );
    assert_eq!(
        parse_policy(b"\xFF\xFF\xFF", &rd()).unwrap_err(),
        PolicyParseError::Encoding
    );
}

#[test]
fn policy_every_unknown_area_is_named() {
    let e = parse_str("适用区域 | 珠海市,火星区,金湾区(月球港、高栏港),水星区(保税区) |\n一、甲。")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "无法识别的适用区域“火星区”、“月球港”、“水星区”"
    );
    for bad in [
        "香洲区(保税区",
        "香洲区)",
        "(保税区)",
        "金湾区(高栏港)x",
        "a(b(c(d)))",
    ] {
        let e = parse_str(&format!("适用区域 | {bad} |\n一、甲。")).unwrap_err();
        assert!(
            matches!(e, PolicyParseError::AreaSyntax { .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn policy_area_variants_resolve() {
    let p = parse_str(
        "适用区域｜珠海，鹤洲新区（筹）、金湾区（高栏港经济区）,横琴粤澳深度合作区,香洲区() |\n一、甲。",
    )
    .unwrap();
    let got: Vec<(&str, Vec<&str>)> = p
        .areas
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.members.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("珠海市", vec![]),
            ("鹤洲新区筹备组", vec![]),
            ("金湾区", vec!["高栏港"]),
            ("横琴", vec![]),
            ("香洲区", vec![]),
        ]
    );
    // A member that does not belong to its group is kept, with a warning.
    let p = parse_str("适用区域 | 香洲区(保税区) |\n一、甲。").unwrap();
    assert_eq!(p.areas[0].members, ["保税区"]);
    assert_eq!(p.warnings.len(), 1);
}

#[test]
fn policy_bad_expiry_is_an_error() {
    let e = parse_str("有效期至 | 下个月 |\n一、甲。").unwrap_err();
    assert_eq!(
        e,
        PolicyParseError::InvalidExpiry {
            value: "下个月".into()
        }
    );
    assert!(e.to_string().starts_with("无法识别的有效期“下个月”"));
}

#[test]
fn policy_same_record_in_any_encoding_gives_the_same_result() {
    let text = std::str::from_utf8(SEED).unwrap();
    let utf8 = parse(SEED);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(SEED);
    let crlf = text.replace('\n', "\r\n");
    let (gb, _, bad) = encoding_rs::GB18030.encode(&crlf);
    let gb = gb.into_owned();
    assert!(!bad);
    let spaced = text
        .lines()
        .map(|l| format!("\u{3000}\u{3000}{l}  \t"))
        .collect::<Vec<_>>()
        .join("\n\n");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    for bytes in [
        bom,
        crlf.clone().into_bytes(),
        gb,
        spaced.into_bytes(),
        utf16,
    ] {
        assert_eq!(parse(&bytes), utf8);
    }
}

#[test]
fn policy_gb18030_samples_are_not_utf8() {
    for f in [
        "policy-002-gaoqi-rending.txt",
        "policy-005-rencai-anjia.txt",
        "policy-020-lvse-zhizao.txt",
        "policy-027-jinwan-hangkong.txt",
    ] {
        let c = CASES.iter().find(|c| c.file == f).unwrap();
        assert!(std::str::from_utf8(c.bytes).is_err(), "{f}");
    }
}

fn case(file: &str) -> ParsedPolicy {
    parse(CASES.iter().find(|c| c.file == file).unwrap().bytes)
}

#[test]
fn policy_nested_items_keep_order_and_level() {
    let p = case("policy-034-qiantao-bianhao.txt");
    let a = &p.articles[0];
    let labels: Vec<(&str, u8, u32)> = a
        .items
        .iter()
        .map(|i| (i.label.as_str(), i.level, i.number))
        .collect();
    assert_eq!(
        labels,
        [
            ("（一）", 1, 1),
            ("（1）", 3, 1),
            ("（2）", 3, 2),
            ("（二）", 1, 2)
        ]
    );
    // The lead units are not part of the last item.
    assert!(
        a.items[3].text.ends_with("重大问题限时协调解决。"),
        "{:?}",
        a.items[3].text
    );
    // “一、二、三” mid-sentence does not start an article.
    assert_eq!(p.articles.len(), 2);
    assert!(a.text.contains("坚持“一、二、三”工作法"));
    assert!(p.closing.starts_with("以上措施"));

    let p = case("policy-006-jigai.txt");
    let levels: Vec<u8> = p.articles[0].items.iter().map(|i| i.level).collect();
    assert_eq!(levels, [1, 2, 2, 1]);
    assert_eq!(p.articles[0].heading, "支持工业企业技术改造");
    assert_eq!(
        p.articles[0].items[3].text,
        "智能化改造补助。对实施智能化改造的企业，按项目软硬件投资额的20%给予补助，最高不超过300万元。"
    );

    let p = case("policy-022-kuajing-dianshang.txt");
    assert_eq!(p.articles[0].items[1].level, 4);
}

#[test]
fn policy_layout_variants() {
    let p = case("policy-033-kongbai-suojin.txt");
    assert_eq!(p.articles[0].heading, "支持商贸企业升规纳统");
    assert_eq!(p.articles[1].heading, "支持举办促消费活动");
    assert_eq!(p.tags["政策类型"], "消费促进");

    let p = case("policy-032-duohang-biaoqian.txt");
    assert_eq!(p.tags.len(), 8);
    assert!(p.preamble.starts_with("为加快生物医药产业集聚发展"));
    assert_eq!(p.tags["兑现方式"], "即申即享");

    let p = case("policy-031-yingshang-21tiao.txt");
    assert_eq!(p.articles[20].number, 21);
    assert_eq!(p.articles[20].heading, "强化督查考核");
    assert!(p.closing.starts_with("各区、各部门"));

    let p = case("policy-017-zhaoshang-luodi.txt");
    assert_eq!(
        p.articles[0].cooperating_units,
        ["市发展改革局", "市自然资源局"]
    );

    let p = case("policy-024-gangkou-hangyun.txt");
    assert_eq!(p.areas[1].members, ["高栏港"]);
    assert_eq!(p.areas[2].members, ["保税区", "万山区"]);

    let p = case("policy-030-hezhou-haiyang.txt");
    assert_eq!(p.areas[0].members, ["保税区", "万山区"]);

    let p = case("policy-005-rencai-anjia.txt");
    assert!(
        p.warnings.iter().any(|w| w.contains("市委组织部")),
        "{:?}",
        p.warnings
    );
    assert_eq!(
        p.articles[0].items[2].text,
        "本科生每人2万元。\n申请人年龄应在35周岁以下。"
    );

    let p = case("policy-011-qiye-kaiban.txt");
    assert!(
        p.warnings.iter().any(|w| w.contains("0.5个工作日")),
        "{:?}",
        p.warnings
    );

    let p = case("policy-021-danbao-feilv.txt");
    assert!(!p.tags.contains_key("有效期至"));
}

fn targets_of(s: &str) -> Vec<Target> {
    let p = parse_str(&format!("一、测试。{s}")).unwrap();
    p.targets
}

#[test]
fn policy_targets_are_exact() {
    let t = targets_of(
        "按研发投入的10%给予补助、最高不超过500万元；营业收入2000万元以上；规模1.5亿元；百分之八十；百分之十二点五；3个工作日内；连续补贴一年；限时办结",
    );
    type Row<'a> = (&'a str, i64, &'a str, Option<&'a str>, Option<&'a str>);
    let got: Vec<Row> = t
        .iter()
        .map(|t| {
            (
                t.matched.as_str(),
                t.exact,
                t.exact_unit,
                t.comparison.as_deref(),
                t.op,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("10%", 1000, "基点", None, None),
            (
                "最高不超过500万元",
                500_000_000,
                "分",
                Some("最高不超过"),
                Some("<=")
            ),
            (
                "2000万元以上",
                2_000_000_000,
                "分",
                Some("以上"),
                Some(">=")
            ),
            ("1.5亿元", 15_000_000_000, "分", None, None),
            ("百分之八十", 8000, "基点", None, None),
            ("百分之十二点五", 1250, "基点", None, None),
            ("3个工作日内", 3, "工作日", Some("内"), Some("<=")),
            ("一年", 12, "月", None, None),
            ("限时", 0, "", None, None),
        ]
    );
    assert_eq!(t[1].amount(), Some(Amount::checked_from_wan(500).unwrap()));
    assert_eq!(t[0].value, 0.1);
    assert_eq!(t[3].value, 150_000_000.0);
    assert!(!t[8].has_value);
    assert!(t[1].text.contains("最高不超过500万元"));
}

#[test]
fn policy_targets_skip_dates_years_and_words() {
    let t = targets_of(
        "自2024年1月1日起施行，统一年度考核，第一年，2025年底前完成，珠府〔2023〕12号，PC端，V2.0版，一站式，年满35周岁",
    );
    assert!(t.is_empty(), "{t:#?}");
    let p = parse_str("一、测试。达到5,000万元（含）以上；100，200家；1万人；0.125%；每件3000元")
        .unwrap();
    assert!(
        p.warnings.iter().any(|w| w.contains("0.125%")),
        "{:?}",
        p.warnings
    );
    let t = p.targets;
    let got: Vec<(&str, i64)> = t.iter().map(|t| (t.matched.as_str(), t.exact)).collect();
    assert_eq!(
        got,
        [
            ("达到5,000万元（含）以上", 5_000_000_000),
            ("200家", 200),
            ("1万人", 10_000),
            ("3000元", 300_000),
        ]
    );
}

#[test]
fn policy_article_numbers_need_a_line_start() {
    let p = parse_str("一、甲。包括一、二两项。\n二、乙。\n  三、丙。\n五、戊。\n十一 、不是。\n")
        .unwrap();
    let nums: Vec<u32> = p.articles.iter().map(|a| a.number).collect();
    assert_eq!(nums, [1, 2, 3, 5]);
    assert!(p.warnings.iter().any(|w| w.contains("不连续")));
    assert!(p.articles[3].text.contains("十一 、不是"));
}

#[test]
fn policy_tag_header_edge_cases() {
    let p = parse_str(
        "企业规模：| 中小微 |适用区域|珠海市|\n| 发文单位 |\n珠海市财政局 |\n行业 | 制造业 | 兑现方式\n一、甲。",
    )
    .unwrap();
    assert_eq!(p.enterprise_sizes.len(), 3);
    assert_eq!(p.tags["发文单位"], "珠海市财政局");
    assert_eq!(p.tags["兑现方式"], "");
    assert!(p.warnings.iter().any(|w| w.contains("兑现方式")));

    let p = parse_str("企业规模 | 中型,特大型 | 企业规模 | 微型 |\n一、甲。").unwrap();
    assert_eq!(p.enterprise_sizes, [SizeClass::Medium]);
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);

    let p = parse_str("一、甲。").unwrap();
    assert!(p.tags.is_empty());
    assert_eq!(p.title, "甲");
}

#[test]
fn policy_lead_unit_forms() {
    let p = parse_str(
        "一、甲。（牵头单位：市财政局；配合单位：市税务局）\n二、乙。(市发改局、各区政府牵头)\n三、丙（市财政局牵头）\n四、丁。（市财政局）",
    )
    .unwrap();
    assert_eq!(p.articles[0].lead_units, ["市财政局"]);
    assert_eq!(p.articles[0].cooperating_units, ["市税务局"]);
    assert_eq!(p.articles[1].lead_units, ["市发展改革局"]);
    assert_eq!(p.articles[1].unknown_lead_units, ["各区政府"]);
    assert_eq!(p.articles[2].heading, "丙");
    assert!(p.articles[3].lead_units.is_empty());
}

#[test]
fn policy_hash_ignores_layout_only() {
    let a = parse_str("一、甲。\n二、乙。").unwrap();
    let b = parse_str("\u{feff}  一、甲。\r\n\r\n二、乙。  ").unwrap();
    let c = parse_str("一、甲。\n二、丙。").unwrap();
    assert_eq!(a.content_hash, b.content_hash);
    assert_ne!(a.content_hash, c.content_hash);
}

#[test]
fn policy_regressions_do_not_panic() {
    let rd = rd();
    for s in [
        "一、",
        "一、（",
        "一、(",
        "一、)",
        "（一）",
        "一、\n（",
        "一、\n1.",
        "一、\n①",
        "一、百分之",
        "一、百分之百",
        "一、1.",
        "一、1,",
        "一、1,00",
        "一、99999999999999999999999999亿元",
        "一、百分之99999999999999999999",
        "一、1.5.5万元",
        "一、（牵头单位：）",
        "一、()牵头)",
        "一、（）",
        "｜｜｜\n一、",
        "|\n|\n一、",
        "适用区域|（|\n一、",
        "适用区域|)(|\n一、",
        "适用区域|香洲区（）（）|\n一、",
        "有效期至|年月日|\n一、",
        "有效期至|9999年99月99日|\n一、",
        "一、限时",
        "一、限期内",
        "一、十万万元",
        "一、一百零零元",
    ] {
        let _ = parse_policy(s.as_bytes(), &rd);
    }
}

const PIECES: &[&str] = &[
    "企业规模",
    "适用区域",
    "有效期至",
    "标题",
    "发文单位",
    " | ",
    "｜",
    "|",
    "\n",
    "\r\n",
    ",",
    "，",
    "、",
    "(",
    ")",
    "（",
    "）",
    "珠海市",
    "鹤洲新区筹备组",
    "保税区",
    "金湾区",
    "高栏港",
    "火星区",
    "中型",
    "小型",
    "微型",
    "文件中未注明",
    "长期有效",
    "2025年12月31日",
    "2025-12-31",
    "一、",
    "二、",
    "十、",
    "二十一、",
    "九十九、",
    "（一）",
    "（1）",
    "1.",
    "①",
    "。",
    "；",
    "牵头",
    "市财政局",
    "市发展改革局",
    "未知局",
    "配合",
    "牵头单位：",
    "80%",
    "百分之八十",
    "百分之",
    "2000万元",
    "1.5亿元",
    "以上",
    "以下",
    "不超过",
    "不低于",
    "达到",
    "最高",
    "3个工作日",
    "限时",
    "一年",
    "内",
    "万",
    "亿",
    "元",
    "0",
    "9",
    ".",
    "\u{3000}",
    "\u{feff}",
    " ",
    "本措施",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn policy_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_policy(&bytes, &ReferenceData::zhuhai());
    }

    #[test]
    fn policy_arbitrary_text_never_panics(s in "\\PC{0,400}") {
        let _ = parse_policy(s.as_bytes(), &ReferenceData::zhuhai());
    }

    #[test]
    fn policy_grammar_pieces_never_panic(idx in proptest::collection::vec(0..PIECES.len(), 0..120)) {
        let s: String = idx.iter().map(|&i| PIECES[i]).collect();
        if let Ok(p) = parse_policy(s.as_bytes(), &ReferenceData::zhuhai()) {
            prop_assert!(!p.articles.is_empty());
            for t in &p.targets {
                prop_assert!(t.value.is_finite());
                prop_assert!(t.exact >= 0);
            }
            let _ = to_json(&p);
            // GB18030 gives the same result as UTF-8.
            let (gb, _, _) = encoding_rs::GB18030.encode(&s);
            if std::str::from_utf8(&gb).is_err() {
                let q = parse_policy(&gb, &ReferenceData::zhuhai());
                prop_assert_eq!(q.ok(), Some(p));
            }
        }
    }
}

/// Large and pathological inputs finish in linear time and never panic.
#[test]
fn policy_large_inputs_are_handled() {
    let mut s = String::from("企业规模 | 中型 | 适用区域 | 珠海市 |\n");
    for i in 1..=999u32 {
        let n = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        let num = match (i / 100, (i / 10) % 10, i % 10) {
            (0, 0, u) => n[u as usize].to_string(),
            (0, 1, u) => format!("十{}", n[u as usize]),
            (0, t, u) => format!("{}十{}", n[t as usize], n[u as usize]),
            (h, 0, 0) => format!("{}百", n[h as usize]),
            (h, 0, u) => format!("{}百零{}", n[h as usize], n[u as usize]),
            (h, t, u) => format!("{}百{}十{}", n[h as usize], n[t as usize], n[u as usize]),
        };
        s.push_str(&format!(
            "{num}、措施{i}。奖励{i}万元，增长{i}%以上。（市财政局牵头）\n"
        ));
    }
    let p = parse_str(&s).unwrap();
    assert_eq!(p.articles.len(), 999);
    assert!(p.warnings.is_empty(), "{:?}", &p.warnings[..1]);
    assert_eq!(p.articles[998].number, 999);
    assert_eq!(p.targets.len(), 999 * 2);

    for bad in [
        "(".repeat(100_000),
        ")".repeat(100_000),
        format!("适用区域 | {} |\n一、甲。", "(".repeat(50_000)),
        format!("一、{}", "（一）".repeat(50_000)),
        format!("一、甲{}", "）".repeat(50_000)),
        "1".repeat(100_000),
        "一、".repeat(50_000),
    ] {
        let _ = parse_str(&bad);
    }
    assert!(matches!(
        parse_policy(&vec![b'a'; MAX_BYTES + 1], &rd()),
        Err(PolicyParseError::TooLarge { .. })
    ));
}
