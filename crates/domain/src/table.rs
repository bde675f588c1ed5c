//! Spreadsheet exchange: CSV (UTF-8 with or without BOM, or GB18030 as Excel
//! on Chinese Windows saves it) and xlsx, read into a plain table of strings
//! and written back. Works on bytes so callers choose where files live.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format as CellFormat, Workbook};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// Picks the format from a file name's extension.
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("无法读取CSV文件：{0}")]
    Csv(String),
    #[error("无法读取xlsx文件：{0}")]
    Xlsx(String),
    #[error("文件是空的，没有表头")]
    Empty,
    #[error("无法生成xlsx文件：{0}")]
    Write(String),
}

/// One data row with its 1-based line (CSV) or row number (xlsx), as the
/// user sees it in their editor, so error reports point at the right place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Index of the first header matching any of `names` (trimmed, exact).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim() == *n))
    }

    pub fn cell<'a>(&self, row: &'a Row, col: Option<usize>) -> &'a str {
        col.and_then(|c| row.cells.get(c))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

pub fn read(bytes: &[u8], format: Format) -> Result<Table, TableError> {
    match format {
        Format::Csv => read_csv(bytes),
        Format::Xlsx => read_xlsx(bytes),
    }
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        // Not UTF-8: Excel on Chinese Windows writes GBK, a subset of GB18030.
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let text = decode(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| TableError::Csv(e.to_string()))?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let cells: Vec<String> = rec.iter().map(str::to_owned).collect();
        if headers.is_none() {
            headers = Some(cells);
        } else if cells.iter().any(|c| !c.trim().is_empty()) {
            rows.push(Row { line, cells });
        }
    }
    Ok(Table {
        headers: headers.ok_or(TableError::Empty)?,
        rows,
    })
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Whole numbers typed into Excel come back as floats: print 35, not 35.0.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|d| d.date().format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("{e:?}"),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| TableError::Xlsx("没有工作表".into()))?;
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let mut iter = range.rows().enumerate();
    let headers: Vec<String> = iter
        .next()
        .map(|(_, r)| r.iter().map(cell_text).collect())
        .ok_or(TableError::Empty)?;
    let rows = iter
        .map(|(i, r)| Row {
            line: first_row + i + 1,
            cells: r.iter().map(cell_text).collect(),
        })
        .filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    Ok(Table { headers, rows })
}

/// Writes one sheet with a bold, frozen header row. Cells are written as
/// text so codes such as 统一社会信用代码 keep their leading zeros.
pub fn write_xlsx(
    sheet_name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, TableError> {
    let w = |e: rust_xlsxwriter::XlsxError| TableError::Write(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(w)?;
    let bold = CellFormat::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(w)?;
        let width = rows
            .iter()
            .filter_map(|r| r.get(c))
            .chain(std::iter::once(&h.to_string()))
            .map(|s| {
                s.chars()
                    .map(|ch| if ch.is_ascii() { 1.0 } else { 2.0 })
                    .sum::<f64>()
            })
            .fold(8.0, f64::max);
        ws.set_column_width(c as u16, width.min(60.0) + 2.0)
            .map_err(w)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).map_err(w)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(w)?;
    wb.save_to_buffer().map_err(w)
}

/// Reads every sheet of a workbook, in order, each as a table (the first
/// row is the header). A sheet with no rows at all is left out.
pub fn read_xlsx_sheets(bytes: &[u8]) -> Result<Vec<(String, Table)>, TableError> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let mut out = Vec::new();
    for sheet in wb.sheet_names() {
        let range = wb
            .worksheet_range(&sheet)
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
        let mut iter = range.rows().enumerate();
        let Some((_, header)) = iter.next() else {
            continue;
        };
        let headers = header.iter().map(cell_text).collect();
        let rows = iter
            .map(|(i, r)| Row {
                line: first_row + i + 1,
                cells: r.iter().map(cell_text).collect(),
            })
            .filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()))
            .collect();
        out.push((sheet, Table { headers, rows }));
    }
    Ok(out)
}

/// One sheet of a multi-sheet workbook: name, headers, rows.
pub type Sheet<'a> = (&'a str, &'a [&'a str], &'a [Vec<String>]);

/// Writes several sheets, each like [`write_xlsx`] writes its one.
pub fn write_xlsx_sheets(sheets: &[Sheet<'_>]) -> Result<Vec<u8>, TableError> {
    let w = |e: rust_xlsxwriter::XlsxError| TableError::Write(e.to_string());
    let mut wb = Workbook::new();
    let bold = CellFormat::new().set_bold();
    for (name, headers, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).map_err(w)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(w)?;
            let width = rows
                .iter()
                .filter_map(|r| r.get(c))
                .chain(std::iter::once(&h.to_string()))
                .map(|s| {
                    s.lines()
                        .map(|l| {
                            l.chars()
                                .map(|ch| if ch.is_ascii() { 1.0 } else { 2.0 })
                                .sum::<f64>()
                        })
                        .fold(0.0, f64::max)
                })
                .fold(8.0, f64::max);
            ws.set_column_width(c as u16, width.min(60.0) + 2.0)
                .map_err(w)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v).map_err(w)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(w)?;
    }
    wb.save_to_buffer().map_err(w)
}

/// Writes a CSV with a UTF-8 BOM so Excel opens Chinese text correctly.
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(headers);
        for r in rows {
            let _ = w.write_record(r);
        }
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn csv_with_bom_and_gbk() {
        let t = read(
            "\u{feff}统一社会信用代码,企业名称\n91440400192548256N,格力\n\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        assert_eq!(t.headers, vec!["统一社会信用代码", "企业名称"]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].line, 2);
        let (gbk, _, _) = encoding_rs::GB18030.encode("企业名称\n珠海某某公司\n");
        let t = read(&gbk, Format::Csv).unwrap();
        assert_eq!(t.rows[0].cells[0], "珠海某某公司");
    }

    #[test]
    fn xlsx_round_trip_keeps_text() {
        let rows = vec![
            vec!["0012".to_string(), "珠海“测试”公司".to_string()],
            vec!["91440400192548256N".to_string(), "<script>".to_string()],
        ];
        let bytes = write_xlsx("企业", &["代码", "名称"], &rows).unwrap();
        let t = read(&bytes, Format::Xlsx).unwrap();
        assert_eq!(t.headers, vec!["代码", "名称"]);
        assert_eq!(
            t.rows.iter().map(|r| r.cells.clone()).collect::<Vec<_>>(),
            rows
        );
        assert_eq!(t.rows[0].line, 2);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read(b"not a zip", Format::Xlsx).is_err());
        assert!(matches!(read(b"", Format::Csv), Err(TableError::Empty)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read(&bytes, Format::Csv);
            let _ = read(&bytes, Format::Xlsx);
        }

        #[test]
        fn csv_round_trip(cells in proptest::collection::vec("[^\u{0}\r]{0,12}", 1..6)) {
            let headers: Vec<String> = (0..cells.len()).map(|i| format!("列{i}")).collect();
            let h: Vec<&str> = headers.iter().map(String::as_str).collect();
            let bytes = write_csv(&h, std::slice::from_ref(&cells));
            let t = read(&bytes, Format::Csv).unwrap();
            if cells.iter().any(|c| !c.trim().is_empty()) {
                prop_assert_eq!(&t.rows[0].cells, &cells);
            }
        }
    }
}
