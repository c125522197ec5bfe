//! Reading the Google Product Taxonomy (`ID - A > B > C` per line, `#` comments) at run time.

use std::path::Path;

use audex_model::taxonomy::ProductTaxonomy;

use crate::SimError;

/// One category of the Google Product Taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleCategory {
    /// Numeric Google category id.
    pub id: u32,
    /// Full path text, segments joined by `" > "`.
    pub path: String,
    /// Whether another category lies below this one.
    pub has_children: bool,
}

impl GoogleCategory {
    /// The last path segment, e.g. `Dog Food`.
    pub fn leaf_name(&self) -> &str {
        self.path.rsplit(" > ").next().unwrap_or(&self.path)
    }

    /// Number of path segments.
    pub fn depth(&self) -> usize {
        self.path.split(" > ").count()
    }
}

/// Reads and parses the taxonomy file at `path`.
pub fn read_google_taxonomy(path: &Path) -> Result<Vec<GoogleCategory>, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_google_taxonomy(&text, path)
}

/// Parses taxonomy text with the model's parser (one reading of the format for all of Audex);
/// `path` is only used in error messages.
pub fn parse_google_taxonomy(text: &str, path: &Path) -> Result<Vec<GoogleCategory>, SimError> {
    let taxonomy = ProductTaxonomy::parse(text).map_err(|e| SimError::Taxonomy {
        path: path.to_path_buf(),
        line: e.line().unwrap_or(0),
        message: e.to_string(),
    })?;
    Ok(taxonomy
        .iter()
        .map(|c| GoogleCategory {
            id: c.id,
            path: c.path.clone(),
            has_children: taxonomy.children(c.id).next().is_some(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_marks_children() {
        let text = "# Google_Product_Taxonomy_Version: 2021-09-21\n1 - Animals & Pet Supplies\n\
                    2 - Animals & Pet Supplies > Pet Supplies\n3 - Animals & Pet Supplies > Pet Supplies > Bird Supplies\r\n\
                    3237 - Animals & Pet Supplies > Live Animals";
        let cats = parse_google_taxonomy(text, Path::new("x")).unwrap();
        assert_eq!(cats.len(), 4);
        assert!(cats[0].has_children);
        assert!(cats[1].has_children);
        assert!(!cats[2].has_children);
        assert!(!cats[3].has_children);
        assert_eq!(cats[2].leaf_name(), "Bird Supplies");
        assert_eq!(cats[2].depth(), 3);
    }

    #[test]
    fn reports_line_numbers() {
        let err =
            parse_google_taxonomy("# h\n1 - A\nnonsense\n", Path::new("tax.txt")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("tax.txt") && msg.contains(":3"), "{msg}");
    }
}
