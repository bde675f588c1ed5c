//! The enterprise base in columns, for the batch evaluator.
//!
//! Each attribute is one dense vector indexed by row: categorical values as
//! small ids into a dictionary (with one bitmap per distinct value when the
//! dictionary is small, so a set condition is an OR of a few bitmaps),
//! numbers per (indicator kind, calendar year) as `Vec<i64>` plus a
//! validity bitmap, tags and certifications as row lists. Years are stored
//! absolute, so one population serves rule sets of any evaluation date.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;
use zhengqi_domain::enterprise::{Enterprise, Indicator, IndicatorKind};
use zhengqi_domain::reference::ReferenceData;

use crate::bits;
use crate::exact::{NO_DATE, pack_date};
use crate::row::{Context, IndustryFacts, SIZE_UNKNOWN, area_chain, size_code, winners};

/// USCCs are 18 ASCII characters; stored back to back.
const USCC_LEN: usize = 18;

/// Years a direct column lookup table may span.
const MAX_GRID_YEARS: i64 = 256;

/// Dictionaries up to this size also keep one row bitmap per value.
const MAX_VALUE_BITMAPS: usize = 512;

/// One indicator kind of one year.
pub(crate) struct Column {
    pub values: Vec<i64>,
    pub valid: Vec<u64>,
}

impl Column {
    fn new(len: usize) -> Column {
        Column {
            values: vec![0; len],
            valid: bits::zeros(len),
        }
    }

    fn grow(&mut self, len: usize) {
        self.values.resize(len, 0);
        self.valid.resize(bits::words(len), 0);
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<i64> {
        bits::get(&self.valid, row).then(|| self.values[row])
    }
}

/// A categorical attribute: per-row ids into a dictionary of strings.
pub(crate) struct Dict<T> {
    pub ids: Vec<u32>,
    pub values: Vec<String>,
    /// What matching needs per distinct value (area chain, industry facts).
    pub facts: Vec<T>,
    index: HashMap<String, u32>,
    /// Row bitmap per value, while the dictionary is small.
    pub bitmaps: Option<Vec<Vec<u64>>>,
}

impl<T> Dict<T> {
    fn new() -> Dict<T> {
        Dict {
            ids: Vec::new(),
            values: Vec::new(),
            facts: Vec::new(),
            index: HashMap::new(),
            bitmaps: Some(Vec::new()),
        }
    }

    fn intern(&mut self, v: &str, facts: impl FnOnce() -> T) -> u32 {
        if let Some(&id) = self.index.get(v) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(v.to_owned());
        self.facts.push(facts());
        self.index.insert(v.to_owned(), id);
        if self.values.len() > MAX_VALUE_BITMAPS {
            self.bitmaps = None;
        }
        id
    }

    fn set(&mut self, row: usize, id: u32, len: usize) {
        if let Some(bm) = &mut self.bitmaps {
            if let Some(old) = self.ids.get(row).copied()
                && let Some(b) = bm.get_mut(old as usize)
            {
                bits::clear(b, row);
            }
            while bm.len() <= id as usize {
                bm.push(bits::zeros(len));
            }
            // All value bitmaps have one length; grow them when a new word starts.
            if bm[0].len() < bits::words(len) {
                for b in bm.iter_mut() {
                    b.resize(bits::words(len), 0);
                }
            }
            bits::set(&mut bm[id as usize], row);
        }
        if row < self.ids.len() {
            self.ids[row] = id;
        } else {
            self.ids.push(id);
        }
    }

    fn bytes(&self) -> usize {
        self.ids.len() * 4
            + self.values.iter().map(|v| v.len() + 24).sum::<usize>()
            + self
                .bitmaps
                .as_ref()
                .map_or(0, |b| b.iter().map(|x| x.len() * 8).sum())
    }
}

/// A certification's validity interval, in days from the common era.
#[derive(Copy, Clone, Debug)]
pub(crate) struct CertSpan {
    pub row: u32,
    pub from: i32,
    pub to: i32,
}

/// Rows carrying something (a tag, a certification), by name.
pub(crate) struct Lists<T> {
    pub names: Vec<String>,
    pub items: Vec<Vec<T>>,
    index: HashMap<String, usize>,
}

impl<T> Lists<T> {
    fn new() -> Lists<T> {
        Lists {
            names: Vec::new(),
            items: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn entry(&mut self, name: &str) -> &mut Vec<T> {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.to_owned(), self.names.len());
                self.names.push(name.to_owned());
                self.items.push(Vec::new());
                self.names.len() - 1
            }
        };
        &mut self.items[i]
    }

    pub fn get(&self, name: &str) -> Option<&[T]> {
        self.index.get(name).map(|&i| self.items[i].as_slice())
    }
}

/// The enterprise base in columns. Rows are numbered in the order given.
pub struct Population {
    len: usize,
    uscc: Vec<u8>,
    pub(crate) area: Dict<Vec<String>>,
    pub(crate) industry: Dict<IndustryFacts>,
    /// `size_code`, or `SIZE_UNKNOWN`.
    pub(crate) size: Vec<u8>,
    /// Bitmaps per size code 0..=4.
    pub(crate) size_bitmaps: Vec<Vec<u64>>,
    /// Packed founding dates (`exact::pack_date`), `NO_DATE` if missing.
    pub(crate) founded: Vec<i32>,
    /// Sorted row lists per tag.
    pub(crate) tags: Lists<u32>,
    /// Sorted by row (a row may hold several spans of one name).
    pub(crate) certs: Lists<CertSpan>,
    pub(crate) columns: Vec<Column>,
    column_index: HashMap<(IndicatorKind, i32), usize>,
    /// Column index by `kind × YEARS + (year − year_lo)`, `u32::MAX` for
    /// none: a lookup per row must not hash.
    grid: Vec<u32>,
    year_lo: i32,
    years: usize,
    /// Rows by USCC, built on the first lookup.
    uscc_index: OnceLock<Vec<u32>>,
}

/// Byte sizes of a population's parts (for the memory budget).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PopulationBytes {
    pub uscc: usize,
    pub categorical: usize,
    pub founded: usize,
    pub tags_and_certs: usize,
    pub indicator_columns: usize,
    pub indicator_column_count: usize,
    pub total: usize,
}

impl Population {
    /// Builds the columns; `ctx` supplies the reference data that resolves
    /// area chains and industry sections (its date is not used: years are
    /// stored absolute).
    pub fn build(
        rows: impl IntoIterator<Item = (Enterprise, Vec<Indicator>)>,
        ctx: &Context<'_>,
    ) -> Population {
        let mut p = Population {
            len: 0,
            uscc: Vec::new(),
            area: Dict::new(),
            industry: Dict::new(),
            size: Vec::new(),
            size_bitmaps: vec![Vec::new(); 5],
            founded: Vec::new(),
            tags: Lists::new(),
            certs: Lists::new(),
            columns: Vec::new(),
            column_index: HashMap::new(),
            grid: Vec::new(),
            year_lo: 0,
            years: 0,
            uscc_index: OnceLock::new(),
        };
        let rows = rows.into_iter();
        let (hint, _) = rows.size_hint();
        p.uscc.reserve(hint * USCC_LEN);
        p.size.reserve(hint);
        p.founded.reserve(hint);
        for (e, ind) in rows {
            p.push(&e, &ind, ctx.reference);
        }
        p
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The USCC of a row ("" for a row number out of range).
    pub fn uscc(&self, row: usize) -> &str {
        self.uscc
            .get(row * USCC_LEN..(row + 1) * USCC_LEN)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    fn uscc_bytes(&self, row: usize) -> &[u8] {
        &self.uscc[row * USCC_LEN..(row + 1) * USCC_LEN]
    }

    /// The row of a USCC: a binary search over rows sorted by USCC (the
    /// order, 4 bytes a row, is built on the first call). With duplicate
    /// USCCs the lowest row wins.
    pub fn position(&self, uscc: &str) -> Option<usize> {
        let key = uscc.as_bytes();
        if key.len() != USCC_LEN {
            return None;
        }
        let order = self.uscc_index.get_or_init(|| {
            let mut o: Vec<u32> = (0..self.len as u32).collect();
            o.sort_unstable_by(|&a, &b| {
                self.uscc_bytes(a as usize)
                    .cmp(self.uscc_bytes(b as usize))
                    .then(a.cmp(&b))
            });
            o
        });
        let i = order.partition_point(|&r| self.uscc_bytes(r as usize) < key);
        let r = *order.get(i)? as usize;
        (self.uscc_bytes(r) == key).then_some(r)
    }

    /// The column of an indicator kind and year.
    #[inline]
    pub(crate) fn col(&self, kind: IndicatorKind, year: i32) -> Option<&Column> {
        self.col_idx(kind, year).map(|i| &self.columns[i])
    }

    #[inline]
    fn col_idx(&self, kind: IndicatorKind, year: i32) -> Option<usize> {
        if self.years == 0 {
            return self.column_index.get(&(kind, year)).copied();
        }
        let y = usize::try_from(i64::from(year) - i64::from(self.year_lo)).ok()?;
        if y >= self.years {
            return None;
        }
        let i = self.grid[kind as usize * self.years + y];
        (i != u32::MAX).then_some(i as usize)
    }

    /// The column of (kind, year), added (covering every row) if new.
    fn col_or_add(&mut self, kind: IndicatorKind, year: i32) -> usize {
        if let Some(i) = self.col_idx(kind, year) {
            return i;
        }
        let i = self.columns.len();
        self.columns.push(Column::new(self.len));
        self.column_index.insert((kind, year), i);
        // Rebuild the grid over the years now present, unless they span
        // implausibly many years (then lookups hash).
        let lo = self.column_index.keys().map(|k| k.1).min().unwrap_or(year);
        let hi = self.column_index.keys().map(|k| k.1).max().unwrap_or(year);
        let span = i64::from(hi) - i64::from(lo) + 1;
        if span > MAX_GRID_YEARS {
            self.grid = Vec::new();
            self.years = 0;
            return i;
        }
        let years = span as usize;
        self.grid = vec![u32::MAX; IndicatorKind::ALL.len() * years];
        for (&(k, y), &j) in &self.column_index {
            self.grid[k as usize * years + (y - lo) as usize] = j as u32;
        }
        self.year_lo = lo;
        self.years = years;
        i
    }

    /// Appends an enterprise; returns its row.
    pub fn push(&mut self, e: &Enterprise, ind: &[Indicator], rd: &ReferenceData) -> usize {
        let row = self.len;
        self.len += 1;
        let mut code = [b'?'; USCC_LEN];
        let s = e.uscc.as_str().as_bytes();
        if s.len() == USCC_LEN && s.is_ascii() {
            code.copy_from_slice(s);
        }
        self.uscc.extend_from_slice(&code);
        self.uscc_index = OnceLock::new();
        self.size.push(SIZE_UNKNOWN);
        self.founded.push(NO_DATE);
        for b in &mut self.size_bitmaps {
            b.resize(bits::words(self.len), 0);
        }
        self.fill(row, e, ind, rd);
        row
    }

    /// Replaces one row's data in place (an enterprise's record or figures
    /// changed). Cost: the row's values plus a binary search per tag list.
    /// Returns false when `row` is out of range.
    pub fn replace(
        &mut self,
        row: usize,
        e: &Enterprise,
        ind: &[Indicator],
        rd: &ReferenceData,
    ) -> bool {
        if row >= self.len {
            return false;
        }
        let s = e.uscc.as_str().as_bytes();
        if s.len() == USCC_LEN && s.is_ascii() {
            self.uscc[row * USCC_LEN..(row + 1) * USCC_LEN].copy_from_slice(s);
            self.uscc_index = OnceLock::new();
        }
        let r = row as u32;
        for list in &mut self.tags.items {
            if let Ok(i) = list.binary_search(&r) {
                list.remove(i);
            }
        }
        for list in &mut self.certs.items {
            list.retain(|c| c.row != r);
        }
        for col in &mut self.columns {
            bits::clear(&mut col.valid, row);
        }
        self.fill(row, e, ind, rd);
        true
    }

    fn fill(&mut self, row: usize, e: &Enterprise, ind: &[Indicator], rd: &ReferenceData) {
        let len = self.len;
        let a = self.area.intern(&e.area, || area_chain(&e.area, rd));
        self.area.set(row, a, len);
        let i = self
            .industry
            .intern(&e.industry, || IndustryFacts::resolve(&e.industry, rd));
        self.industry.set(row, i, len);

        let old = self.size[row];
        bits::clear(&mut self.size_bitmaps[old as usize], row);
        let sz = e.size_class.map_or(SIZE_UNKNOWN, size_code);
        self.size[row] = sz;
        bits::set(&mut self.size_bitmaps[sz as usize], row);
        self.founded[row] = e.founded.map_or(NO_DATE, pack_date);

        let r = row as u32;
        for t in &e.tags {
            let list = self.tags.entry(t);
            if let Err(i) = list.binary_search(&r) {
                list.insert(i, r);
            }
        }
        for c in &e.certifications {
            let days = |d: chrono::NaiveDate| chrono::Datelike::num_days_from_ce(&d);
            let span = CertSpan {
                row: r,
                from: days(c.valid_from),
                to: c.valid_to.map_or(i32::MAX, days),
            };
            // Kept sorted by row so a row's spans are found by binary search.
            let list = self.certs.entry(&c.name);
            let i = list.partition_point(|x| x.row <= r);
            list.insert(i, span);
        }
        // Columns this row has no figure for must still cover the row.
        if self.columns.first().is_some_and(|c| c.values.len() < len) {
            for col in &mut self.columns {
                col.grow(len);
            }
        }
        for (kind, year, idx) in winners(ind) {
            let c = self.col_or_add(kind, year);
            let col = &mut self.columns[c];
            col.values[row] = ind[idx].value;
            bits::set(&mut col.valid, row);
        }
    }

    /// The figure a row has for an indicator kind and year.
    #[inline]
    pub fn value(&self, row: usize, kind: IndicatorKind, year: i32) -> Option<i64> {
        self.col(kind, year)?.get(row)
    }

    pub fn area_code(&self, row: usize) -> &str {
        &self.area.values[self.area.ids[row] as usize]
    }

    pub fn industry_code(&self, row: usize) -> &str {
        &self.industry.values[self.industry.ids[row] as usize]
    }

    /// Bytes held by the columns (vector capacities as used, dictionaries
    /// and hash maps estimated).
    pub fn bytes(&self) -> PopulationBytes {
        let mut b = PopulationBytes {
            uscc: self.uscc.len() + self.uscc_index.get().map_or(0, |o| o.len() * 4),
            categorical: self.area.bytes()
                + self.industry.bytes()
                + self.size.len()
                + self.size_bitmaps.iter().map(|x| x.len() * 8).sum::<usize>(),
            founded: self.founded.len() * 4,
            tags_and_certs: self
                .tags
                .items
                .iter()
                .map(|l| l.len() * 4 + 24)
                .sum::<usize>()
                + self
                    .certs
                    .items
                    .iter()
                    .map(|l| l.len() * std::mem::size_of::<CertSpan>() + 24)
                    .sum::<usize>(),
            indicator_columns: self
                .columns
                .iter()
                .map(|c| c.values.len() * 8 + c.valid.len() * 8 + 64)
                .sum(),
            indicator_column_count: self.columns.len(),
            total: 0,
        };
        b.total = b.uscc + b.categorical + b.founded + b.tags_and_certs + b.indicator_columns;
        b
    }
}
