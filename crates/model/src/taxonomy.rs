//! Category taxonomies: the Google Product Taxonomy (what a shop sells) and the IAB Tech Lab
//! Content and Audience taxonomies (what a publisher page is about; what an audience is, in
//! OpenRTB `user.data[].segment[]`).
//!
//! The Google file has no clear licence, so it is never embedded: the product reads it at run
//! time from a path ([`ProductTaxonomy::from_reader`]). The IAB files are CC BY 3.0 and ship in
//! `data/` (see `data/README.md` for attribution); [`ContentTaxonomy::iab_3_1`] and
//! [`AudienceTaxonomy::v1_1`] parse them once, lazily.
//!
//! Lookups are on the ingest hot path (one category per event), so every structure is a dense
//! vector indexed by position, with one `FxHashMap` from id to position.

use std::io::Read;
use std::ops::Deref;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// Why a taxonomy file could not be parsed. Every variant tied to a line carries its 1-based
/// line number so that an operator can fix the file.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// A line does not have the expected shape.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The same category id appears on two lines.
    #[error("line {line}: category id {id} is defined twice (first on line {first_line})")]
    DuplicateId {
        /// 1-based line number of the second definition.
        line: usize,
        /// The id.
        id: String,
        /// 1-based line number of the first definition.
        first_line: usize,
    },
    /// The same category path appears on two lines (Google Product Taxonomy).
    #[error("line {line}: category {path:?} is defined twice (first on line {first_line})")]
    DuplicatePath {
        /// 1-based line number of the second definition.
        line: usize,
        /// The path.
        path: String,
        /// 1-based line number of the first definition.
        first_line: usize,
    },
    /// A category names a parent that is not defined anywhere in the file.
    #[error("line {line}: parent {parent:?} of category {child:?} is not defined")]
    MissingParent {
        /// 1-based line number of the child.
        line: usize,
        /// The child's id or path.
        child: String,
        /// The missing parent's id or path.
        parent: String,
    },
    /// Following parents from a category leads back to it.
    #[error("line {line}: category {id} is its own ancestor")]
    Cycle {
        /// 1-based line number of a category on the cycle.
        line: usize,
        /// Its id.
        id: String,
    },
    /// The file defines no category at all (a wrong path, an empty download).
    #[error("the taxonomy defines no categories")]
    Empty,
    /// Reading the file failed, or it is not UTF-8.
    #[error("reading the taxonomy: {0}")]
    Io(#[from] std::io::Error),
}

impl TaxonomyError {
    /// The 1-based line the error is about, if it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            TaxonomyError::Syntax { line, .. }
            | TaxonomyError::DuplicateId { line, .. }
            | TaxonomyError::DuplicatePath { line, .. }
            | TaxonomyError::MissingParent { line, .. }
            | TaxonomyError::Cycle { line, .. } => Some(*line),
            TaxonomyError::Empty | TaxonomyError::Io(_) => None,
        }
    }
}

const NO_PARENT: u32 = u32::MAX;

/// Parent-to-children adjacency over dense positions, stored as one flat vector
/// (compressed sparse rows) so that `children` is a slice and costs no allocation.
#[derive(Debug, Clone, Default)]
struct Children {
    /// `start[p]..start[p + 1]` indexes `items` for position `p`; the last slot is the roots.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Children {
    /// Build from each position's parent position (`NO_PARENT` for roots). Children keep file
    /// order.
    fn build(parents: &[u32]) -> Children {
        let n = parents.len();
        let slot = |p: u32| if p == NO_PARENT { n } else { p as usize };
        let mut count = vec![0u32; n + 1];
        for &p in parents {
            count[slot(p)] += 1;
        }
        let mut start = Vec::with_capacity(n + 2);
        let mut acc = 0u32;
        start.push(0);
        for c in &count {
            acc += c;
            start.push(acc);
        }
        let mut fill: Vec<u32> = start[..=n].to_vec();
        let mut items = vec![0u32; parents.len()];
        for (pos, &p) in parents.iter().enumerate() {
            let s = slot(p);
            items[fill[s] as usize] = pos as u32;
            fill[s] += 1;
        }
        Children { start, items }
    }

    /// Child positions of `slot` (a position, or `parents.len()` for the roots).
    fn of(&self, slot: usize) -> &[u32] {
        match (self.start.get(slot), self.start.get(slot + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Depth of every position (1 for roots), or the position of a category on a parent cycle.
fn depths(parents: &[u32]) -> Result<Vec<u32>, usize> {
    let mut depth = vec![0u32; parents.len()];
    for start in 0..parents.len() {
        let mut chain = Vec::new();
        let mut p = start as u32;
        while p != NO_PARENT && depth[p as usize] == 0 {
            if chain.len() > parents.len() {
                return Err(start);
            }
            chain.push(p);
            p = parents[p as usize];
        }
        let mut d = if p == NO_PARENT { 0 } else { depth[p as usize] };
        for &q in chain.iter().rev() {
            d += 1;
            depth[q as usize] = d;
        }
    }
    Ok(depth)
}

/// Split on `\n`, drop a trailing `\r`, number lines from 1; a leading BOM is ignored.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

// ---------------------------------------------------------------------------------------------
// Google Product Taxonomy
// ---------------------------------------------------------------------------------------------

/// One category of the Google Product Taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Google's numeric category id (what `google_product_category` carries in a feed).
    pub id: u32,
    /// The last path segment, e.g. `Shoes`.
    pub name: String,
    /// The full path with ` > ` separators, e.g. `Apparel & Accessories > Shoes`.
    pub path: String,
    /// The parent category's id; `None` for the 21 top-level categories.
    pub parent: Option<u32>,
    /// Number of path segments: 1 for a top-level category.
    pub depth: u8,
}

/// The Google Product Taxonomy (`taxonomy-with-ids.<locale>.txt`), parsed for fast lookups by
/// id, path and name and for walks up and down the tree.
#[derive(Debug, Clone)]
pub struct ProductTaxonomy {
    version: Option<String>,
    categories: Vec<Category>,
    parent_pos: Vec<u32>,
    pos_by_id: FxHashMap<u32, u32>,
    /// Lowercased canonical path → position.
    pos_by_path: FxHashMap<String, u32>,
    /// Lowercased name → position, or `NO_PARENT` when several categories share the name.
    pos_by_name: FxHashMap<String, u32>,
    children: Children,
}

/// Canonical spelling of a path: segments trimmed, inner whitespace collapsed to one space,
/// joined by ` > `. `None` when a segment is empty.
fn canonical_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('>').enumerate() {
        if i > 0 {
            out.push_str(" > ");
        }
        let mut words = seg.split_whitespace();
        let first = words.next()?;
        out.push_str(first);
        for w in words {
            out.push(' ');
            out.push_str(w);
        }
    }
    Some(out)
}

impl ProductTaxonomy {
    /// Parse the text of a `taxonomy-with-ids` file: optional `#` comment lines (the
    /// `# Google_Product_Taxonomy_Version: …` header is remembered), then one `ID - A > B > C`
    /// line per category. Blank lines and CRLF endings are tolerated; parents may appear after
    /// their children. Errors name the offending line.
    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        let mut version = None;
        let mut categories: Vec<Category> = Vec::new();
        let mut lines: Vec<usize> = Vec::new();
        let mut pos_by_id: FxHashMap<u32, u32> = FxHashMap::default();
        let mut pos_by_path: FxHashMap<String, u32> = FxHashMap::default();
        for (line, text) in numbered_lines(text) {
            if text.trim().is_empty() {
                continue;
            }
            if let Some(comment) = text.trim_start().strip_prefix('#') {
                if let Some(v) = comment
                    .trim()
                    .strip_prefix("Google_Product_Taxonomy_Version:")
                {
                    version = Some(v.trim().to_owned());
                }
                continue;
            }
            let syntax = |message: String| TaxonomyError::Syntax { line, message };
            let (id_text, path_text) = text.split_once('-').ok_or_else(|| {
                syntax(format!("expected `ID - Category > Path`, found {text:?}"))
            })?;
            let id: u32 = id_text.trim().parse().map_err(|_| {
                syntax(format!(
                    "category id {:?} is not a non-negative integer",
                    id_text.trim()
                ))
            })?;
            let path = canonical_path(path_text).ok_or_else(|| {
                syntax(format!(
                    "empty segment in category path {:?}",
                    path_text.trim()
                ))
            })?;
            let segments = path.split(" > ").count();
            let depth = u8::try_from(segments)
                .map_err(|_| syntax(format!("category path has {segments} segments")))?;
            let name = path.rsplit(" > ").next().unwrap_or(&path).to_owned();
            let pos = categories.len() as u32;
            if let Some(&first) = pos_by_id.get(&id) {
                return Err(TaxonomyError::DuplicateId {
                    line,
                    id: id.to_string(),
                    first_line: lines[first as usize],
                });
            }
            if let Some(&first) = pos_by_path.get(&path.to_lowercase()) {
                return Err(TaxonomyError::DuplicatePath {
                    line,
                    path,
                    first_line: lines[first as usize],
                });
            }
            pos_by_id.insert(id, pos);
            pos_by_path.insert(path.to_lowercase(), pos);
            categories.push(Category {
                id,
                name,
                path,
                parent: None,
                depth,
            });
            lines.push(line);
        }
        if categories.is_empty() {
            return Err(TaxonomyError::Empty);
        }
        let mut parent_pos = Vec::with_capacity(categories.len());
        for (pos, c) in categories.iter().enumerate() {
            let p = match c.path.rsplit_once(" > ") {
                None => NO_PARENT,
                Some((parent, _)) => *pos_by_path.get(&parent.to_lowercase()).ok_or_else(|| {
                    TaxonomyError::MissingParent {
                        line: lines[pos],
                        child: c.path.clone(),
                        parent: parent.to_owned(),
                    }
                })?,
            };
            parent_pos.push(p);
        }
        for pos in 0..categories.len() {
            let p = parent_pos[pos];
            categories[pos].parent = if p == NO_PARENT {
                None
            } else {
                Some(categories[p as usize].id)
            };
        }
        let mut pos_by_name: FxHashMap<String, u32> = FxHashMap::default();
        for (pos, c) in categories.iter().enumerate() {
            pos_by_name
                .entry(c.name.to_lowercase())
                .and_modify(|p| *p = NO_PARENT)
                .or_insert(pos as u32);
        }
        let children = Children::build(&parent_pos);
        Ok(ProductTaxonomy {
            version,
            categories,
            parent_pos,
            pos_by_id,
            pos_by_path,
            pos_by_name,
            children,
        })
    }

    /// Read and parse a taxonomy file from a reader (the caller opens the file: this crate does
    /// no file I/O of its own). The text must be UTF-8.
    pub fn from_reader(mut reader: impl Read) -> Result<Self, TaxonomyError> {
        let mut text = String::new();
        reader.read_to_string(&mut text)?;
        Self::parse(&text)
    }

    /// The release named in the header (`2021-09-21`), if the file has one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether there are no categories (never true for a parsed taxonomy).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// All categories, in file order (parents before children in Google's files).
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.iter()
    }

    /// Whether `id` is a category of this taxonomy.
    pub fn contains(&self, id: u32) -> bool {
        self.pos_by_id.contains_key(&id)
    }

    /// The category with this id.
    pub fn get(&self, id: u32) -> Option<&Category> {
        let pos = *self.pos_by_id.get(&id)?;
        self.categories.get(pos as usize)
    }

    /// The id of the category with exactly this full path, compared case-insensitively and
    /// ignoring whitespace around `>` and runs of inner whitespace
    /// (`apparel & accessories>shoes` finds `Apparel & Accessories > Shoes`).
    pub fn by_path(&self, path: &str) -> Option<u32> {
        let key = canonical_path(path)?.to_lowercase();
        let pos = *self.pos_by_path.get(&key)?;
        Some(self.categories[pos as usize].id)
    }

    /// The id of the only category whose last segment is `name` (case-insensitive, whitespace
    /// collapsed); `None` when no category or several have that name. Google keeps leaf names
    /// unique, so this resolves the bare names (`Shoes`) that shops often put in a Segment
    /// `category` property.
    pub fn by_name(&self, name: &str) -> Option<u32> {
        let key = canonical_path(name)?.to_lowercase();
        let pos = *self.pos_by_name.get(&key)?;
        self.categories.get(pos as usize).map(|c| c.id)
    }

    /// Resolve what a feed's `google_product_category` holds: a numeric id (which must exist)
    /// or a full path (see [`ProductTaxonomy::by_path`]).
    pub fn resolve(&self, s: &str) -> Option<u32> {
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            let id: u32 = t.parse().ok()?;
            return self.contains(id).then_some(id);
        }
        self.by_path(t)
    }

    /// `id` itself, then its parent, and so on up to its top-level category. Empty for an
    /// unknown id.
    pub fn ancestors(&self, id: u32) -> Ancestors<'_> {
        Ancestors {
            taxonomy: self,
            pos: self.pos_by_id.get(&id).copied().unwrap_or(NO_PARENT),
        }
    }

    /// Whether `id` lies in the subtree of `ancestor`. Reflexive: a category is its own
    /// descendant, which is what "bought something in Apparel" means. False for unknown ids.
    pub fn is_descendant(&self, id: u32, ancestor: u32) -> bool {
        self.ancestors(id).any(|a| a == ancestor)
    }

    /// The top-level category `id` belongs to (itself if top-level); `None` for an unknown id.
    pub fn top_level(&self, id: u32) -> Option<u32> {
        self.ancestors(id).last()
    }

    /// The direct children of `id`, in file order; empty for a leaf or an unknown id.
    pub fn children(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let slot = self.pos_by_id.get(&id).map_or(usize::MAX, |&p| p as usize);
        self.children
            .of(slot)
            .iter()
            .map(|&p| self.categories[p as usize].id)
    }

    /// The top-level categories, in file order.
    pub fn roots(&self) -> impl Iterator<Item = u32> + '_ {
        self.children
            .of(self.categories.len())
            .iter()
            .map(|&p| self.categories[p as usize].id)
    }
}

/// Iterator over a category and its ancestors, nearest first (see
/// [`ProductTaxonomy::ancestors`]).
#[derive(Debug, Clone)]
pub struct Ancestors<'a> {
    taxonomy: &'a ProductTaxonomy,
    pos: u32,
}

impl Iterator for Ancestors<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let c = self.taxonomy.categories.get(self.pos as usize)?;
        self.pos = self.taxonomy.parent_pos[self.pos as usize];
        Some(c.id)
    }
}

// ---------------------------------------------------------------------------------------------
// IAB Tech Lab taxonomies
// ---------------------------------------------------------------------------------------------

/// One category of an IAB Tech Lab taxonomy (Content 2.x/3.x, Audience 1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IabCategory {
    /// The `Unique ID` (numeric in older releases, alphanumeric like `v9i3On` in Content 3.x);
    /// this is what OpenRTB segment and category fields carry.
    pub id: String,
    /// The parent's unique id; `None` for a tier-1 category.
    pub parent: Option<String>,
    /// The category's own name (the `Name` column, else its deepest tier).
    pub name: String,
    /// The non-empty `Tier 1`, `Tier 2`, … cells, root first.
    pub tiers: Vec<String>,
    /// The extension note, if any (e.g. Audience 1.1's purchase-intent classification note).
    pub extension: Option<String>,
}

impl IabCategory {
    /// The tiers joined with ` > `, e.g. `Demographic > Age Range > 18-20`.
    pub fn path(&self) -> String {
        self.tiers.join(" > ")
    }
}

/// An IAB Tech Lab taxonomy in the Tech Lab's TSV layout, with id lookups and tree walks.
/// Use it through [`ContentTaxonomy`] or [`AudienceTaxonomy`].
#[derive(Debug, Clone)]
pub struct IabTaxonomy {
    categories: Vec<IabCategory>,
    parent_pos: Vec<u32>,
    pos_by_id: FxHashMap<String, u32>,
    children: Children,
}

/// Column positions found in an IAB header.
struct IabColumns {
    id: usize,
    parent: usize,
    name: Option<usize>,
    tiers: Vec<usize>,
    extension: Option<usize>,
}

impl IabTaxonomy {
    /// Parse a Tech Lab TSV. The header row is the first (of the first five) with a
    /// `Unique ID` cell; columns are found by name (`Unique ID`, `Parent…`, `Name`, `Tier N`,
    /// `…Extension…`, the latter possibly on the line above), so the Audience file's empty
    /// first column and the Content files' two-line header both work. Parents may come after
    /// their children.
    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        let lines: Vec<(usize, &str)> = numbered_lines(text).collect();
        let header_at = lines
            .iter()
            .take(5)
            .position(|(_, l)| l.split('\t').any(|c| c.trim() == "Unique ID"))
            .ok_or_else(|| TaxonomyError::Syntax {
                line: 1,
                message: "no header row with a `Unique ID` column in the first five lines".into(),
            })?;
        let (header_line, header) = lines[header_at];
        let cells: Vec<&str> = header.split('\t').map(str::trim).collect();
        let find = |pred: &dyn Fn(&str) -> bool| cells.iter().position(|c| pred(c));
        let missing = |what: &str| TaxonomyError::Syntax {
            line: header_line,
            message: format!("header has no {what} column"),
        };
        let extension = find(&|c| c.contains("Extension")).or_else(|| {
            lines[..header_at]
                .iter()
                .rev()
                .find_map(|(_, l)| l.split('\t').position(|c| c.contains("Extension")))
        });
        let columns = IabColumns {
            id: find(&|c| c == "Unique ID").ok_or_else(|| missing("`Unique ID`"))?,
            parent: find(&|c| c.starts_with("Parent")).ok_or_else(|| missing("`Parent`"))?,
            name: find(&|c| c == "Name"),
            tiers: cells
                .iter()
                .enumerate()
                .filter(|(_, c)| c.starts_with("Tier "))
                .map(|(i, _)| i)
                .collect(),
            extension,
        };
        if columns.tiers.is_empty() {
            return Err(missing("`Tier 1`"));
        }
        Self::parse_rows(&lines[header_at + 1..], &columns)
    }

    fn parse_rows(lines: &[(usize, &str)], cols: &IabColumns) -> Result<Self, TaxonomyError> {
        let mut categories: Vec<IabCategory> = Vec::new();
        let mut line_of: Vec<usize> = Vec::new();
        let mut pos_by_id: FxHashMap<String, u32> = FxHashMap::default();
        for &(line, text) in lines {
            let cells: Vec<&str> = text.split('\t').map(str::trim).collect();
            if cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            let cell = |i: usize| cells.get(i).copied().unwrap_or("");
            let nonempty = |i: usize| Some(cell(i)).filter(|c| !c.is_empty()).map(str::to_owned);
            let id = cell(cols.id);
            if id.is_empty() {
                return Err(TaxonomyError::Syntax {
                    line,
                    message: "row has no `Unique ID`".into(),
                });
            }
            let tiers: Vec<String> = cols.tiers.iter().filter_map(|&i| nonempty(i)).collect();
            let name = cols
                .name
                .and_then(nonempty)
                .or_else(|| tiers.last().cloned())
                .ok_or_else(|| TaxonomyError::Syntax {
                    line,
                    message: format!("category {id} has neither a name nor a tier"),
                })?;
            if let Some(&first) = pos_by_id.get(id) {
                return Err(TaxonomyError::DuplicateId {
                    line,
                    id: id.to_owned(),
                    first_line: line_of[first as usize],
                });
            }
            pos_by_id.insert(id.to_owned(), categories.len() as u32);
            line_of.push(line);
            categories.push(IabCategory {
                id: id.to_owned(),
                parent: nonempty(cols.parent),
                name,
                tiers,
                extension: cols.extension.and_then(nonempty),
            });
        }
        if categories.is_empty() {
            return Err(TaxonomyError::Empty);
        }
        let mut parent_pos = Vec::with_capacity(categories.len());
        for (pos, c) in categories.iter().enumerate() {
            parent_pos.push(match &c.parent {
                None => NO_PARENT,
                Some(p) => *pos_by_id
                    .get(p)
                    .ok_or_else(|| TaxonomyError::MissingParent {
                        line: line_of[pos],
                        child: c.id.clone(),
                        parent: p.clone(),
                    })?,
            });
        }
        if let Err(pos) = depths(&parent_pos) {
            return Err(TaxonomyError::Cycle {
                line: line_of[pos],
                id: categories[pos].id.clone(),
            });
        }
        let children = Children::build(&parent_pos);
        Ok(IabTaxonomy {
            categories,
            parent_pos,
            pos_by_id,
            children,
        })
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether there are no categories (never true for a parsed taxonomy).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// All categories in file order.
    pub fn iter(&self) -> impl Iterator<Item = &IabCategory> {
        self.categories.iter()
    }

    /// The category with this unique id (exact match, surrounding whitespace ignored).
    pub fn get(&self, id: &str) -> Option<&IabCategory> {
        let pos = *self.pos_by_id.get(id.trim())?;
        self.categories.get(pos as usize)
    }

    /// The category's own name.
    pub fn name(&self, id: &str) -> Option<&str> {
        self.get(id).map(|c| c.name.as_str())
    }

    /// `id` itself, then its parent, and so on up to its tier-1 category. Empty for an
    /// unknown id.
    pub fn ancestors<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a str> + 'a {
        let mut pos = self.pos_by_id.get(id.trim()).copied().unwrap_or(NO_PARENT);
        std::iter::from_fn(move || {
            let c = self.categories.get(pos as usize)?;
            pos = self.parent_pos[pos as usize];
            Some(c.id.as_str())
        })
    }

    /// Whether `id` lies in the subtree of `ancestor` (reflexive; false for unknown ids).
    pub fn is_descendant(&self, id: &str, ancestor: &str) -> bool {
        let ancestor = ancestor.trim();
        self.ancestors(id).any(|a| a == ancestor)
    }

    /// The direct children of `id` in file order; empty for a leaf or unknown id.
    pub fn children<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a str> + 'a {
        let slot = self
            .pos_by_id
            .get(id.trim())
            .map_or(usize::MAX, |&p| p as usize);
        self.children
            .of(slot)
            .iter()
            .map(|&p| self.categories[p as usize].id.as_str())
    }

    /// The tier-1 categories in file order.
    pub fn roots(&self) -> impl Iterator<Item = &str> + '_ {
        self.children
            .of(self.categories.len())
            .iter()
            .map(|&p| self.categories[p as usize].id.as_str())
    }
}

/// The embedded IAB Content Taxonomy 3.1 (CC BY 3.0, IAB Tech Lab), pinned by sha256 in the
/// tests.
const CONTENT_3_1_TSV: &str = include_str!("../data/content_taxonomy_3.1.tsv");
/// The embedded IAB Audience Taxonomy 1.1 (CC BY 3.0, IAB Tech Lab).
const AUDIENCE_1_1_TSV: &str = include_str!("../data/audience_taxonomy_1.1.tsv");

/// Parse embedded, test-checked data. A failure is a build defect, not bad input, so it
/// panics with the reason (the crate's tests parse both files).
fn embedded(name: &str, text: &str) -> IabTaxonomy {
    match IabTaxonomy::parse(text) {
        Ok(t) => t,
        Err(e) => panic!("embedded {name} does not parse: {e}"),
    }
}

/// An IAB Tech Lab Content Taxonomy: what a page or app is about (OpenRTB `site.cat`,
/// `site.content.data` with `segtax`/`cattax`). Derefs to [`IabTaxonomy`] for lookups.
#[derive(Debug, Clone)]
pub struct ContentTaxonomy(IabTaxonomy);

impl ContentTaxonomy {
    /// The OpenRTB/AdCOM `cattax` (and `segtax`) value of Content Taxonomy 3.1.
    pub const CATTAX_3_1: u32 = 9;

    /// Content Taxonomy 3.1, embedded in the binary and parsed on first use.
    pub fn iab_3_1() -> &'static ContentTaxonomy {
        static CELL: OnceLock<ContentTaxonomy> = OnceLock::new();
        CELL.get_or_init(|| ContentTaxonomy(embedded("IAB Content Taxonomy 3.1", CONTENT_3_1_TSV)))
    }

    /// Parse another release in the same TSV layout (Content 2.2, 3.0).
    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        IabTaxonomy::parse(text).map(ContentTaxonomy)
    }
}

impl Deref for ContentTaxonomy {
    type Target = IabTaxonomy;

    fn deref(&self) -> &IabTaxonomy {
        &self.0
    }
}

/// The IAB Tech Lab Audience Taxonomy: standard names for audience segments (demographic,
/// interest, purchase intent), sent as `user.data[].segment[].id` with `segtax` 4. Derefs to
/// [`IabTaxonomy`] for lookups.
#[derive(Debug, Clone)]
pub struct AudienceTaxonomy(IabTaxonomy);

impl AudienceTaxonomy {
    /// The OpenRTB `segtax` value of Audience Taxonomy 1.1.
    pub const SEGTAX_1_1: u32 = 4;

    /// Audience Taxonomy 1.1, embedded in the binary and parsed on first use.
    pub fn v1_1() -> &'static AudienceTaxonomy {
        static CELL: OnceLock<AudienceTaxonomy> = OnceLock::new();
        CELL.get_or_init(|| {
            AudienceTaxonomy(embedded("IAB Audience Taxonomy 1.1", AUDIENCE_1_1_TSV))
        })
    }

    /// Parse another release in the same TSV layout.
    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        IabTaxonomy::parse(text).map(AudienceTaxonomy)
    }
}

impl Deref for AudienceTaxonomy {
    type Target = IabTaxonomy;

    fn deref(&self) -> &IabTaxonomy {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = "# Google_Product_Taxonomy_Version: test\n\
        1 - Home\n\
        10 - Home > Kitchen\n\
        11 - Home > Kitchen > Cookware\n\
        12 - Home >  Kitchen>Knives\n\
        2 - Toys\r\n\
        \n\
        20 - Toys > Puzzles";

    fn mini() -> ProductTaxonomy {
        match ProductTaxonomy::parse(MINI) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_and_walks() {
        let t = mini();
        assert_eq!(t.version(), Some("test"));
        assert_eq!(t.len(), 6);
        let knives = t.get(12).cloned();
        assert_eq!(
            knives,
            Some(Category {
                id: 12,
                name: "Knives".into(),
                path: "Home > Kitchen > Knives".into(),
                parent: Some(10),
                depth: 3
            })
        );
        assert_eq!(t.ancestors(11).collect::<Vec<_>>(), vec![11, 10, 1]);
        assert_eq!(t.ancestors(99).count(), 0);
        assert!(t.is_descendant(11, 1) && t.is_descendant(11, 11) && !t.is_descendant(11, 2));
        assert_eq!(t.top_level(20), Some(2));
        assert_eq!(t.top_level(99), None);
        assert_eq!(t.children(10).collect::<Vec<_>>(), vec![11, 12]);
        assert_eq!(t.children(11).count(), 0);
        assert_eq!(t.roots().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(t.by_path("home>kitchen >   cookware"), Some(11));
        assert_eq!(t.by_path("Home > Kitchen > "), None);
        assert_eq!(t.resolve(" 20 "), Some(20));
        assert_eq!(t.resolve("21"), None);
        assert_eq!(t.resolve("Toys > Puzzles"), Some(20));
        assert_eq!(t.by_name("knives"), Some(12));
    }

    #[test]
    fn child_before_parent_and_ambiguous_names() {
        let t = ProductTaxonomy::parse("5 - A > X\n1 - A\n2 - B\n6 - B > X");
        let t = match t {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(t.get(5).and_then(|c| c.parent), Some(1));
        assert_eq!(t.by_name("X"), None, "two categories are called X");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let cases: [(&str, usize); 6] = [
            ("1 - A\nfoo", 2),
            ("1 - A\nx1 - B", 2),
            ("1 - A\n2 - A > \n", 2),
            ("1 - A\n1 - B", 2),
            ("1 - A\n2 - a", 2),
            ("# header\n1 - A\n3 - C > D", 3),
        ];
        for (text, line) in cases {
            match ProductTaxonomy::parse(text) {
                Ok(_) => panic!("{text:?} parsed"),
                Err(e) => assert_eq!(e.line(), Some(line), "{text:?}: {e}"),
            }
        }
        assert!(matches!(
            ProductTaxonomy::parse("# only a header"),
            Err(TaxonomyError::Empty)
        ));
    }

    #[test]
    fn iab_cycles_and_missing_parents_are_errors() {
        let header = "Unique ID\tParent\tName\tTier 1\tTier 2\n";
        let cycle = format!("{header}a\tb\tA\tA\t\nb\ta\tB\tB\t\n");
        assert!(matches!(
            IabTaxonomy::parse(&cycle),
            Err(TaxonomyError::Cycle { .. })
        ));
        let missing = format!("{header}a\t\tA\tA\t\nb\tz\tB\tA\tB\n");
        match IabTaxonomy::parse(&missing) {
            Err(TaxonomyError::MissingParent { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
