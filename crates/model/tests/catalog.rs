//! Product feed import (TSV and CSV variants of one fixture) and price tiers.

use audex_model::catalog::{
    Catalog, CatalogError, Delimiter, FeedParse, MIN_PRICED_FOR_TIERS, PriceTier, Product,
    RowError, parse_feed,
};
use audex_model::taxonomy::ProductTaxonomy;

const FEED_TSV: &str = include_str!("fixtures/feed.tsv");
const FEED_CSV: &str = include_str!("fixtures/feed.csv");
const MINI_TAXONOMY: &str = include_str!("fixtures/mini_taxonomy.txt");

fn taxonomy() -> ProductTaxonomy {
    ProductTaxonomy::parse(MINI_TAXONOMY).unwrap_or_else(|e| panic!("mini taxonomy: {e}"))
}

fn parse(text: &str, taxonomy: Option<&ProductTaxonomy>) -> FeedParse {
    parse_feed(text.as_bytes(), taxonomy).unwrap_or_else(|e| panic!("feed: {e}"))
}

fn find<'a>(feed: &'a FeedParse, id: &str) -> &'a Product {
    feed.products
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("{id} not imported"))
}

fn lines(errors: &[RowError]) -> Vec<(usize, Option<&str>)> {
    errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect()
}

/// Both variants of the fixture give the same products, rejections and warnings.
#[test]
fn tsv_and_csv_fixtures_parse_alike() {
    let t = taxonomy();
    let tsv = parse(FEED_TSV, Some(&t));
    let csv = parse(FEED_CSV, Some(&t));
    assert_eq!(tsv.delimiter, Delimiter::Tab);
    assert_eq!(csv.delimiter, Delimiter::Comma);
    for feed in [&tsv, &csv] {
        let ids: Vec<&str> = feed.products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "SKU-001", "SKU-002", "SKU-003", "SKU-004", "SKU-005", "SKU-006", "SKU-007",
                "SKU-008", "SKU-009", "SKU-010", "SKU-011", "SKU-013", "SKU-014", "SKU-015",
                "SKU-017", "SKU-018"
            ]
        );
        assert_eq!(
            lines(&feed.rejected),
            [
                (13, Some("price")),
                (14, Some("id")),
                (18, Some("id")),
                (21, Some("price")),
                (24, None)
            ],
            "{:#?}",
            feed.rejected
        );
        assert!(
            feed.rejected[2].message.contains("first on line 2"),
            "{}",
            feed.rejected[2]
        );
        assert!(
            feed.rejected[4].message.contains("8 fields"),
            "{}",
            feed.rejected[4]
        );
        assert_eq!(
            lines(&feed.warnings),
            [
                (15, Some("google_product_category")),
                (23, Some("google_product_category"))
            ]
        );
    }
    // Apart from the one deliberately different title (TSV keeps "Mug" in one cell; in the
    // CSV an unquoted comma splits it), the products are identical.
    assert_eq!(tsv.products, csv.products);
}

#[test]
fn fields_are_read_as_merchant_center_means_them() {
    let t = taxonomy();
    let feed = parse(FEED_CSV, Some(&t));
    let p1 = find(&feed, "SKU-001");
    assert_eq!(
        p1,
        &Product {
            id: "SKU-001".into(),
            title: "Trail Runner 3000".into(),
            brand: Some("Stride".into()),
            price: Some(89.99),
            currency: Some("USD".into()),
            product_type: Some("Shoes > Running".into()),
            category: Some(11),
        },
        "the first row wins over the later duplicate"
    );
    assert_eq!(find(&feed, "SKU-002").price, Some(59.0));
    assert_eq!(
        find(&feed, "SKU-002").category,
        Some(11),
        "category by path"
    );
    assert_eq!(find(&feed, "SKU-004").price, Some(1234.5), "decimal comma");
    assert_eq!(find(&feed, "SKU-004").currency.as_deref(), Some("EUR"));
    assert_eq!(find(&feed, "SKU-005").price, Some(49.95));
    assert_eq!(
        find(&feed, "SKU-005").category,
        Some(12),
        "path, any case and spacing"
    );
    assert_eq!(find(&feed, "SKU-006").currency, None, "no currency stated");
    assert_eq!(find(&feed, "SKU-007").title, "Evening Dress, \"Noir\"");
    assert_eq!(find(&feed, "SKU-008").title, "Chef's Knife 8\"");
    assert_eq!(
        find(&feed, "SKU-011").price,
        Some(1049.0),
        "thousands comma"
    );
    assert_eq!(
        find(&feed, "SKU-013").category,
        None,
        "unknown path: warning, no category"
    );
    assert_eq!(find(&feed, "SKU-015").title, "Floor Lamp\nwith dimmer");
    assert_eq!(find(&feed, "SKU-017").price, None);
    assert_eq!(find(&feed, "SKU-017").category, Some(40));
    assert_eq!(find(&feed, "SKU-018").category, None, "unknown id: warning");
    assert_eq!(find(&feed, "SKU-018").product_type, None);
}

#[test]
fn without_a_taxonomy_numeric_categories_still_import() {
    let feed = parse(FEED_TSV, None);
    assert_eq!(find(&feed, "SKU-001").category, Some(11));
    assert_eq!(
        find(&feed, "SKU-018").category,
        Some(999_999),
        "not checked without taxonomy"
    );
    assert_eq!(
        find(&feed, "SKU-002").category,
        None,
        "a path needs the taxonomy"
    );
    assert!(
        feed.warnings
            .iter()
            .any(|w| w.line == 3 && w.message.contains("taxonomy is needed"))
    );
}

#[test]
fn semicolon_csv_with_bom_and_crlf() {
    let text = "\u{feff}ID;Title;Price;google_product_category\r\nA1;\"Pan; large\";\"1.049,00 EUR\";31\r\nA2;Pot;12,50 EUR;Home > Kitchen > Cookware\r\n";
    let feed = parse(text, Some(&taxonomy()));
    assert_eq!(feed.delimiter, Delimiter::Semicolon);
    assert!(feed.rejected.is_empty(), "{:?}", feed.rejected);
    assert_eq!(find(&feed, "A1").title, "Pan; large");
    assert_eq!(find(&feed, "A1").price, Some(1049.0));
    assert_eq!(find(&feed, "A2").price, Some(12.5));
    assert_eq!(find(&feed, "A2").category, Some(31));
}

#[test]
fn header_problems_are_hard_errors() {
    assert!(matches!(
        parse_feed("title\tprice\nx\t1\n".as_bytes(), None),
        Err(CatalogError::MissingIdColumn { line: 1, .. })
    ));
    assert!(matches!(
        parse_feed("\n\nsku,title\n".as_bytes(), None),
        Err(CatalogError::MissingIdColumn { line: 3, .. })
    ));
    assert!(matches!(
        parse_feed("id,g:id\n1,2\n".as_bytes(), None),
        Err(CatalogError::DuplicateColumn { .. })
    ));
    assert!(matches!(
        parse_feed("".as_bytes(), None),
        Err(CatalogError::Empty)
    ));
    assert!(matches!(
        parse_feed(&b"\xFF\xFEi\0d\0"[..], None),
        Err(CatalogError::Utf16)
    ));
    // A header only: a valid, empty feed.
    let feed = parse("id\ttitle\n", None);
    assert!(feed.products.is_empty() && feed.rejected.is_empty());
}

#[test]
fn unterminated_quote_rejects_the_last_row_only() {
    let feed = parse("id,title\n1,ok\n2,\"never closed\n3,swallowed\n", None);
    assert_eq!(feed.products.len(), 1);
    assert_eq!(lines(&feed.rejected), [(3, None)]);
}

fn product(id: &str, category: Option<u32>, price: Option<f64>) -> Product {
    Product {
        id: id.into(),
        title: String::new(),
        brand: None,
        price,
        currency: Some("USD".into()),
        product_type: None,
        category,
    }
}

#[test]
fn tiers_are_terciles_of_the_category() {
    let t = taxonomy();
    // Running shoes (11) priced 10..=90; knives (32) priced 1..=9.
    let mut c: Catalog = (1..=9)
        .map(|i| product(&format!("run-{i}"), Some(11), Some(f64::from(i) * 10.0)))
        .chain((1..=9).map(|i| product(&format!("knife-{i}"), Some(32), Some(f64::from(i)))))
        .collect();
    c.rebuild_tiers(&t);
    use PriceTier::*;
    let tiers: Vec<PriceTier> = (1..=9)
        .map(|i| c.price_tier(11, f64::from(i) * 10.0))
        .collect();
    assert_eq!(
        tiers,
        [Low, Low, Low, Medium, Medium, Medium, High, High, High]
    );
    // The same price is high for a knife and low for a running shoe.
    assert_eq!(c.price_tier(32, 9.0), High);
    assert_eq!(c.price_tier(11, 9.0), Low);
    assert_eq!(c.tier_bounds(11).and_then(|b| b.category), Some(11));
    assert_eq!(c.tier_bounds(11).map(|b| b.priced), Some(9));
    assert_eq!(c.product_price_tier("run-9"), Some(High));
    assert_eq!(c.product_price_tier("knife-1"), Some(Low));
    assert_eq!(c.product_price_tier("nope"), None);
}

#[test]
fn tiers_fall_back_to_the_nearest_ancestor_then_the_catalog() {
    let t = taxonomy();
    let mut c = Catalog::new();
    // Boots (12): 2 priced products; running shoes (11): 4. Neither reaches 5 alone, but the
    // Shoes subtree (10) has 6.
    for (i, p) in [100.0, 300.0].iter().enumerate() {
        c.upsert(product(&format!("boot-{i}"), Some(12), Some(*p)));
    }
    for (i, p) in [50.0, 60.0, 70.0, 80.0].iter().enumerate() {
        c.upsert(product(&format!("run-{i}"), Some(11), Some(*p)));
    }
    // Dresses (21): 3 priced, and Clothing (20) has no others; Apparel (1), with the shoes,
    // has 9, so dresses borrow Apparel's distribution.
    for (i, p) in [20.0, 30.0, 40.0].iter().enumerate() {
        c.upsert(product(&format!("dress-{i}"), Some(21), Some(*p)));
    }
    // Knives (32): 2 priced, and nothing else under Home: they fall back to the catalog.
    c.upsert(product("knife-0", Some(32), Some(5.0)));
    c.upsert(product("knife-1", Some(32), Some(15.0)));
    c.upsert(product("no-price", Some(32), None));
    c.upsert(product("no-category", None, Some(1000.0)));
    c.rebuild_tiers(&t);

    assert_eq!(
        c.tier_bounds(12).and_then(|b| b.category),
        Some(10),
        "boots → shoes"
    );
    assert_eq!(
        c.tier_bounds(11).and_then(|b| b.category),
        Some(10),
        "running → shoes"
    );
    assert_eq!(c.tier_bounds(10).map(|b| b.priced), Some(6));
    assert_eq!(
        c.tier_bounds(21).and_then(|b| b.category),
        Some(1),
        "dresses → apparel"
    );
    assert_eq!(c.tier_bounds(1).map(|b| b.priced), Some(9));
    assert_eq!(
        c.tier_bounds(32).and_then(|b| b.category),
        None,
        "knives → whole catalog"
    );
    assert_eq!(c.tier_bounds(32).map(|b| b.priced), Some(12));
    assert_eq!(
        c.tier_bounds(12345).and_then(|b| b.category),
        None,
        "unknown category"
    );
    assert_eq!(
        c.tier_bounds(10)
            .map(|b| b.priced as usize >= MIN_PRICED_FOR_TIERS),
        Some(true)
    );

    // Shoes: [50, 60, 70, 80, 100, 300] → terciles at 66.67 and 93.33.
    assert_eq!(c.price_tier(12, 55.0), PriceTier::Low);
    assert_eq!(c.price_tier(12, 75.0), PriceTier::Medium);
    assert_eq!(c.price_tier(12, 100.0), PriceTier::High);
    assert_eq!(c.product_price_tier("no-category"), Some(PriceTier::High));
    assert_eq!(c.product_price_tier("no-price"), None);
    assert_eq!(c.price_tier(12, f64::NAN), PriceTier::Medium);

    // A fifth priced running shoe gives running shoes their own bounds after a rebuild.
    c.upsert(product("run-4", Some(11), Some(90.0)));
    assert_eq!(
        c.tier_bounds(11).and_then(|b| b.category),
        Some(10),
        "stale until rebuilt"
    );
    c.rebuild_tiers(&t);
    assert_eq!(c.tier_bounds(11).and_then(|b| b.category), Some(11));
}

#[test]
fn flat_tiers_without_a_taxonomy() {
    // Category 11 has 5 priced products, 12 has 2 (falls back to the whole catalog: no tree).
    let mut c: Catalog = [10.0, 20.0, 30.0, 40.0, 50.0]
        .iter()
        .enumerate()
        .map(|(i, &p)| product(&format!("r{i}"), Some(11), Some(p)))
        .chain([
            product("b0", Some(12), Some(500.0)),
            product("b1", Some(12), Some(900.0)),
        ])
        .collect();
    c.rebuild_tiers_flat();
    assert_eq!(c.tier_bounds(11).and_then(|b| b.category), Some(11));
    assert_eq!(c.tier_bounds(12).and_then(|b| b.category), None);
    assert_eq!(c.price_tier(11, 45.0), PriceTier::High);
    assert_eq!(
        c.price_tier(12, 45.0),
        PriceTier::Medium,
        "catalog terciles of [10, 20, 30, 40, 50, 500, 900] are 30 and 50"
    );
    assert_eq!(c.price_tier(12, 25.0), PriceTier::Low);
    assert_eq!(c.product_price_tier("b1"), Some(PriceTier::High));
}

#[test]
fn empty_catalog_is_all_medium() {
    let mut c = Catalog::new();
    assert_eq!(c.price_tier(11, 10.0), PriceTier::Medium);
    c.rebuild_tiers(&taxonomy());
    assert_eq!(c.price_tier(11, 10.0), PriceTier::Medium);
    assert!(c.tier_bounds(11).is_none());
}

#[test]
fn upsert_keeps_indices_and_snapshot_round_trips() {
    let t = taxonomy();
    let feed = parse(FEED_TSV, Some(&t));
    let mut c: Catalog = feed.products.into_iter().collect();
    c.rebuild_tiers(&t);
    let n = c.len();
    let i = c.index_of("SKU-004");
    let mut boot = c
        .get("SKU-004")
        .cloned()
        .unwrap_or_else(|| panic!("SKU-004"));
    boot.price = Some(10.0);
    assert_eq!(Some(c.upsert(boot)), i, "replaced in place");
    assert_eq!(c.len(), n);
    assert_eq!(
        i.and_then(|i| c.by_index(i)).and_then(|p| p.price),
        Some(10.0)
    );
    assert_eq!(c.upsert(product("NEW", None, None)), n as u32);

    let json = serde_json::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !json.contains("\"index\""),
        "the id index is not serialised"
    );
    let back: Catalog = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, c);
    assert_eq!(
        back.get("SKU-010").map(|p| p.title.as_str()),
        Some("Stock Pot")
    );
    assert_eq!(back.price_tier(31, 1e6), c.price_tier(31, 1e6));
    assert_eq!(
        serde_json::to_string(&PriceTier::High).ok().as_deref(),
        Some("\"high\"")
    );

    // A snapshot with a duplicated id is refused rather than silently indexed.
    let dup = json.replacen("\"SKU-002\"", "\"SKU-001\"", 1);
    assert!(serde_json::from_str::<Catalog>(&dup).is_err());
}

/// With Google's real taxonomy (when present): numeric ids and full paths both resolve.
#[test]
fn real_google_taxonomy_resolves_feed_categories() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("skipping: Google Product Taxonomy not found at {path}");
        return;
    };
    let t = ProductTaxonomy::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let feed = parse(
        "id\tgoogle_product_category\n\
         a\t187\n\
         b\tApparel & Accessories > Shoes\n\
         c\t187 - Apparel & Accessories > Shoes\n\
         d\tApparel & Accessories > Sneakers\n",
        Some(&t),
    );
    let cats: Vec<Option<u32>> = feed.products.iter().map(|p| p.category).collect();
    assert_eq!(cats, [Some(187), Some(187), Some(187), None]);
    assert_eq!(
        lines(&feed.warnings),
        [(5, Some("google_product_category"))]
    );
}
