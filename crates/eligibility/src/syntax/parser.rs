//! Recursive-descent parser: tokens → AST, recording the spans the type
//! checker needs to point at the right place.
//!
//! Grammar (precedence 非 > 且 > 或; a top-level line break is 且 between
//! whole lines, and a line starting or ending with 且/或 continues):
//!
//! ```text
//! rule    = { line NL } [ ("金额" | "amount") ("=" | ":") sum ]
//! line    = or
//! or      = and { "或" and }
//! and     = not { "且" not }
//! not     = "非" not | atom
//! atom    = "(" or ")" | ("全部" | "任一") "(" [ or { "," or } ] ")"
//!         | ("企业规模" | "区域" | "行业") ["不"] "属于" list
//!         | "标签" name | "资质" name ["有效"] | "有效期至" date
//!         | name "有效" | name | sum cmp sum
//! sum     = term { ("+" | "-") term }
//! term    = factor { ("×" | "÷") factor }
//! factor  = ["-"] number [unit] | "(" sum ")" | field
//!         | ("min" | "max") "(" sum { "," sum } ")"
//!         | "阶梯" "(" sum { ";" ["-"] number [unit] ":" sum } ")"
//! ```

use std::ops::Range;
use std::str::FromStr;

use zhengqi_domain::reference::ReferenceData;
use zhengqi_domain::size::SizeClass;

use super::check::{MAX_DEPTH, Spans, infer_dim};
use super::error::RuleError;
use super::fields::*;
use super::lexer::{Tok, Token};
use super::units::scale;
use crate::ast::{ArithOp, Band, CmpOp, Cond, Dim, Expr};
use crate::num::Num;

type P<T> = Result<T, RuleError>;

/// A parsed expression, its spans, and whether it is a literal written
/// without a unit (which adopts 年/人 next to 成立年限 or 从业人员).
struct Ex {
    e: Expr,
    sp: Spans,
    bare: bool,
}

type Cx = (Cond, Spans);
/// List items as written, with their spans.
type Items = Vec<(String, Range<usize>)>;

pub(crate) struct Parsed {
    pub cond: Option<Cx>,
    pub amount: Option<(Expr, Spans)>,
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    rd: &'a ReferenceData,
    depth: usize,
}

const CMP_SYMBOLS: [&str; 6] = [">=", ">", "<=", "<", "=", "!="];

fn join(a: &Range<usize>, b: &Range<usize>) -> Range<usize> {
    a.start.min(b.start)..a.end.max(b.end)
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, toks: Vec<Token>, rd: &'a ReferenceData) -> Parser<'a> {
        Parser {
            src,
            toks,
            pos: 0,
            rd,
            depth: 0,
        }
    }

    // ---- token helpers -------------------------------------------------

    fn at(&self, k: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.pos + k).min(last)]
    }

    fn tok(&self) -> &Tok {
        &self.at(0).tok
    }

    fn span(&self) -> Range<usize> {
        self.at(0).span.clone()
    }

    fn bump(&mut self) -> Token {
        let t = self.at(0).clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn word(&self) -> Option<&str> {
        match self.tok() {
            Tok::Ident(w) => Some(w),
            _ => None,
        }
    }

    fn is(&self, list: &[&str]) -> bool {
        self.word().is_some_and(|w| is_kw(w, list))
    }

    fn next_is(&self, list: &[&str]) -> bool {
        matches!(&self.at(1).tok, Tok::Ident(w) if is_kw(w, list))
    }

    /// How the current token reads in a message.
    fn found(&self) -> String {
        let t = self.at(0);
        match t.tok {
            Tok::Eof => "结尾".to_string(),
            Tok::Newline => "换行".to_string(),
            _ => format!("“{}”", self.src.get(t.span.clone()).unwrap_or("")),
        }
    }

    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> RuleError {
        RuleError::at(self.src, span, msg)
    }

    fn err_here(&self, what: &str) -> RuleError {
        self.err(
            self.span(),
            format!("此处应为{what}，实际是{}", self.found()),
        )
    }

    fn expect(&mut self, t: Tok, what: &str) -> P<Range<usize>> {
        if *self.tok() == t {
            Ok(self.bump().span)
        } else {
            Err(self
                .err_here(what)
                .expecting([what.trim_matches(['“', '”'])]))
        }
    }

    fn skip_newlines(&mut self) {
        while *self.tok() == Tok::Newline {
            self.bump();
        }
    }

    fn skip_line(&mut self) {
        while !matches!(self.tok(), Tok::Newline | Tok::Eof) {
            self.bump();
        }
    }

    fn enter(&mut self) -> P<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                self.span(),
                format!("嵌套层数过多（超过{MAX_DEPTH}层），请拆分条件或公式"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- rules and lines -------------------------------------------------

    fn at_amount(&self) -> bool {
        self.is(KW_AMOUNT) && matches!(self.at(1).tok, Tok::Cmp(CmpOp::Eq) | Tok::Colon)
    }

    /// Condition lines, then optionally the amount line. Syntax errors are
    /// collected one per line (the parser resumes at the next line).
    pub fn rule(&mut self, allow_amount: bool) -> Result<Parsed, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut lines: Vec<Cx> = Vec::new();
        let mut amount = None;
        loop {
            self.skip_newlines();
            if *self.tok() == Tok::Eof {
                break;
            }
            self.depth = 0;
            if self.at_amount() {
                let kw = self.span();
                if !allow_amount {
                    errors.push(self.err(kw, "这里只能写条件，不能写金额公式"));
                    self.skip_line();
                    continue;
                }
                if amount.is_some() {
                    errors.push(self.err(kw, "金额公式只能写一次"));
                    self.skip_line();
                    continue;
                }
                self.bump();
                self.bump();
                match self
                    .sum()
                    .and_then(|x| self.line_end("金额公式").map(|_| x))
                {
                    Ok(x) => amount = Some((x.e, x.sp)),
                    Err(e) => {
                        errors.push(e);
                        self.skip_line();
                    }
                }
                continue;
            }
            if amount.is_some() {
                errors.push(self.err(self.span(), "金额公式应写在最后一行，条件要写在它前面"));
                self.skip_line();
                continue;
            }
            match self.or().and_then(|c| self.line_end("条件").map(|_| c)) {
                Ok(c) => lines.push(c),
                Err(e) => {
                    errors.push(e);
                    self.skip_line();
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if lines.is_empty() && amount.is_none() {
            return Err(vec![
                self.err(0..0, "规则为空：至少写一个条件或一行金额公式")
                    .expecting(condition_starts()),
            ]);
        }
        let cond = match lines.len() {
            0 => None,
            1 => lines.pop(),
            _ => {
                let span = join(&lines[0].1.span, &lines[lines.len() - 1].1.span);
                let (all, kids) = lines.into_iter().unzip();
                Some((Cond::And { all }, Spans { span, kids }))
            }
        };
        Ok(Parsed { cond, amount })
    }

    fn line_end(&self, what: &str) -> P<()> {
        match self.tok() {
            Tok::Newline | Tok::Eof => Ok(()),
            Tok::Cmp(_) if what == "条件" => Err(self
                .err(
                    self.span(),
                    "比较不能连写：请用“且”连接两个比较，如 a >= 1 且 a <= 5",
                )
                .expecting(["且"])),
            Tok::Cmp(_) => Err(self.err(self.span(), "金额公式里不能有比较")),
            _ => Err(self
                .err(
                    self.span(),
                    format!("{what}后应为“且”“或”或换行，实际是{}", self.found()),
                )
                .expecting(["且", "或", "换行"])),
        }
    }

    /// Consumes connective `t`, also across a line break next to it.
    fn connective(&mut self, t: &Tok) -> bool {
        if self.tok() == t {
            self.bump();
            self.skip_newlines();
            return true;
        }
        if *self.tok() == Tok::Newline && self.at(1).tok == *t {
            self.bump();
            self.bump();
            self.skip_newlines();
            return true;
        }
        false
    }

    // ---- conditions -----------------------------------------------------

    pub fn or(&mut self) -> P<Cx> {
        let first = self.and()?;
        let mut items = vec![first];
        while self.connective(&Tok::Or) {
            items.push(self.and()?);
        }
        Ok(Self::nary(items, |any| Cond::Or { any }))
    }

    fn and(&mut self) -> P<Cx> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.connective(&Tok::And) {
            items.push(self.not()?);
        }
        Ok(Self::nary(items, |all| Cond::And { all }))
    }

    fn nary(mut items: Vec<Cx>, make: impl Fn(Vec<Cond>) -> Cond) -> Cx {
        if items.len() == 1 {
            return items.remove(0);
        }
        let span = join(&items[0].1.span, &items[items.len() - 1].1.span);
        let (conds, kids) = items.into_iter().unzip();
        (make(conds), Spans { span, kids })
    }

    fn not(&mut self) -> P<Cx> {
        if !self.is(KW_NOT) || self.next_is(KW_IN) {
            return self.atom();
        }
        self.enter()?;
        let kw = self.bump().span;
        self.skip_newlines();
        let (c, sp) = self.not()?;
        self.leave();
        let span = join(&kw, &sp.span);
        Ok((
            Cond::Not { cond: Box::new(c) },
            Spans {
                span,
                kids: vec![sp],
            },
        ))
    }

    fn atom(&mut self) -> P<Cx> {
        self.enter()?;
        let r = self.atom_inner();
        self.leave();
        r
    }

    fn starts_expr(&self) -> bool {
        match self.tok() {
            Tok::Number(..) | Tok::Minus | Tok::YearsAgo(_) => true,
            Tok::Ident(w) => {
                let next = &self.at(1).tok;
                resolve_numeric(w).is_ok()
                    || parse_period(w).is_some()
                    || IndicatorKind::parse(w).is_some()
                    || ((is_kw(w, KW_MIN) || is_kw(w, KW_MAX) || is_kw(w, KW_TIERS))
                        && *next == Tok::LParen)
                    || matches!(
                        next,
                        Tok::Dot | Tok::Cmp(_) | Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash
                    )
            }
            _ => false,
        }
    }

    fn atom_inner(&mut self) -> P<Cx> {
        let start = self.span();
        if *self.tok() == Tok::LParen {
            return self.paren_atom();
        }
        if (self.is(KW_ALL) || self.is(KW_ANY)) && self.at(1).tok == Tok::LParen {
            return self.group();
        }
        if self.is(KW_SIZE) {
            return self.set_in("企业规模", |p, items| {
                let mut sizes = Vec::new();
                for (raw, span) in items {
                    if matches!(raw.as_str(), "中小微" | "中小微企业") {
                        sizes.extend([SizeClass::Medium, SizeClass::Small, SizeClass::Micro]);
                        continue;
                    }
                    match SizeClass::from_str(&raw) {
                        Ok(s) => sizes.push(s),
                        Err(_) => {
                            return Err(p
                                .err(span, format!("未知企业规模“{raw}”"))
                                .expecting(SizeClass::ALL.map(SizeClass::label)));
                        }
                    }
                }
                Ok(Cond::SizeIn { sizes })
            });
        }
        if self.is(KW_AREA) {
            return self.set_in("区域", |p, items| {
                let mut areas = Vec::new();
                for (raw, span) in items {
                    match p.rd.resolve_area(&raw) {
                        Some(a) => areas.push(a.code.clone()),
                        None => {
                            let names: Vec<String> =
                                p.rd.areas.iter().map(|a| a.name.clone()).collect();
                            return Err(p
                                .err(
                                    span,
                                    format!("未知区域“{raw}”，可用区域：{}", names.join("、")),
                                )
                                .expecting(names));
                        }
                    }
                }
                Ok(Cond::AreaIn { areas })
            });
        }
        if self.is(KW_INDUSTRY) {
            return self.set_in("行业", |p, items| {
                let mut codes = Vec::new();
                for (raw, span) in items {
                    // Names may repeat (P 教育 / 83 教育): prefer the section.
                    let by_name = || {
                        let named = || p.rd.industries.iter().filter(|i| i.name == raw);
                        named()
                            .find(|i| i.is_section())
                            .or_else(|| named().next())
                            .map(|i| i.code.clone())
                    };
                    match p.rd.industry(&raw).map(|i| i.code.clone()).or_else(by_name) {
                        Some(c) => codes.push(c),
                        None => {
                            return Err(p
                                .err(
                                    span,
                                    format!(
                                        "未知行业“{raw}”：应为门类字母（如 C 制造业）或两位大类代码（如 39、C39），也可写行业名称"
                                    ),
                                )
                                .expecting(["C", "39", "C39", "制造业"]));
                        }
                    }
                }
                Ok(Cond::IndustryIn { codes })
            });
        }
        if self.is(KW_TAG) {
            self.bump();
            let (tag, sp) = self.name("标签")?;
            return Ok((Cond::HasTag { tag }, Spans::leaf(join(&start, &sp))));
        }
        if self.is(KW_CERT) {
            self.bump();
            let (name, mut sp) = self.name("资质")?;
            if self.is(KW_VALID) {
                sp = join(&sp, &self.bump().span);
            }
            return Ok((Cond::CertValid { name }, Spans::leaf(join(&start, &sp))));
        }
        if self.is(KW_UNTIL) {
            self.bump();
            return match self.tok().clone() {
                Tok::Date(until) => {
                    let sp = self.bump().span;
                    Ok((Cond::InForceUntil { until }, Spans::leaf(join(&start, &sp))))
                }
                _ => Err(self
                    .err_here("日期（如 2026-12-31）")
                    .expecting(["2026-12-31", "2026年12月31日"])),
            };
        }
        if let Tok::Str(s) = self.tok().clone() {
            self.bump();
            return Ok(self.bare_name(s, start));
        }
        if self.starts_expr() {
            return self.cmp();
        }
        if let Some(w) = self.word().map(str::to_string) {
            return self.bare_word(w, start);
        }
        Err(self.err_here("条件").expecting(condition_starts()))
    }

    /// `X 有效` is a certification, a lone `X` a tag.
    fn bare_name(&mut self, name: String, start: Range<usize>) -> Cx {
        if self.is(KW_VALID) {
            let sp = self.bump().span;
            return (Cond::CertValid { name }, Spans::leaf(join(&start, &sp)));
        }
        (Cond::HasTag { tag: name }, Spans::leaf(start))
    }

    fn bare_word(&mut self, w: String, start: Range<usize>) -> P<Cx> {
        if self.next_is(KW_IN) || self.next_is(KW_NOT_IN) {
            return Err(self
                .err(
                    start,
                    format!("未知字段“{w}”：可以用“属于”的字段是 企业规模、区域、行业"),
                )
                .expecting(["企业规模", "区域", "行业"]));
        }
        if is_reserved(&w) {
            return Err(self
                .err(start, format!("此处应为条件，“{w}”不能单独使用"))
                .expecting(condition_starts()));
        }
        let negated_prefix = ['非', '不'].iter().find(|c| w.starts_with(**c));
        if let Some(c) = negated_prefix
            && !self.next_is(KW_VALID)
        {
            let rest = &w[c.len_utf8()..];
            return Err(self
                .err(
                    start,
                    format!(
                        "“{w}”：表示否定时“{c}”后要加空格（{c} {rest}）；若这就是标签名，请写 标签 “{w}”"
                    ),
                )
                .expecting([format!("{c} {rest}"), format!("标签 “{w}”")]));
        }
        // A lone area or size name is almost certainly a slip, not a tag.
        if !self.next_is(KW_VALID) {
            let hint = if self.rd.area_by_name(&w).is_some() {
                Some(format!("区域 属于 [{w}]"))
            } else if SizeClass::from_str(&w).is_ok() {
                Some(format!("企业规模 属于 [{w}]"))
            } else {
                None
            };
            if let Some(hint) = hint {
                return Err(self
                    .err(
                        start,
                        format!(
                            "“{w}”单独成为条件会被当作标签；若指区域或规模请写 {hint}，若确是标签请写 标签 {w}"
                        ),
                    )
                    .expecting([hint, format!("标签 {w}")]));
            }
        }
        self.bump();
        Ok(self.bare_name(w, start))
    }

    fn name(&mut self, what: &str) -> P<(String, Range<usize>)> {
        match self.tok().clone() {
            Tok::Ident(w) | Tok::Str(w) => {
                let sp = self.bump().span;
                if w.trim().is_empty() {
                    return Err(self.err(sp, format!("{what}名称不能为空")));
                }
                Ok((w, sp))
            }
            _ => Err(self.err_here(&format!("{what}名称")).expecting([format!(
                "{what}名称，含空格或符号时加引号，如 “专精特新“小巨人”企业”"
            )])),
        }
    }

    /// `(` starts either a group of conditions or a parenthesised formula
    /// `(a + b) > c`: try the condition first, fall back to the comparison.
    fn paren_atom(&mut self) -> P<Cx> {
        let save = (self.pos, self.depth);
        let open = self.bump().span;
        let first = self.or().and_then(|c| {
            let close = self.expect(Tok::RParen, "“)”")?;
            Ok((c, close))
        });
        let after_is_op = matches!(
            self.tok(),
            Tok::Cmp(_) | Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash
        );
        match first {
            Ok(((c, mut sp), close)) if !after_is_op => {
                sp.span = join(&open, &close);
                Ok((c, sp))
            }
            Ok(_) => {
                (self.pos, self.depth) = save;
                self.cmp()
            }
            Err(e1) => {
                (self.pos, self.depth) = save;
                self.cmp().map_err(|e2| {
                    if e2.span.start >= e1.span.start {
                        e2
                    } else {
                        e1
                    }
                })
            }
        }
    }

    /// 全部(a, b, …) / 任一(a, b, …): also for zero or one condition.
    fn group(&mut self) -> P<Cx> {
        let is_all = self.is(KW_ALL);
        let start = self.bump().span;
        self.bump();
        let mut items = Vec::new();
        let end = loop {
            if *self.tok() == Tok::RParen {
                break self.bump().span;
            }
            items.push(self.or()?);
            match self.tok() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => break self.bump().span,
                _ => return Err(self.err_here("“,”或“)”").expecting([",", ")"])),
            }
        };
        let (conds, kids): (Vec<Cond>, Vec<Spans>) = items.into_iter().unzip();
        let c = if is_all {
            Cond::And { all: conds }
        } else {
            Cond::Or { any: conds }
        };
        Ok((
            c,
            Spans {
                span: join(&start, &end),
                kids,
            },
        ))
    }

    fn set_in(&mut self, field: &str, make: impl FnOnce(&Self, Items) -> P<Cond>) -> P<Cx> {
        let start = self.bump().span;
        let negated = if self.is(KW_NOT_IN) {
            self.bump();
            true
        } else if self.is(KW_NOT) && self.next_is(KW_IN) {
            self.bump();
            self.bump();
            true
        } else if self.is(KW_IN) {
            self.bump();
            false
        } else {
            return Err(self
                .err_here(&format!("“属于”（{field} 属于 [...]）"))
                .expecting(["属于", "不属于"]));
        };
        let (items, end) = self.list()?;
        let c = make(self, items)?;
        let span = join(&start, &end);
        if negated {
            Ok((
                Cond::Not { cond: Box::new(c) },
                Spans {
                    span: span.clone(),
                    kids: vec![Spans::leaf(span)],
                },
            ))
        } else {
            Ok((c, Spans::leaf(span)))
        }
    }

    /// `[a, b, c]` or a single item; items are taken as written.
    fn list(&mut self) -> P<(Items, Range<usize>)> {
        if *self.tok() != Tok::LBracket {
            let item = self.list_item()?;
            let end = item.1.clone();
            return Ok((vec![item], end));
        }
        let open = self.bump().span;
        let mut items = Vec::new();
        let close = loop {
            if *self.tok() == Tok::RBracket {
                break self.bump().span;
            }
            items.push(self.list_item()?);
            match self.tok() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => break self.bump().span,
                _ => {
                    return Err(self
                        .err_here("“,”或“]”（列表项之间用逗号分隔）")
                        .expecting([",", "]"]));
                }
            }
        };
        let span = join(&open, &close);
        if items.is_empty() {
            return Err(self.err(span, "列表不能为空").expecting(["至少一项"]));
        }
        Ok((items, span))
    }

    fn list_item(&mut self) -> P<(String, Range<usize>)> {
        if let Tok::Str(s) = self.tok().clone() {
            let sp = self.bump().span;
            return Ok((s, sp));
        }
        let mut span: Option<Range<usize>> = None;
        let mut parens = 0usize;
        loop {
            match self.tok() {
                // The end of input ends an item even inside unbalanced
                // parentheses: `bump` does not move past it.
                Tok::Eof | Tok::Newline => break,
                Tok::Comma | Tok::RBracket | Tok::And | Tok::Or if parens == 0 => break,
                Tok::RParen if parens == 0 => break,
                Tok::LBracket | Tok::Str(_) => break,
                Tok::LParen => parens += 1,
                Tok::RParen => parens -= 1,
                _ => {}
            }
            let sp = self.bump().span;
            span = Some(match span {
                Some(s) => join(&s, &sp),
                None => sp,
            });
        }
        match span {
            Some(sp) => Ok((self.src[sp.clone()].trim().to_string(), sp)),
            None => Err(self.err_here("列表项")),
        }
    }

    // ---- comparisons and formulas ----------------------------------------

    fn cmp(&mut self) -> P<Cx> {
        let mut l = self.sum()?;
        let op = match self.tok() {
            Tok::Cmp(op) => *op,
            _ => {
                return Err(self
                    .err_here("比较符号（>=、>、<=、<、=、!=）")
                    .expecting(CMP_SYMBOLS));
            }
        };
        self.bump();
        let mut r = self.sum()?;
        self.adopt_unit(&mut r, &l)?;
        self.adopt_unit(&mut l, &r)?;
        let span = join(&l.sp.span, &r.sp.span);
        Ok((
            Cond::Cmp {
                op,
                left: l.e,
                right: r.e,
            },
            Spans {
                span,
                kids: vec![l.sp, r.sp],
            },
        ))
    }

    /// A number without unit next to 年数/人数 means years/persons (成立年限
    /// >= 3); next to 金额/面积/比例 the unit is required.
    fn adopt_unit(&self, x: &mut Ex, other: &Ex) -> P<()> {
        if !x.bare {
            return Ok(());
        }
        let Expr::Lit { dim, value } = &mut x.e else {
            return Ok(());
        };
        match infer_dim(&other.e) {
            Some(d @ (Dim::Years | Dim::Persons)) => {
                *dim = d;
                Ok(())
            }
            Some(d @ (Dim::Money | Dim::Land | Dim::Ratio)) => {
                let units: &[&str] = match d {
                    Dim::Money => &["元", "万元", "亿元"],
                    Dim::Land => &["亩"],
                    _ => &["%"],
                };
                let eg: Vec<String> = units.iter().map(|u| format!("{value}{u}")).collect();
                Err(self
                    .err(
                        x.sp.span.clone(),
                        format!(
                            "“{value}”缺少单位：与{}比较时应写成 {}",
                            d.label(),
                            eg.join(" 或 ")
                        ),
                    )
                    .expecting(units.iter().copied()))
            }
            _ => Ok(()),
        }
    }

    fn sum(&mut self) -> P<Ex> {
        let mut l = self.term()?;
        loop {
            let op = match self.tok() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.term()?;
            l = Self::arith(op, l, r);
        }
    }

    fn term(&mut self) -> P<Ex> {
        let mut l = self.factor()?;
        loop {
            let op = match self.tok() {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.factor()?;
            l = Self::arith(op, l, r);
        }
    }

    fn arith(op: ArithOp, l: Ex, r: Ex) -> Ex {
        let span = join(&l.sp.span, &r.sp.span);
        Ex {
            e: Expr::Arith {
                op,
                left: Box::new(l.e),
                right: Box::new(r.e),
            },
            sp: Spans {
                span,
                kids: vec![l.sp, r.sp],
            },
            bare: false,
        }
    }

    fn factor(&mut self) -> P<Ex> {
        self.enter()?;
        let r = self.factor_inner();
        self.leave();
        r
    }

    /// `-`? number unit? → (value, dim, written without unit, span).
    fn number(&mut self) -> P<(Num, Dim, bool, Range<usize>)> {
        let start = self.span();
        let neg = *self.tok() == Tok::Minus;
        if neg {
            self.bump();
        }
        let Tok::Number(v, unit) = self.tok().clone() else {
            return Err(self
                .err_here(if neg {
                    "数字（负号只能写在数字前面，如 -10%）"
                } else {
                    "数字"
                })
                .expecting(["-10%", "2000万元"]));
        };
        let span = join(&start, &self.bump().span);
        let (v, dim) = scale(v, unit).map_err(|m| self.err(span.clone(), m))?;
        let v = if neg {
            Num::ZERO
                .checked_sub(v)
                .ok_or_else(|| self.err(span.clone(), "数值过大"))?
        } else {
            v
        };
        Ok((v, dim, unit.is_none(), span))
    }

    fn factor_inner(&mut self) -> P<Ex> {
        let start = self.span();
        match self.tok().clone() {
            Tok::Minus | Tok::Number(..) => {
                let (value, dim, bare, span) = self.number()?;
                Ok(Ex {
                    e: Expr::Lit { value, dim },
                    sp: Spans::leaf(span),
                    bare,
                })
            }
            Tok::LParen => {
                self.bump();
                let mut x = self.sum()?;
                let close = self.expect(Tok::RParen, "“)”")?;
                x.sp.span = join(&start, &close);
                x.bare = false;
                Ok(x)
            }
            Tok::YearsAgo(n) => {
                self.bump();
                self.expect(Tok::Dot, "“.”（如 3年前.营业收入）")?;
                let Some(name) = self.word().map(str::to_string) else {
                    return Err(self.err_here("指标名称").expecting(indicator_labels()));
                };
                let end = self.bump().span;
                let span = join(&start, &end);
                let year = u8::try_from(n).unwrap_or(u8::MAX);
                let e = resolve_numeric(&format!("y{year}.{name}"))
                    .map_err(|fe| self.field_error(fe, &name, span.clone()))?;
                Ok(Self::leaf(e, span))
            }
            Tok::Ident(w)
                if (is_kw(&w, KW_MIN) || is_kw(&w, KW_MAX)) && self.at(1).tok == Tok::LParen =>
            {
                self.func(is_kw(&w, KW_MIN))
            }
            Tok::Ident(w) if is_kw(&w, KW_TIERS) && self.at(1).tok == Tok::LParen => self.tiers(),
            Tok::Ident(w) => {
                self.bump();
                let (full, span) = if *self.tok() == Tok::Dot {
                    self.bump();
                    let Some(name) = self.word().map(str::to_string) else {
                        return Err(self.err_here("指标名称").expecting(indicator_labels()));
                    };
                    let end = self.bump().span;
                    (format!("{w}.{name}"), join(&start, &end))
                } else {
                    (w.clone(), start)
                };
                let e = resolve_numeric(&full)
                    .map_err(|fe| self.field_error(fe, &full, span.clone()))?;
                Ok(Self::leaf(e, span))
            }
            Tok::Str(_) => Err(self.err(start, "引号中的名称不能参与比较或计算")),
            Tok::Date(_) => Err(self
                .err(
                    start,
                    "日期只能用于“有效期至 日期”，不能与金额、人数等数值比较或参与计算",
                )
                .expecting(["数字", "字段"])),
            _ => Err(self
                .err_here("数字、字段或“(”")
                .expecting(numeric_field_names())),
        }
    }

    fn leaf(e: Expr, span: Range<usize>) -> Ex {
        Ex {
            e,
            sp: Spans::leaf(span),
            bare: false,
        }
    }

    fn field_error(&self, fe: FieldError, full: &str, span: Range<usize>) -> RuleError {
        match fe {
            FieldError::Unknown => {
                let mut names = indicator_labels();
                names.push("成立年限".to_string());
                self.err(
                    span,
                    format!("未知字段“{full}”，可用字段：{}", names.join("、")),
                )
                .expecting(names)
            }
            FieldError::UnknownPeriod(p) => self
                .err(
                    span,
                    format!(
                        "未知年度“{p}”：应为 本年度、上年度、前年、N年前、近N年平均、近N年合计"
                    ),
                )
                .expecting([
                    "本年度",
                    "上年度",
                    "前年",
                    "3年前",
                    "近三年平均",
                    "近三年合计",
                ]),
            FieldError::UnknownIndicator(n) => {
                let names = indicator_labels();
                self.err(
                    span,
                    format!("未知指标“{n}”，可用指标：{}", names.join("、")),
                )
                .expecting(names)
            }
            FieldError::MissingYear(k) => {
                let l = k.label();
                self.err(span, format!("“{l}”需指明年度，如 上年度.{l}"))
                    .expecting([
                        format!("上年度.{l}"),
                        format!("前年.{l}"),
                        format!("近三年平均.{l}"),
                    ])
            }
            FieldError::GrowthOfAggregate => self
                .err(span, "增长率只能用于单个年度，如 上年度.营业收入增长率")
                .expecting(["上年度.营业收入增长率"]),
        }
    }

    fn func(&mut self, is_min: bool) -> P<Ex> {
        let start = self.bump().span;
        self.bump();
        if *self.tok() == Tok::RParen {
            return Err(self.err_here("参数（至少一个）"));
        }
        let mut args = Vec::new();
        let end = loop {
            args.push(self.sum()?);
            match self.tok() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => break self.bump().span,
                _ => return Err(self.err_here("“,”或“)”").expecting([",", ")"])),
            }
        };
        let (args, kids): (Vec<Expr>, Vec<Spans>) = args.into_iter().map(|x| (x.e, x.sp)).unzip();
        let e = if is_min {
            Expr::Min { args }
        } else {
            Expr::Max { args }
        };
        Ok(Ex {
            e,
            sp: Spans {
                span: join(&start, &end),
                kids,
            },
            bare: false,
        })
    }

    /// 阶梯(依据; 起点: 金额; 起点: 金额; …): `,` also separates bands.
    fn tiers(&mut self) -> P<Ex> {
        let start = self.bump().span;
        self.bump();
        let basis = self.sum()?;
        let basis_dim = infer_dim(&basis.e);
        if !matches!(self.tok(), Tok::Semi | Tok::Comma) {
            return Err(self
                .err_here("“;”（阶梯的依据之后列出各档，如 阶梯(上年度.营业收入; 0元: 10万元; 2000万元: 30万元)）")
                .expecting([";"]));
        }
        self.bump();
        let mut bands = Vec::new();
        let mut kids = vec![basis.sp];
        let end = loop {
            if *self.tok() == Tok::RParen && !bands.is_empty() {
                break self.bump().span;
            }
            if !matches!(self.tok(), Tok::Number(..) | Tok::Minus) {
                return Err(self
                    .err_here("分档起点（带单位的数，如 2000万元）")
                    .expecting(["2000万元: 30万元"]));
            }
            let (from, mut dim, bare, from_span) = self.number()?;
            if bare && matches!(basis_dim, Some(Dim::Years | Dim::Persons)) {
                dim = basis_dim.unwrap_or(dim);
            }
            if let Some(bd) = basis_dim
                && bd != dim
            {
                return Err(self
                    .err(
                        from_span,
                        format!(
                            "阶梯分档起点的单位与依据不符：依据是{}，起点是{}",
                            bd.label(),
                            dim.label()
                        ),
                    )
                    .expecting([bd.label()]));
            }
            self.expect(Tok::Colon, "“:”（起点: 金额）")?;
            let amount = self.sum()?;
            kids.push(Spans::leaf(from_span));
            kids.push(amount.sp);
            bands.push(Band {
                from,
                amount: amount.e,
            });
            match self.tok() {
                Tok::Semi | Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => break self.bump().span,
                _ => return Err(self.err_here("“;”或“)”").expecting([";", ")"])),
            }
        };
        Ok(Ex {
            e: Expr::Tiers {
                basis: Box::new(basis.e),
                bands,
            },
            sp: Spans {
                span: join(&start, &end),
                kids,
            },
            bare: false,
        })
    }

    /// A whole formula (for [`super::parse_expr`]).
    pub fn whole_expr(&mut self) -> P<(Expr, Spans)> {
        self.skip_newlines();
        let x = self.sum()?;
        self.skip_newlines();
        if *self.tok() != Tok::Eof {
            return Err(self.err_here("公式结束").expecting(["+", "-", "×", "÷"]));
        }
        Ok((x.e, x.sp))
    }
}

use zhengqi_domain::enterprise::IndicatorKind;

fn indicator_labels() -> Vec<String> {
    IndicatorKind::ALL
        .iter()
        .map(|k| k.label().to_string())
        .collect()
}
