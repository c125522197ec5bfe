//! Every published normalisation/hash vector (copied from
//! `shared/data/identity-normalization/hashing_test_vectors.tsv`, see SOURCES.md §7) is checked
//! under the rules of the platform that published it.

use audex_model::normalize::{
    HashEncoding, Platform, normalize_device_id, normalize_email, normalize_handle,
    normalize_hashed, normalize_name, normalize_phone, sha256_base64, sha256_encoded, sha256_hex,
};

const VECTORS: &str = include_str!("fixtures/hashing_test_vectors.tsv");

struct Vector<'a> {
    line: usize,
    platform: &'a str,
    id_type: &'a str,
    raw: &'a str,
    normalized: &'a str,
    hex: &'a str,
    base64: &'a str,
    notes: &'a str,
}

fn vectors() -> Vec<Vector<'static>> {
    let mut lines = VECTORS.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split('\t').collect())
        .unwrap_or_default();
    assert_eq!(
        header[..6],
        [
            "platform",
            "id_type",
            "raw_input",
            "normalized",
            "sha256_hex_of_normalized",
            "sha256_base64_of_normalized"
        ]
    );
    lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let c: Vec<&str> = l.split('\t').collect();
            assert!(c.len() >= 8, "line {}: {} columns", i + 1, c.len());
            Vector {
                line: i + 1,
                platform: c[0],
                id_type: c[1],
                raw: c[2],
                normalized: c[3],
                hex: c[4],
                base64: c[5],
                notes: c[7],
            }
        })
        .collect()
}

/// The country a phone vector's raw input is written for, which the published example states
/// in prose: an `[City, CC]` annotation, the TikTok Armenian example, otherwise the US.
/// Returns the input with the annotation removed and the default country calling code.
fn phone_context(raw: &str) -> (&str, Option<&'static str>) {
    if let Some((number, note)) = raw.split_once('[') {
        let cc = if note.contains("AU") {
            Some("61")
        } else {
            None
        };
        return (number.trim(), cc);
    }
    if raw.trim_start().starts_with('+') {
        return (raw, None);
    }
    if raw.starts_with("374-") {
        return (raw, Some("374"));
    }
    (raw, Some("1"))
}

fn normalize_vector(v: &Vector<'_>, platform: Platform) -> Option<String> {
    match v.id_type {
        "email" => platform.normalize_email(v.raw),
        "phone" => {
            let (raw, cc) = phone_context(v.raw);
            platform.normalize_phone(raw, cc)
        }
        "username" => normalize_handle(v.raw),
        "maid" => normalize_device_id(v.raw),
        "first_name" | "last_name" => normalize_name(v.raw),
        other => panic!("line {}: unknown id_type {other:?}", v.line),
    }
}

#[test]
fn every_vector_normalises_and_hashes_as_published() {
    let all = vectors();
    assert_eq!(all.len(), 27, "SOURCES.md §7 documents 27 vectors");
    let mut checked = 0;
    for v in &all {
        let platform = Platform::from_name(v.platform)
            .unwrap_or_else(|| panic!("line {}: unknown platform {:?}", v.line, v.platform));
        if v.notes.starts_with("NEGATIVE") {
            continue;
        }
        let got = normalize_vector(v, platform);
        assert_eq!(
            got.as_deref(),
            Some(v.normalized),
            "line {} ({} {} {:?})",
            v.line,
            v.platform,
            v.id_type,
            v.raw
        );
        assert_eq!(
            sha256_hex(v.normalized),
            v.hex,
            "line {}: hex digest",
            v.line
        );
        assert_eq!(
            sha256_base64(v.normalized),
            v.base64,
            "line {}: base64 digest",
            v.line
        );
        let published = match platform.hash_encoding() {
            HashEncoding::Hex => v.hex,
            HashEncoding::Base64 => v.base64,
        };
        assert_eq!(platform.hash(v.normalized), published, "line {}", v.line);
        // Both encodings of the digest come back to the canonical hex form.
        assert_eq!(
            normalize_hashed(v.base64).as_deref(),
            Some(v.hex),
            "line {}",
            v.line
        );
        assert_eq!(
            normalize_hashed(&v.hex.to_ascii_uppercase()).as_deref(),
            Some(v.hex),
            "line {}",
            v.line
        );
        checked += 1;
    }
    assert_eq!(checked, 26);
}

/// UID2's "forgot to normalise" example: the hash of the raw string is what must NOT come out.
#[test]
fn negative_vector_is_not_reproduced() {
    let all = vectors();
    let negatives: Vec<&Vector<'_>> = all
        .iter()
        .filter(|v| v.notes.starts_with("NEGATIVE"))
        .collect();
    assert_eq!(negatives.len(), 1);
    for v in negatives {
        let platform = Platform::from_name(v.platform).unwrap_or_default();
        let got = normalize_vector(v, platform).unwrap_or_default();
        assert_ne!(got, v.normalized);
        assert_eq!(
            got, "janesaoirse@gmail.com",
            "the note names the correct form"
        );
        assert_ne!(sha256_hex(&got), v.hex);
        assert_ne!(sha256_encoded(&got, HashEncoding::Base64), v.base64);
    }
}

/// Audex's own identity rules (the free functions) agree with every email and E.164 phone
/// vector of the platforms that share them (UID2 and the two Google APIs).
#[test]
fn identity_rules_match_uid2_and_google_vectors() {
    for v in vectors() {
        let shared = matches!(
            v.platform,
            "UID2" | "Google Ads API" | "Google Data Manager API"
        );
        if !shared || v.notes.starts_with("NEGATIVE") {
            continue;
        }
        let got = match v.id_type {
            "email" => normalize_email(v.raw),
            "phone" => {
                let (raw, cc) = phone_context(v.raw);
                normalize_phone(raw, cc)
            }
            _ => continue,
        };
        assert_eq!(got.as_deref(), Some(v.normalized), "line {}", v.line);
    }
}

/// Where platforms disagree, each platform's form is produced under its own rules.
#[test]
fn conflicting_platform_rules_are_each_honoured() {
    // Phone: E.164 with `+` (UID2, Google) versus bare digits (Snap, Meta, TikTok).
    let raw = "+44 844 412 4653";
    assert_eq!(
        Platform::Uid2.normalize_phone(raw, None).as_deref(),
        Some("+448444124653")
    );
    assert_eq!(
        Platform::Snap.normalize_phone(raw, None).as_deref(),
        Some("448444124653")
    );
    assert_eq!(
        Platform::Meta.normalize_phone(raw, None).as_deref(),
        Some("448444124653")
    );
    // Email: Gmail dots and +suffix per platform.
    let raw = "Cloudy.SanFrancisco+Shopping@googlemail.com";
    let expect = [
        (
            Platform::Uid2,
            "cloudy.sanfrancisco+shopping@googlemail.com",
        ),
        (
            Platform::GoogleAds,
            "cloudysanfrancisco+shopping@googlemail.com",
        ),
        (
            Platform::GoogleDataManager,
            "cloudysanfrancisco@googlemail.com",
        ),
        (
            Platform::Meta,
            "cloudy.sanfrancisco+shopping@googlemail.com",
        ),
        (Platform::TikTok, "cloudy.sanfrancisco@googlemail.com"),
    ];
    for (p, want) in expect {
        assert_eq!(p.normalize_email(raw).as_deref(), Some(want), "{p:?}");
    }
    assert_eq!(
        normalize_email(raw).as_deref(),
        Some("cloudysanfrancisco@gmail.com")
    );
    // Hash encoding: UID2 Base64, everyone else hex.
    assert_eq!(
        Platform::Uid2.hash("user@example.com"),
        "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="
    );
    assert_eq!(
        Platform::GoogleAds.hash("user@example.com"),
        "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"
    );
}
