//! The product catalog: import of a Google Merchant Center style product feed (TSV or CSV),
//! lookup by product id, and price tiers relative to each category's price distribution.
//!
//! A feed is operator-supplied and often hand-edited, so one bad row never fails an import:
//! it is reported with its line number and column and the other rows go in. Only a feed that
//! cannot be understood at all (no `id` column, unreadable bytes) is a hard error.
//!
//! Price tiers ("low / medium / high for this kind of product") let rules say "shoppers of
//! premium shoes" without a fixed price: a price is compared with the terciles of the catalog's
//! prices in its category, or in the nearest ancestor category with enough priced products.

use std::fmt;
use std::io::BufRead;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::taxonomy::ProductTaxonomy;

/// One product of an advertiser's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The advertiser's product id (`id` in the feed; `product_id` in Segment events).
    pub id: String,
    /// Display title; empty when the feed has none.
    pub title: String,
    /// Brand, if given.
    pub brand: Option<String>,
    /// Price in `currency` units (non-negative, finite).
    pub price: Option<f64>,
    /// ISO 4217 code of the price, if the feed states one.
    pub currency: Option<String>,
    /// The advertiser's own category path (`product_type`), kept verbatim (trimmed).
    pub product_type: Option<String>,
    /// Google Product Taxonomy category id (`google_product_category`).
    pub category: Option<u32>,
}

/// A problem with one row (or one cell) of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line where the row starts (a quoted value may span lines).
    pub line: usize,
    /// Canonical column name (`price`, `google_product_category`, …), when one cell is at fault.
    pub column: Option<String>,
    /// What is wrong, for the operator.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// The outcome of [`parse_feed`]: the products that parsed, and what did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedParse {
    /// Products from the good rows, in feed order.
    pub products: Vec<Product>,
    /// Rows left out, each with the reason (a row may have several).
    pub rejected: Vec<RowError>,
    /// Rows imported with a field dropped (e.g. an unknown category, imported as `None`).
    pub warnings: Vec<RowError>,
    /// The field separator detected from the header line.
    pub delimiter: Delimiter,
}

/// Why a feed could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The reader failed.
    #[error("reading the feed: {0}")]
    Io(#[from] std::io::Error),
    /// There is no header line.
    #[error("the feed is empty: no header line")]
    Empty,
    /// The header names no `id` column, so no row can be identified.
    #[error("line {line}: the header has no `id` column (columns: {found})")]
    MissingIdColumn {
        /// 1-based line of the header.
        line: usize,
        /// The header cells as found, comma-separated.
        found: String,
    },
    /// A known column appears twice in the header, so which one to use is ambiguous.
    #[error("line {line}: column `{column}` appears twice in the header")]
    DuplicateColumn {
        /// 1-based line of the header.
        line: usize,
        /// Canonical column name.
        column: String,
    },
    /// The header line itself has an unterminated quoted field.
    #[error("line {line}: the header has an unterminated quoted field")]
    BadHeader {
        /// 1-based line of the header.
        line: usize,
    },
    /// The feed is UTF-16 (a byte-order mark says so); Merchant Center accepts it, Audex
    /// asks for UTF-8.
    #[error("the feed is UTF-16 encoded; convert it to UTF-8")]
    Utf16,
}

// ---------------------------------------------------------------------------------------------
// Delimited text
// ---------------------------------------------------------------------------------------------

/// Field separator of a delimited text file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    /// Tab-separated (Merchant Center's TSV).
    #[default]
    Tab,
    /// Comma-separated (RFC 4180).
    Comma,
    /// Semicolon-separated (spreadsheet CSV in decimal-comma locales).
    Semicolon,
}

impl Delimiter {
    /// The separator character.
    pub fn as_char(self) -> char {
        match self {
            Delimiter::Tab => '\t',
            Delimiter::Comma => ',',
            Delimiter::Semicolon => ';',
        }
    }

    /// Guess the separator from a header line: a tab anywhere (outside quotes) means TSV;
    /// otherwise semicolons if they outnumber commas, else commas.
    pub fn sniff(header: &str) -> Delimiter {
        let (mut tabs, mut commas, mut semis, mut quoted) = (0, 0, 0, false);
        for c in header.chars() {
            match c {
                '"' => quoted = !quoted,
                '\t' if !quoted => tabs += 1,
                ',' if !quoted => commas += 1,
                ';' if !quoted => semis += 1,
                _ => {}
            }
        }
        if tabs > 0 {
            Delimiter::Tab
        } else if semis > commas {
            Delimiter::Semicolon
        } else {
            Delimiter::Comma
        }
    }
}

/// One record of a delimited file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line where the record starts.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The reader failed.
    #[error("reading: {0}")]
    Io(#[from] std::io::Error),
    /// A quoted field was still open at the end of the input.
    #[error("line {line}: quoted field is not closed before the end of the file")]
    UnterminatedQuote {
        /// 1-based line where the record starts.
        line: usize,
    },
}

/// A small streaming reader for CSV (RFC 4180) and TSV, with the same quoting rules for both:
/// a field that starts with `"` is quoted, may contain the separator, newlines and `""` for a
/// quote. Leniencies for hand-edited files: text after a closing quote is appended (as Python's
/// `csv` does), quotes inside an unquoted field are literal, and lines that are not UTF-8 are
/// decoded as Windows-1252 (the usual spreadsheet export). A UTF-8 byte-order mark is skipped.
#[derive(Debug)]
pub struct DelimitedReader<R> {
    reader: R,
    delimiter: Option<Delimiter>,
    line: usize,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldState {
    Start,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: BufRead> DelimitedReader<R> {
    /// A reader with a fixed separator, or `None` to [`Delimiter::sniff`] it from the first
    /// line.
    pub fn new(reader: R, delimiter: Option<Delimiter>) -> Self {
        DelimitedReader {
            reader,
            delimiter,
            line: 0,
            bytes: Vec::new(),
        }
    }

    /// The separator in use (`None` before the first line when sniffing).
    pub fn delimiter(&self) -> Option<Delimiter> {
        self.delimiter
    }

    /// Number of physical lines consumed so far.
    pub fn lines_read(&self) -> usize {
        self.line
    }

    fn read_line(&mut self) -> Result<Option<String>, std::io::Error> {
        self.bytes.clear();
        if self.reader.read_until(b'\n', &mut self.bytes)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.bytes.last() == Some(&b'\n') {
            self.bytes.pop();
        }
        if self.bytes.last() == Some(&b'\r') {
            self.bytes.pop();
        }
        let body = if self.line == 1 {
            self.bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&self.bytes)
        } else {
            &self.bytes[..]
        };
        Ok(Some(match std::str::from_utf8(body) {
            Ok(s) => s.to_owned(),
            Err(_) => body.iter().map(|&b| windows_1252(b)).collect(),
        }))
    }

    /// The next record, `Ok(None)` at the end of the input. After an
    /// [`RecordError::UnterminatedQuote`] the input is exhausted.
    pub fn next_record(&mut self) -> Result<Option<Record>, RecordError> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut state = FieldState::Start;
        let start = self.line + 1;
        loop {
            let Some(text) = self.read_line()? else {
                return if state == FieldState::Quoted {
                    Err(RecordError::UnterminatedQuote { line: start })
                } else {
                    Ok(None)
                };
            };
            let delim = *self
                .delimiter
                .get_or_insert_with(|| Delimiter::sniff(&text));
            let delim = delim.as_char();
            for c in text.chars() {
                state = match (state, c) {
                    (FieldState::Start, '"') => FieldState::Quoted,
                    (FieldState::Quoted, '"') => FieldState::QuoteInQuoted,
                    (FieldState::QuoteInQuoted, '"') => {
                        field.push('"');
                        FieldState::Quoted
                    }
                    (FieldState::Quoted, c) => {
                        field.push(c);
                        FieldState::Quoted
                    }
                    (_, c) if c == delim => {
                        fields.push(std::mem::take(&mut field));
                        FieldState::Start
                    }
                    (_, c) => {
                        field.push(c);
                        FieldState::Unquoted
                    }
                };
            }
            if state == FieldState::Quoted {
                field.push('\n');
                continue;
            }
            fields.push(field);
            return Ok(Some(Record {
                line: start,
                fields,
            }));
        }
    }
}

/// Windows-1252 decoding of one byte (Latin-1 plus typographic characters in 0x80–0x9F).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

// ---------------------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------------------

/// A parsed price cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// The amount, non-negative and finite.
    pub amount: f64,
    /// ISO 4217 code, if stated (`€` and `£` count as EUR and GBP; `$` and `¥` are ambiguous
    /// and give `None`).
    pub currency: Option<String>,
}

/// Currencies with three minor-unit digits, where `1.234` is a decimal amount, not 1234.
const THREE_DECIMAL_CURRENCIES: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Parse a price as feeds write it: `24.99 USD`, `USD 24.99`, `24.99`, `1.234,50 EUR`,
/// `1,234.50`, `24,99 €`.
///
/// Decimal separator: when both `.` and `,` occur, the last one is the decimal separator and
/// the other groups thousands. When only one kind occurs more than once, it groups thousands.
/// When it occurs once, it is a thousands separator only if exactly three digits follow and
/// one to three non-zero-led digits precede (`1,234` → 1234, `1.234 EUR` → 1234), unless the
/// currency has three decimals (KWD, …); otherwise it is the decimal separator (`24,99` →
/// 24.99, `0.500` → 0.5). Spaces and apostrophes also group thousands (`1 234,50`, `1'234.50`).
/// Negative, non-numeric and malformed amounts are errors.
pub fn parse_price(raw: &str) -> Result<Price, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty price".into());
    }
    let (amount_text, currency) = split_currency(s)?;
    let mut digits = String::with_capacity(amount_text.len());
    for c in amount_text.chars() {
        match c {
            '0'..='9' | '.' | ',' => digits.push(c),
            ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’' => {}
            '-' => return Err(format!("negative price {s:?}")),
            _ => return Err(format!("{s:?} is not a price (unexpected {c:?})")),
        }
    }
    if !digits.bytes().any(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} has no amount"));
    }
    let three_decimals = currency
        .as_deref()
        .is_some_and(|c| THREE_DECIMAL_CURRENCIES.contains(&c));
    let plain = decimal_point_form(&digits, three_decimals)
        .ok_or_else(|| format!("{s:?} is not a well-formed amount"))?;
    let amount: f64 = plain
        .parse()
        .map_err(|_| format!("{s:?} is not a well-formed amount"))?;
    if !amount.is_finite() {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Price { amount, currency })
}

/// Split a leading or trailing currency (ISO code or symbol) off a price. Both may be given
/// only if they agree (`€24.99 EUR`, `$24.99 USD`).
fn split_currency(s: &str) -> Result<(&str, Option<String>), String> {
    let is_code = |t: &str| t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic());
    // `Some(currency)` for a currency marker; `$` and `¥` are markers without a known code.
    let symbol = |c: char| match c {
        '€' => Some(Some("EUR".to_owned())),
        '£' => Some(Some("GBP".to_owned())),
        '$' | '¥' => Some(None),
        _ => None,
    };
    let mut rest = s;
    let mut leading: Option<String> = None;
    if let Some(first) = rest.chars().next() {
        if let Some(sym) = symbol(first) {
            leading = sym;
            rest = rest[first.len_utf8()..].trim_start();
        } else if rest.get(..3).is_some_and(is_code)
            && rest[3..].chars().next().is_none_or(|c| !c.is_alphabetic())
        {
            leading = Some(rest[..3].to_ascii_uppercase());
            rest = rest[3..].trim_start();
        }
    }
    let mut trailing: Option<String> = None;
    if let Some(last) = rest.chars().next_back() {
        let n = rest.len();
        if let Some(sym) = symbol(last) {
            trailing = sym;
            rest = rest[..n - last.len_utf8()].trim_end();
        } else if n >= 3
            && rest.get(n - 3..).is_some_and(is_code)
            && rest[..n - 3]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphabetic())
        {
            trailing = Some(rest[n - 3..].to_ascii_uppercase());
            rest = rest[..n - 3].trim_end();
        }
    }
    match (leading, trailing) {
        (Some(a), Some(b)) if a != b => Err(format!("{s:?} names two currencies")),
        (a, b) => Ok((rest, a.or(b))),
    }
}

/// Rewrite digits with `.`/`,` separators as a plain `1234.5` string, or `None` if malformed.
fn decimal_point_form(digits: &str, three_decimals: bool) -> Option<String> {
    let last_dot = digits.rfind('.');
    let last_comma = digits.rfind(',');
    let (decimal, group) = match (last_dot, last_comma) {
        (None, None) => (None, None),
        (Some(d), Some(c)) => {
            if d > c {
                (Some('.'), Some(','))
            } else {
                (Some(','), Some('.'))
            }
        }
        (Some(_), None) | (None, Some(_)) => {
            let sep = if last_dot.is_some() { '.' } else { ',' };
            if digits.matches(sep).count() > 1 {
                (None, Some(sep))
            } else {
                let (int, frac) = digits.split_once(sep)?;
                let grouping = frac.len() == 3
                    && (1..=3).contains(&int.len())
                    && !int.starts_with('0')
                    && !three_decimals;
                if grouping {
                    (None, Some(sep))
                } else {
                    (Some(sep), None)
                }
            }
        }
    };
    let (int, frac) = match decimal {
        Some(d) => {
            let (int, frac) = digits.rsplit_once(d)?;
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (int, Some(frac))
        }
        None => (digits, None),
    };
    let int_digits: String = match group {
        Some(g) if int.contains(g) => {
            let groups: Vec<&str> = int.split(g).collect();
            let ok = groups.iter().enumerate().all(|(i, grp)| {
                let len_ok = if i == 0 {
                    (1..=3).contains(&grp.len())
                } else if i == groups.len() - 1 {
                    grp.len() == 3
                } else {
                    // 3 digits, or 2 in the Indian lakh/crore style (1,23,456).
                    grp.len() == 3 || grp.len() == 2
                };
                len_ok && grp.bytes().all(|b| b.is_ascii_digit())
            });
            if !ok {
                return None;
            }
            groups.concat()
        }
        _ => {
            if !int.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            int.to_owned()
        }
    };
    let int_digits = if int_digits.is_empty() {
        "0".to_owned()
    } else {
        int_digits
    };
    Some(match frac {
        Some(f) => format!("{int_digits}.{f}"),
        None => int_digits,
    })
}

// ---------------------------------------------------------------------------------------------
// Feed import
// ---------------------------------------------------------------------------------------------

/// The feed columns Audex reads, by canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Title,
    Brand,
    Price,
    ProductType,
    GoogleProductCategory,
}

impl Column {
    const ALL: [Column; 6] = [
        Column::Id,
        Column::Title,
        Column::Brand,
        Column::Price,
        Column::ProductType,
        Column::GoogleProductCategory,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Title => "title",
            Column::Brand => "brand",
            Column::Price => "price",
            Column::ProductType => "product_type",
            Column::GoogleProductCategory => "google_product_category",
        }
    }
}

/// Canonical form of a header cell: trimmed, lowercased, `g:` prefix dropped, spaces and
/// dashes as underscores (`g:Google Product Category` → `google_product_category`).
fn column_key(header: &str) -> String {
    let lower = header.trim().to_lowercase();
    let bare = lower.strip_prefix("g:").unwrap_or(&lower).trim();
    bare.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Resolve a `google_product_category` cell: through the taxonomy when given (id or path;
/// an `ID - Path` line copied from the taxonomy file is accepted too), else only a numeric id.
fn resolve_category(text: &str, taxonomy: Option<&ProductTaxonomy>) -> Result<u32, String> {
    let numeric = |t: &str| -> Option<u32> {
        let t = t.trim();
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let id_prefix = text.split_once(" - ").and_then(|(id, _)| numeric(id));
    match taxonomy {
        Some(t) => t
            .resolve(text)
            .or_else(|| id_prefix.filter(|&id| t.contains(id)))
            .ok_or_else(|| format!("{text:?} is not a Google Product Taxonomy category")),
        None => numeric(text).or(id_prefix).ok_or_else(|| {
            format!("{text:?} is a category path; a taxonomy is needed to resolve it")
        }),
    }
}

/// Parse a product feed in Google Merchant Center columns.
///
/// The separator (tab, comma or semicolon) is detected from the header line. Header names are
/// case-insensitive, may carry the `g:` prefix and may use spaces for underscores. `id` is
/// required; `title`, `brand`, `price` (see [`parse_price`]), `product_type` and
/// `google_product_category` are read when present; other columns are ignored.
///
/// A row is rejected (listed in [`FeedParse::rejected`] with its line and column) for an empty
/// or duplicate id, an unparsable price, or more non-empty fields than header columns; a
/// category that does not resolve is a warning and the product is kept without it. Blank rows
/// are skipped. A quoted field left open at the end of the file rejects that last row. The
/// header without an `id` column, a duplicated known column, UTF-16 input and read errors are
/// hard errors.
pub fn parse_feed(
    mut reader: impl BufRead,
    taxonomy: Option<&ProductTaxonomy>,
) -> Result<FeedParse, CatalogError> {
    let head = reader.fill_buf()?;
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Err(CatalogError::Utf16);
    }
    let mut records = DelimitedReader::new(reader, None);
    let header = loop {
        match records.next_record() {
            Ok(Some(r)) if r.fields.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(Some(r)) => break r,
            Ok(None) => return Err(CatalogError::Empty),
            Err(RecordError::Io(e)) => return Err(CatalogError::Io(e)),
            Err(RecordError::UnterminatedQuote { line }) => {
                return Err(CatalogError::BadHeader { line });
            }
        }
    };
    let mut columns: [Option<usize>; 6] = [None; 6];
    for (i, cell) in header.fields.iter().enumerate() {
        let key = column_key(cell);
        if let Some(k) = Column::ALL.iter().position(|c| c.name() == key) {
            if columns[k].is_some() {
                return Err(CatalogError::DuplicateColumn {
                    line: header.line,
                    column: key,
                });
            }
            columns[k] = Some(i);
        }
    }
    if columns[Column::Id as usize].is_none() {
        return Err(CatalogError::MissingIdColumn {
            line: header.line,
            found: header.fields.join(", "),
        });
    }
    let mut out = FeedParse {
        delimiter: records.delimiter().unwrap_or_default(),
        ..FeedParse::default()
    };
    let mut first_line_of: FxHashMap<String, usize> = FxHashMap::default();
    loop {
        let record = match records.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(RecordError::Io(e)) => return Err(CatalogError::Io(e)),
            Err(RecordError::UnterminatedQuote { line }) => {
                out.rejected.push(RowError {
                    line,
                    column: None,
                    message: "a quoted field is not closed before the end of the file".into(),
                });
                break;
            }
        };
        if record.fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if let Some(p) = parse_row(&record, &columns, header.fields.len(), taxonomy, &mut out) {
            match first_line_of.get(&p.id) {
                Some(&first) => out.rejected.push(RowError {
                    line: record.line,
                    column: Some(Column::Id.name().into()),
                    message: format!("duplicate id {:?} (first on line {first})", p.id),
                }),
                None => {
                    first_line_of.insert(p.id.clone(), record.line);
                    out.products.push(p);
                }
            }
        }
    }
    Ok(out)
}

/// One data row → a product, or `None` with the reasons pushed to `out.rejected`.
fn parse_row(
    record: &Record,
    columns: &[Option<usize>; 6],
    header_len: usize,
    taxonomy: Option<&ProductTaxonomy>,
    out: &mut FeedParse,
) -> Option<Product> {
    let line = record.line;
    let cell = |c: Column| -> &str {
        columns[c as usize]
            .and_then(|i| record.fields.get(i))
            .map_or("", |s| s.trim())
    };
    let opt = |c: Column| Some(cell(c)).filter(|s| !s.is_empty()).map(str::to_owned);
    let reject = |column: Option<Column>, message: String| RowError {
        line,
        column: column.map(|c| c.name().to_owned()),
        message,
    };
    let before = out.rejected.len();
    if record.fields[header_len.min(record.fields.len())..]
        .iter()
        .any(|f| !f.trim().is_empty())
    {
        out.rejected.push(reject(
            None,
            format!(
                "{} fields but the header has {header_len} (an unquoted separator in a value?)",
                record.fields.len()
            ),
        ));
        // The cells are misaligned, so checking them would only add noise.
        return None;
    }
    let id = cell(Column::Id);
    if id.is_empty() {
        out.rejected
            .push(reject(Some(Column::Id), "empty id".into()));
    }
    let price = match cell(Column::Price) {
        "" => None,
        text => match parse_price(text) {
            Ok(p) => Some(p),
            Err(e) => {
                out.rejected.push(reject(Some(Column::Price), e));
                None
            }
        },
    };
    if out.rejected.len() > before {
        return None;
    }
    let category = match cell(Column::GoogleProductCategory) {
        "" => None,
        text => match resolve_category(text, taxonomy) {
            Ok(id) => Some(id),
            Err(e) => {
                out.warnings
                    .push(reject(Some(Column::GoogleProductCategory), e));
                None
            }
        },
    };
    let (price, currency) = match price {
        Some(p) => (Some(p.amount), p.currency),
        None => (None, None),
    };
    Some(Product {
        id: id.to_owned(),
        title: cell(Column::Title).to_owned(),
        brand: opt(Column::Brand),
        price,
        currency,
        product_type: opt(Column::ProductType),
        category,
    })
}

// ---------------------------------------------------------------------------------------------
// Catalog and price tiers
// ---------------------------------------------------------------------------------------------

/// Where a price sits within its category: below the lower tercile, between, or above the
/// upper tercile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceTier {
    /// Cheaper than the lower third of the category.
    Low,
    /// Within the middle third (also: no price information to compare with).
    Medium,
    /// Dearer than the upper third of the category.
    High,
}

impl PriceTier {
    /// Stable snake_case name, used by the rule language and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceTier::Low => "low",
            PriceTier::Medium => "medium",
            PriceTier::High => "high",
        }
    }

    /// Inverse of [`PriceTier::as_str`].
    pub fn parse(s: &str) -> Option<PriceTier> {
        match s {
            "low" => Some(PriceTier::Low),
            "medium" => Some(PriceTier::Medium),
            "high" => Some(PriceTier::High),
            _ => None,
        }
    }
}

/// Minimum number of priced products a category (with its subcategories) needs for its own
/// tier cut points; a category with fewer borrows its nearest qualifying ancestor's.
pub const MIN_PRICED_FOR_TIERS: usize = 5;

/// Tercile cut points of one price distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierBounds {
    /// The 1/3 quantile: prices strictly below are [`PriceTier::Low`].
    pub low_below: f64,
    /// The 2/3 quantile: prices strictly above are [`PriceTier::High`].
    pub high_above: f64,
    /// The category whose products the quantiles are of (with its subcategories); `None` for
    /// the whole catalog.
    pub category: Option<u32>,
    /// How many priced products the distribution has.
    pub priced: u32,
}

impl TierBounds {
    /// Terciles of `prices` (sorted in place); `None` when empty. Quantiles interpolate
    /// linearly between order statistics.
    fn of(prices: &mut [f64], category: Option<u32>) -> Option<TierBounds> {
        if prices.is_empty() {
            return None;
        }
        prices.sort_by(f64::total_cmp);
        Some(TierBounds {
            low_below: quantile(prices, 1.0 / 3.0),
            high_above: quantile(prices, 2.0 / 3.0),
            category,
            priced: u32::try_from(prices.len()).unwrap_or(u32::MAX),
        })
    }

    /// The tier of `price` under these bounds (a price equal to a cut point is Medium, so a
    /// category whose prices are all equal is all Medium).
    pub fn tier(&self, price: f64) -> PriceTier {
        if price < self.low_below {
            PriceTier::Low
        } else if price > self.high_above {
            PriceTier::High
        } else {
            PriceTier::Medium
        }
    }
}

/// Quantile `q` of sorted, non-empty `v` (linear interpolation, "type 7").
fn quantile(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Precomputed tier bounds: for every taxonomy category, the bounds of its nearest ancestor
/// (itself first) with enough priced products; the whole catalog's otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct TierTable {
    overall: Option<TierBounds>,
    bounds: Vec<TierBounds>,
    by_category: FxHashMap<u32, u32>,
}

/// An advertiser's products, by id, with price tiers.
///
/// Products get a dense index in insertion order that never changes (an upsert of an existing
/// id replaces it in place), so later stages can key per-product data by `u32`. Tier bounds
/// are a snapshot: call [`Catalog::rebuild_tiers`] after imports.
///
/// Serialises as its products and tier table; the id index is rebuilt on deserialisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CatalogSnapshot")]
pub struct Catalog {
    products: Vec<Product>,
    #[serde(skip)]
    index: FxHashMap<String, u32>,
    tiers: TierTable,
}

/// The serialised form of [`Catalog`] (same fields, same order, without the index).
#[derive(Deserialize)]
struct CatalogSnapshot {
    products: Vec<Product>,
    tiers: TierTable,
}

impl TryFrom<CatalogSnapshot> for Catalog {
    type Error = String;

    fn try_from(s: CatalogSnapshot) -> Result<Self, String> {
        let mut index = FxHashMap::default();
        for (i, p) in s.products.iter().enumerate() {
            if index.insert(p.id.clone(), i as u32).is_some() {
                return Err(format!("catalog snapshot has product id {:?} twice", p.id));
            }
        }
        if s.tiers
            .by_category
            .values()
            .any(|&i| i as usize >= s.tiers.bounds.len())
        {
            return Err("catalog snapshot has a dangling tier reference".into());
        }
        Ok(Catalog {
            products: s.products,
            index,
            tiers: s.tiers,
        })
    }
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether the catalog has no products.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The product with this id.
    pub fn get(&self, product_id: &str) -> Option<&Product> {
        let i = *self.index.get(product_id)?;
        self.products.get(i as usize)
    }

    /// The dense index of a product id.
    pub fn index_of(&self, product_id: &str) -> Option<u32> {
        self.index.get(product_id).copied()
    }

    /// The product at a dense index.
    pub fn by_index(&self, index: u32) -> Option<&Product> {
        self.products.get(index as usize)
    }

    /// All products in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Product> {
        self.products.iter()
    }

    /// Insert a product, or replace the one with the same id (keeping its index). Returns the
    /// product's dense index. Tier bounds are not updated until [`Catalog::rebuild_tiers`].
    pub fn upsert(&mut self, product: Product) -> u32 {
        if let Some(&i) = self.index.get(&product.id) {
            self.products[i as usize] = product;
            return i;
        }
        let i = self.products.len() as u32;
        self.index.insert(product.id.clone(), i);
        self.products.push(product);
        i
    }

    /// Recompute the tier bounds from the current prices. Each category's distribution is the
    /// prices of the products in it and in its subcategories; categories with at least
    /// [`MIN_PRICED_FOR_TIERS`] priced products get their own terciles, every other taxonomy
    /// category uses its nearest such ancestor, and categories with none (or products without
    /// a category) use the whole catalog. Currencies are not converted: a catalog is assumed
    /// to be priced in one currency.
    pub fn rebuild_tiers(&mut self, taxonomy: &ProductTaxonomy) {
        self.tiers = self.tier_table(Some(taxonomy));
    }

    /// [`Catalog::rebuild_tiers`] for a deployment without the Google taxonomy file: a
    /// category with at least [`MIN_PRICED_FOR_TIERS`] priced products gets its own terciles
    /// (its own products only, as the tree is unknown); every other price is compared with
    /// the whole catalog.
    pub fn rebuild_tiers_flat(&mut self) {
        self.tiers = self.tier_table(None);
    }

    fn tier_table(&self, taxonomy: Option<&ProductTaxonomy>) -> TierTable {
        let mut all = Vec::with_capacity(self.products.len());
        let mut per_category: FxHashMap<u32, Vec<f64>> = FxHashMap::default();
        for p in &self.products {
            let Some(price) = p.price.filter(|x| x.is_finite() && *x >= 0.0) else {
                continue;
            };
            all.push(price);
            match (p.category, taxonomy) {
                (Some(c), Some(t)) => {
                    for a in t.ancestors(c) {
                        per_category.entry(a).or_default().push(price);
                    }
                }
                (Some(c), None) => per_category.entry(c).or_default().push(price),
                (None, _) => {}
            }
        }
        let mut table = TierTable {
            overall: TierBounds::of(&mut all, None),
            ..TierTable::default()
        };
        // Categories in a deterministic order: taxonomy order, or by id without one.
        let order: Vec<u32> = match taxonomy {
            Some(t) => t.iter().map(|c| c.id).collect(),
            None => {
                let mut ids: Vec<u32> = per_category.keys().copied().collect();
                ids.sort_unstable();
                ids
            }
        };
        let mut own: FxHashMap<u32, u32> = FxHashMap::default();
        for id in &order {
            let Some(prices) = per_category.get_mut(id) else {
                continue;
            };
            if prices.len() < MIN_PRICED_FOR_TIERS {
                continue;
            }
            if let Some(b) = TierBounds::of(prices, Some(*id)) {
                own.insert(*id, table.bounds.len() as u32);
                table.bounds.push(b);
            }
        }
        match taxonomy {
            Some(t) => {
                for c in t.iter() {
                    if let Some(i) = t.ancestors(c.id).find_map(|a| own.get(&a).copied()) {
                        table.by_category.insert(c.id, i);
                    }
                }
            }
            None => table.by_category = own,
        }
        table
    }

    /// The bounds [`Catalog::price_tier`] uses for a category: its own, its nearest qualifying
    /// ancestor's, or the whole catalog's; `None` when the catalog has no prices (or tiers were
    /// never built).
    pub fn tier_bounds(&self, category_id: u32) -> Option<&TierBounds> {
        self.tiers
            .by_category
            .get(&category_id)
            .and_then(|&i| self.tiers.bounds.get(i as usize))
            .or(self.tiers.overall.as_ref())
    }

    /// The tier of `price` among products of `category_id` (see [`Catalog::rebuild_tiers`]).
    /// `Medium` when there is nothing to compare with or the price is not a number.
    pub fn price_tier(&self, category_id: u32, price: f64) -> PriceTier {
        match self.tier_bounds(category_id) {
            Some(b) if !price.is_nan() => b.tier(price),
            _ => PriceTier::Medium,
        }
    }

    /// The tier of `price` against the whole catalog (for products without a category).
    pub fn overall_price_tier(&self, price: f64) -> PriceTier {
        match &self.tiers.overall {
            Some(b) if !price.is_nan() => b.tier(price),
            _ => PriceTier::Medium,
        }
    }

    /// The tier of a catalog product at its own price and category; `None` for an unknown id
    /// or a product without a price.
    pub fn product_price_tier(&self, product_id: &str) -> Option<PriceTier> {
        let p = self.get(product_id)?;
        let price = p.price?;
        Some(match p.category {
            Some(c) => self.price_tier(c, price),
            None => self.overall_price_tier(price),
        })
    }
}

impl Extend<Product> for Catalog {
    fn extend<I: IntoIterator<Item = Product>>(&mut self, iter: I) {
        for p in iter {
            self.upsert(p);
        }
    }
}

impl FromIterator<Product> for Catalog {
    fn from_iter<I: IntoIterator<Item = Product>>(iter: I) -> Self {
        let mut c = Catalog::new();
        c.extend(iter);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(s: &str) -> Option<(f64, Option<String>)> {
        parse_price(s).ok().map(|p| (p.amount, p.currency))
    }

    #[test]
    fn prices_in_every_spelling() {
        let usd = Some("USD".to_owned());
        let eur = Some("EUR".to_owned());
        assert_eq!(price("24.99 USD"), Some((24.99, usd.clone())));
        assert_eq!(price("USD 24.99"), Some((24.99, usd.clone())));
        assert_eq!(price("usd24.99"), Some((24.99, usd.clone())));
        assert_eq!(price("24.99"), Some((24.99, None)));
        assert_eq!(price("1.234,50 EUR"), Some((1234.5, eur.clone())));
        assert_eq!(price("1,234.50 USD"), Some((1234.5, usd.clone())));
        assert_eq!(price("24,99 EUR"), Some((24.99, eur.clone())));
        assert_eq!(price("24,99 €"), Some((24.99, eur.clone())));
        assert_eq!(price("€24.99"), Some((24.99, eur.clone())));
        assert_eq!(price("$24.99"), Some((24.99, None)));
        assert_eq!(price("$24.99 USD"), Some((24.99, usd.clone())));
        assert_eq!(price("€24.99 EUR"), Some((24.99, eur.clone())));
        assert_eq!(price("1 234,50 EUR"), Some((1234.5, eur.clone())));
        assert_eq!(price("1'234.50 CHF"), Some((1234.5, Some("CHF".into()))));
        assert_eq!(price("1,234"), Some((1234.0, None)));
        assert_eq!(price("1.234 EUR"), Some((1234.0, eur.clone())));
        assert_eq!(price("1.234 KWD"), Some((1.234, Some("KWD".into()))));
        assert_eq!(price("0.500"), Some((0.5, None)));
        assert_eq!(price("1,000,000"), Some((1_000_000.0, None)));
        assert_eq!(price("12.345.678,90"), Some((12_345_678.9, None)));
        assert_eq!(
            price("1,23,456.00 INR"),
            Some((123_456.0, Some("INR".into())))
        );
        assert_eq!(price(".99"), Some((0.99, None)));
        assert_eq!(price("0"), Some((0.0, None)));
        for bad in [
            "",
            "USD",
            "abc",
            "-5",
            "5 USD EUR",
            "USD 5 EUR",
            "1,2,3",
            "1.2.3,4.5",
            "12.34.56",
            "24.99USDX",
            "24.",
            "1e5",
            "€5 £",
            "EUR 5 USD",
            "5 €€",
        ] {
            assert!(
                parse_price(bad).is_err(),
                "{bad:?} parsed as {:?}",
                parse_price(bad)
            );
        }
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(Delimiter::sniff("id\ttitle\tprice"), Delimiter::Tab);
        assert_eq!(Delimiter::sniff("id,title,price"), Delimiter::Comma);
        assert_eq!(Delimiter::sniff("id;title;price"), Delimiter::Semicolon);
        assert_eq!(Delimiter::sniff("\"a;b\",c"), Delimiter::Comma);
        assert_eq!(Delimiter::sniff("id"), Delimiter::Comma);
    }

    #[test]
    fn reads_rfc4180_records() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"multi\nline\"\n1,,3\n\"open";
        let mut r = DelimitedReader::new(text.as_bytes(), None);
        let mut got = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => got.push((rec.line, rec.fields)),
                Ok(None) => break,
                Err(RecordError::UnterminatedQuote { line }) => {
                    got.push((line, vec!["<open>".to_owned()]));
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (1, s(&["a", "b", "c"])),
                (2, s(&["x, y", "say \"hi\"", "multi\nline"])),
                (4, s(&["1", "", "3"])),
                (5, s(&["<open>"])),
            ]
        );
    }

    #[test]
    fn non_utf8_lines_are_windows_1252() {
        let bytes: &[u8] = b"id\ttitle\n1\tCaf\xe9 \x80\n";
        let mut r = DelimitedReader::new(bytes, None);
        let _ = r.next_record();
        let rec = r.next_record().ok().flatten().map(|r| r.fields);
        assert_eq!(rec, Some(vec!["1".to_owned(), "Café €".to_owned()]));
    }

    #[test]
    fn column_names_are_canonicalised() {
        assert_eq!(
            column_key(" g:Google Product Category "),
            "google_product_category"
        );
        assert_eq!(column_key("G:ID"), "id");
        assert_eq!(column_key("product-type"), "product_type");
    }

    #[test]
    fn quantiles_and_tiers() {
        let mut v = vec![60.0, 10.0, 30.0, 20.0, 50.0, 40.0];
        let b = TierBounds::of(&mut v, None);
        let tiers: Vec<PriceTier> = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
            .iter()
            .map(|&p| b.map_or(PriceTier::Medium, |b| b.tier(p)))
            .collect();
        use PriceTier::*;
        assert_eq!(tiers, vec![Low, Low, Medium, Medium, High, High]);
        let mut same = vec![5.0; 7];
        assert_eq!(
            TierBounds::of(&mut same, None).map(|b| b.tier(5.0)),
            Some(Medium)
        );
        assert_eq!(TierBounds::of(&mut [], None), None);
    }
}
