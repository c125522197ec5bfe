//! Property tests: normalisation is idempotent, prices and CSV fields survive a write/read
//! round trip, and tiers are monotone in price.

use audex_model::catalog::{Catalog, DelimitedReader, Delimiter, PriceTier, Product, parse_price};
use audex_model::normalize::{
    PhoneFormat, Platform, normalize_email, normalize_hashed, normalize_phone,
    normalize_phone_with, sha256_base64, sha256_hex,
};
use audex_model::taxonomy::ProductTaxonomy;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A normalised email normalises to itself, under every platform's rules.
    #[test]
    fn email_normalisation_is_idempotent(
        local in "[A-Za-z0-9._+ -]{0,12}",
        domain in prop::sample::select(vec!["gmail.com", "GoogleMail.com", "example.com", "ex-ample.co.uk", "x"]),
    ) {
        let raw = format!("{local}@{domain}");
        if let Some(n) = normalize_email(&raw) {
            prop_assert_eq!(normalize_email(&n), Some(n.clone()));
        }
        for p in Platform::ALL {
            if let Some(n) = p.normalize_email(&raw) {
                prop_assert_eq!(p.normalize_email(&n), Some(n.clone()), "{:?}", p);
            }
        }
    }

    /// An E.164 result normalises to itself without a default country, and the digits-only
    /// form is the same number without `+`.
    #[test]
    fn phone_normalisation_is_idempotent(
        raw in "[+]?[0-9 ().-]{0,20}",
        cc in prop::sample::select(vec![None, Some("1"), Some("44"), Some("91"), Some("374")]),
    ) {
        if let Some(n) = normalize_phone(&raw, cc) {
            prop_assert!(n.starts_with('+'));
            prop_assert!((9..=16).contains(&n.len()));
            prop_assert_eq!(normalize_phone(&n, None), Some(n.clone()));
            prop_assert_eq!(
                normalize_phone_with(&raw, cc, PhoneFormat::DigitsOnly),
                Some(n[1..].to_owned())
            );
        }
    }

    /// Both digest encodings come back to the same canonical hex.
    #[test]
    fn hashed_forms_agree(s in ".{0,40}") {
        let hex = sha256_hex(&s);
        prop_assert_eq!(normalize_hashed(&sha256_base64(&s)), Some(hex.clone()));
        prop_assert_eq!(normalize_hashed(&hex.to_uppercase()), Some(hex));
    }

    /// Amounts written in the usual spellings parse back to the same value.
    #[test]
    fn prices_round_trip(cents in 0u64..100_000_000_000) {
        let amount = cents as f64 / 100.0;
        let int = cents / 100;
        let frac = cents % 100;
        let grouped = |sep: &str| {
            let digits = int.to_string();
            let mut out = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push_str(sep);
                }
                out.push(ch);
            }
            out
        };
        for text in [
            format!("{int}.{frac:02} USD"),
            format!("USD {int}.{frac:02}"),
            format!("{int}.{frac:02}"),
            format!("{},{frac:02} EUR", grouped(".")),
            format!("{}.{frac:02}", grouped(",")),
            format!("{} {frac:02} €", grouped(" ")).replacen(&format!(" {frac:02} €"), &format!(",{frac:02} €"), 1),
        ] {
            let p = parse_price(&text);
            prop_assert!(p.is_ok(), "{:?}: {:?}", text, p);
            let got = p.map(|p| p.amount).unwrap_or(f64::NAN);
            prop_assert!((got - amount).abs() < 1e-6, "{:?} → {}", text, got);
        }
    }

    /// Any fields, quoted per RFC 4180, read back unchanged (CSV and TSV).
    #[test]
    fn delimited_fields_round_trip(rows in prop::collection::vec(prop::collection::vec("[a-z ,;\t\"\n'é]{0,8}", 1..5), 1..6)) {
        for delim in [Delimiter::Comma, Delimiter::Tab, Delimiter::Semicolon] {
            let d = delim.as_char();
            let mut text = String::new();
            for row in &rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|f| {
                        if f.contains([d, '"', '\n']) || f.starts_with(' ') {
                            format!("\"{}\"", f.replace('"', "\"\""))
                        } else {
                            f.clone()
                        }
                    })
                    .collect();
                text.push_str(&cells.join(&d.to_string()));
                text.push('\n');
            }
            let mut r = DelimitedReader::new(text.as_bytes(), Some(delim));
            let mut back = Vec::new();
            while let Ok(Some(rec)) = r.next_record() {
                back.push(rec.fields);
            }
            prop_assert_eq!(&back, &rows, "{:?}", text);
        }
    }

    /// A dearer product is never in a lower tier than a cheaper one of the same category.
    #[test]
    fn tiers_are_monotone(prices in prop::collection::vec(0.0f64..1000.0, 0..40), probe in prop::collection::vec(0.0f64..1000.0, 2..10)) {
        let taxonomy = ProductTaxonomy::parse("1 - A\n2 - A > B\n3 - C").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut c: Catalog = prices
            .iter()
            .enumerate()
            .map(|(i, &p)| Product {
                id: i.to_string(),
                title: String::new(),
                brand: None,
                price: Some(p),
                currency: None,
                product_type: None,
                category: Some(if i % 2 == 0 { 2 } else { 3 }),
            })
            .collect();
        c.rebuild_tiers(&taxonomy);
        let mut probe = probe;
        probe.sort_by(f64::total_cmp);
        for cat in [1, 2, 3, 99] {
            let tiers: Vec<PriceTier> = probe.iter().map(|&p| c.price_tier(cat, p)).collect();
            prop_assert!(tiers.windows(2).all(|w| w[0] <= w[1]), "{:?}", tiers);
        }
    }
}
