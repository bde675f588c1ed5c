//! Chinese full-text search over the policy library: a tantivy index with
//! jieba word segmentation, ranked (BM25, title boosted), with highlighted
//! snippets and filters on size class, area, department, type, status and
//! validity combined in one query.
//!
//! The index lives in memory and is rebuilt from the database at start
//! (10,000 policies index in seconds); the database stays the source of truth.

use std::ops::Bound;
use std::sync::Mutex;

use chrono::NaiveDate;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("检索索引错误：{0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("检索索引锁定失败")]
    Poisoned,
}

pub type Result<T> = std::result::Result<T, SearchError>;

/// What the index knows of one policy (its current version).
#[derive(Clone, Debug, Default)]
pub struct PolicyDoc {
    pub id: i64,
    pub title: String,
    pub body: String,
    /// 大型/中型/小型/微型 the policy applies to.
    pub sizes: Vec<String>,
    /// Area codes the policy names, including the members of named groups.
    pub areas: Vec<String>,
    /// Department codes: issuer and lead units.
    pub departments: Vec<String>,
    pub policy_type: String,
    /// draft | published | expired | repealed
    pub status: String,
    /// None = no stated expiry.
    pub valid_until: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Validity {
    #[default]
    Any,
    /// Not expired on the day (no stated expiry counts as in force).
    InForceOn(NaiveDate),
    /// Expires on or after the day and within the given number of days.
    ExpiringWithin(NaiveDate, u32),
    NoStatedExpiry,
}

#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Free text; empty lists everything that matches the filters.
    pub text: String,
    /// Policies applying to this size class.
    pub size: Option<String>,
    /// Policies naming any of these area codes (pass an area and its
    /// ancestors: an enterprise in 保税区 sees policies for 鹤洲新区筹备组
    /// and for 珠海市).
    pub areas_any: Vec<String>,
    pub department: Option<String>,
    pub policy_type: Option<String>,
    pub status: Option<String>,
    pub validity: Validity,
    pub limit: usize,
    pub offset: usize,
}

/// A piece of a snippet; `hit` pieces matched the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

#[derive(Clone, Debug)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
    pub title: String,
    pub snippet: Vec<Segment>,
}

#[derive(Clone, Debug)]
pub struct SearchResult {
    pub total: usize,
    pub hits: Vec<Hit>,
}

struct Fields {
    id: Field,
    title: Field,
    body: Field,
    sizes: Field,
    areas: Field,
    departments: Field,
    policy_type: Field,
    status: Field,
    valid_until: Field,
}

/// Days since 1970-01-01; no expiry sorts after every date.
const NO_EXPIRY: i64 = i64::MAX / 2;

fn day_number(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

impl SearchIndex {
    pub fn new() -> Result<SearchIndex> {
        let mut sb = Schema::builder();
        let text = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("jieba")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let f = Fields {
            id: sb.add_i64_field("id", INDEXED | STORED | FAST),
            title: sb.add_text_field("title", text.clone()),
            body: sb.add_text_field("body", text),
            sizes: sb.add_text_field("sizes", STRING),
            areas: sb.add_text_field("areas", STRING),
            departments: sb.add_text_field("departments", STRING),
            policy_type: sb.add_text_field("policy_type", STRING),
            status: sb.add_text_field("status", STRING),
            valid_until: sb.add_i64_field("valid_until", INDEXED | FAST),
        };
        let index = Index::create_in_ram(sb.build());
        index
            .tokenizers()
            .register("jieba", tantivy_jieba::JiebaTokenizer::new());
        let writer = index.writer(50_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
        })
    }

    /// Adds or replaces documents (by id) and makes them searchable.
    pub fn upsert(&self, docs: &[PolicyDoc]) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let f = &self.f;
        for d in docs {
            w.delete_term(Term::from_field_i64(f.id, d.id));
            let mut doc = doc!(
                f.id => d.id,
                f.title => d.title.clone(),
                f.body => d.body.clone(),
                f.policy_type => d.policy_type.clone(),
                f.status => d.status.clone(),
                f.valid_until => d.valid_until.map(day_number).unwrap_or(NO_EXPIRY),
            );
            for s in &d.sizes {
                doc.add_text(f.sizes, s);
            }
            for a in &d.areas {
                doc.add_text(f.areas, a);
            }
            for dep in &d.departments {
                doc.add_text(f.departments, dep);
            }
            w.add_document(doc)?;
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    pub fn remove(&self, id: i64) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_term(Term::from_field_i64(self.f.id, id));
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    fn term(&self, field: Field, v: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, v),
            IndexRecordOption::Basic,
        ))
    }

    fn filters(&self, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.f;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut must = |qq: Box<dyn Query>| out.push((Occur::Must, qq));
        if let Some(s) = q.size.as_deref().filter(|s| !s.is_empty()) {
            must(self.term(f.sizes, s));
        }
        let areas: Vec<(Occur, Box<dyn Query>)> = q
            .areas_any
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| (Occur::Should, self.term(f.areas, a)))
            .collect();
        if !areas.is_empty() {
            must(Box::new(BooleanQuery::new(areas)));
        }
        if let Some(d) = q.department.as_deref().filter(|s| !s.is_empty()) {
            must(self.term(f.departments, d));
        }
        if let Some(t) = q.policy_type.as_deref().filter(|s| !s.is_empty()) {
            must(self.term(f.policy_type, t));
        }
        if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
            must(self.term(f.status, s));
        }
        let range = |lo: Bound<i64>, hi: Bound<i64>| -> Box<dyn Query> {
            let t = |v: i64| Term::from_field_i64(f.valid_until, v);
            Box::new(RangeQuery::new(lo.map(t), hi.map(t)))
        };
        match q.validity {
            Validity::Any => {}
            Validity::InForceOn(d) => must(range(Bound::Included(day_number(d)), Bound::Unbounded)),
            Validity::ExpiringWithin(d, days) => must(range(
                Bound::Included(day_number(d)),
                Bound::Included(day_number(d) + i64::from(days)),
            )),
            Validity::NoStatedExpiry => must(range(
                Bound::Included(NO_EXPIRY),
                Bound::Included(NO_EXPIRY),
            )),
        }
        out
    }

    pub fn search(&self, q: &SearchQuery) -> Result<SearchResult> {
        let f = &self.f;
        let searcher = self.reader.searcher();
        let text = q.text.trim();
        let text_query: Option<Box<dyn Query>> = if text.is_empty() {
            None
        } else {
            let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
            parser.set_field_boost(f.title, 3.0);
            // Lenient: whatever a user types is a search, never a syntax error.
            let (query, _errors) = parser.parse_query_lenient(text);
            Some(query)
        };
        let mut clauses = self.filters(q);
        match &text_query {
            Some(tq) => clauses.push((Occur::Must, tq.box_clone())),
            None => clauses.push((Occur::Must, Box::new(AllQuery))),
        }
        let query = BooleanQuery::new(clauses);
        let limit = q.limit.clamp(1, 1000);
        let (top, total) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit)
                    .and_offset(q.offset)
                    .order_by_score(),
                Count,
            ),
        )?;
        let snippets = match &text_query {
            Some(tq) => {
                let mut g = SnippetGenerator::create(&searcher, tq.as_ref(), f.body)?;
                g.set_max_num_chars(160);
                Some(g)
            }
            None => None,
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let get = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let id = doc.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or(0);
            let body = get(f.body);
            let snippet = match &snippets {
                Some(g) => {
                    let s = g.snippet(&body);
                    if s.fragment().is_empty() {
                        plain_prefix(&body)
                    } else {
                        segments(s.fragment(), s.highlighted())
                    }
                }
                None => plain_prefix(&body),
            };
            hits.push(Hit {
                id,
                score,
                title: get(f.title),
                snippet,
            });
        }
        Ok(SearchResult { total, hits })
    }
}

fn plain_prefix(body: &str) -> Vec<Segment> {
    let text: String = body.chars().take(100).collect();
    vec![Segment { text, hit: false }]
}

/// Splits a fragment into plain and highlighted pieces, so templates can
/// escape the text and mark hits without trusting pre-built HTML.
fn segments(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0;
    for r in highlighted {
        let (start, end) = (r.start.max(pos), r.end.min(fragment.len()));
        if start >= end || !fragment.is_char_boundary(start) || !fragment.is_char_boundary(end) {
            continue;
        }
        if start > pos {
            out.push(Segment {
                text: fragment[pos..start].to_owned(),
                hit: false,
            });
        }
        out.push(Segment {
            text: fragment[start..end].to_owned(),
            hit: true,
        });
        pos = end;
    }
    if pos < fragment.len() {
        out.push(Segment {
            text: fragment[pos..].to_owned(),
            hit: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(
        id: i64,
        title: &str,
        body: &str,
        areas: &[&str],
        until: Option<NaiveDate>,
    ) -> PolicyDoc {
        PolicyDoc {
            id,
            title: title.into(),
            body: body.into(),
            sizes: vec!["小型".into(), "微型".into()],
            areas: areas.iter().map(|s| s.to_string()).collect(),
            departments: vec!["SCZJ".into()],
            policy_type: "资金扶持".into(),
            status: "published".into(),
            valid_until: until,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn index() -> SearchIndex {
        let ix = SearchIndex::new().unwrap();
        ix.upsert(&[
            doc(
                1,
                "珠海市优化营商环境若干措施",
                "持续优化营商环境，推行容缺受理和并联审批。",
                &["440400"],
                None,
            ),
            doc(
                2,
                "研发费用补助实施细则",
                "对研发投入给予补助，最高不超过500万元。",
                &["440400-BSQ"],
                Some(d(2026, 12, 31)),
            ),
            doc(
                3,
                "高新技术企业认定奖励",
                "新认定的高新技术企业奖励30万元。",
                &["440402"],
                Some(d(2026, 1, 10)),
            ),
        ])
        .unwrap();
        ix
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 10,
            ..Default::default()
        }
    }

    #[test]
    fn segmented_search_ranks_and_highlights() {
        let ix = index();
        let r = ix.search(&q("营商环境")).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.hits[0].id, 1);
        assert!(
            r.hits[0]
                .snippet
                .iter()
                .any(|s| s.hit && s.text.contains("营商")),
            "{:?}",
            r.hits[0].snippet
        );
        let r = ix.search(&q("研发 补助")).unwrap();
        assert_eq!(r.hits[0].id, 2);
        // User syntax is never an error.
        assert!(ix.search(&q("AND (( \"")).is_ok());
    }

    #[test]
    fn filters_combine_with_text() {
        let ix = index();
        let mut sq = q("");
        sq.areas_any = vec!["440400-BSQ".into(), "440400-HZXQ".into(), "440400".into()];
        let ids: Vec<i64> = ix.search(&sq).unwrap().hits.iter().map(|h| h.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&1) && ids.contains(&2));
        let mut sq = q("");
        sq.validity = Validity::InForceOn(d(2026, 6, 1));
        assert_eq!(ix.search(&sq).unwrap().total, 2);
        sq.validity = Validity::ExpiringWithin(d(2026, 1, 1), 30);
        assert_eq!(ix.search(&sq).unwrap().hits[0].id, 3);
        sq.validity = Validity::NoStatedExpiry;
        assert_eq!(ix.search(&sq).unwrap().hits[0].id, 1);
        let mut sq = q("奖励");
        sq.size = Some("大型".into());
        assert_eq!(ix.search(&sq).unwrap().total, 0);
    }

    #[test]
    fn upsert_replaces_by_id() {
        let ix = index();
        ix.upsert(&[doc(
            2,
            "研发费用补助实施细则（修订）",
            "修订后的补助标准。",
            &["440400"],
            None,
        )])
        .unwrap();
        let r = ix.search(&q("修订")).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(ix.search(&q("")).unwrap().total, 3);
        ix.remove(2).unwrap();
        assert_eq!(ix.search(&q("")).unwrap().total, 2);
    }

    #[test]
    fn segments_cover_the_fragment() {
        let hits = vec![std::ops::Range { start: 6, end: 12 }];
        let s = segments("优化营商环境", &hits);
        assert_eq!(
            s.iter().map(|x| x.text.as_str()).collect::<String>(),
            "优化营商环境"
        );
        assert!(s[1].hit);
    }
}
