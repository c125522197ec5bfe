//! The bad-input table: malformed events are refused with a message naming the field, while the
//! valid events of the same batch are accepted and stored.

use std::io::Cursor;

use audex_engine::import::{Format, ImportOptions, import_reader};
use audex_engine::{Engine, EngineOptions};

/// (event JSON, the field the refusal must name)
const BAD: &[(&str, &str)] = &[
    (r#"{"type":"track","event":"X"}"#, "/userId"),
    (r#"{"type":"track","event":"X","userId":""}"#, "/userId"),
    (
        r#"{"type":"track","event":"X","userId":{"a":1}}"#,
        "/userId",
    ),
    (
        r#"{"type":"track","event":"X","anonymousId":[1]}"#,
        "/anonymousId",
    ),
    (r#"{"type":"track","userId":"u"}"#, "/event"),
    (r#"{"type":"track","event":"","userId":"u"}"#, "/event"),
    (r#"{"type":"track","event":42,"userId":"u"}"#, "/event"),
    (r#"{"event":"X","userId":"u"}"#, "/type"),
    (r#"{"type":"purchase","event":"X","userId":"u"}"#, "/type"),
    (r#"{"type":7,"userId":"u"}"#, "/type"),
    (
        r#"{"type":"track","event":"X","userId":"u","timestamp":"yesterday"}"#,
        "/timestamp",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2025-13-45T00:00:00Z"}"#,
        "/timestamp",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","timestamp":1700000000}"#,
        "/timestamp",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","timestamp":"2999-01-01T00:00:00Z"}"#,
        "/timestamp",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","originalTimestamp":"not a time"}"#,
        "/originalTimestamp",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","sentAt":"soon"}"#,
        "/sentAt",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","properties":"oops"}"#,
        "/properties",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","properties":[1,2]}"#,
        "/properties",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":"vip"}"#,
        "/traits",
    ),
    (
        r#"{"type":"track","event":"X","userId":"u","context":5}"#,
        "/context",
    ),
    (
        r#"{"type":"track","event":"Product Viewed","userId":"u","properties":{"price":-3}}"#,
        "/properties/price",
    ),
    (
        r#"{"type":"track","event":"Product Viewed","userId":"u","properties":{"price":"cheap"}}"#,
        "/properties/price",
    ),
    (
        r#"{"type":"track","event":"Product Added","userId":"u","properties":{"quantity":-1}}"#,
        "/properties/quantity",
    ),
    (
        r#"{"type":"track","event":"Order Completed","userId":"u","properties":{"revenue":-10}}"#,
        "/properties/revenue",
    ),
    (
        r#"{"type":"track","event":"Order Completed","userId":"u","properties":{"total":"lots"}}"#,
        "/properties/total",
    ),
    (
        r#"{"type":"track","event":"Order Completed","userId":"u","properties":{"products":{"a":1}}}"#,
        "/properties/products",
    ),
    (
        r#"{"type":"track","event":"Order Completed","userId":"u","properties":{"products":[{"price":-1}]}}"#,
        "/properties/products/0/price",
    ),
    (
        r#"{"type":"track","event":"Order Completed","userId":"u","properties":{"products":["p1"]}}"#,
        "/properties/products/0",
    ),
    (
        r#"{"type":"track","event":"Ad Impression","userId":"u","properties":{"cost":-0.01}}"#,
        "/properties/cost",
    ),
    (
        r#"{"type":"track","event":"Ad Clicked","userId":"u","properties":{"campaign_id":{"x":1}}}"#,
        "/properties/campaign_id",
    ),
    (
        r#"{"type":"page","userId":"u","context":{"location":{"latitude":91,"longitude":0}}}"#,
        "/context/location/latitude",
    ),
    (
        r#"{"type":"page","userId":"u","context":{"location":{"latitude":10,"longitude":-181}}}"#,
        "/context/location/longitude",
    ),
    (
        r#"{"type":"page","userId":"u","context":{"location":{"latitude":10}}}"#,
        "/context/location/longitude",
    ),
    (
        r#"{"type":"page","userId":"u","context":{"ip":"999.1.1.1"}}"#,
        "/context/ip",
    ),
    (r#"{"type":"page","userId":"u","name":{"n":1}}"#, "/name"),
    (
        r#"{"type":"identify","userId":"u","traits":{"email":"not-an-email"}}"#,
        "/traits/email",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"birthday":"31/12/1990"}}"#,
        "/traits/birthday",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"age":-4}}"#,
        "/traits/age",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"age":"old"}}"#,
        "/traits/age",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"income":"rich-ish"}}"#,
        "/traits/income",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"gender":1}}"#,
        "/traits/gender",
    ),
    (
        r#"{"type":"identify","userId":"u","traits":{"email_sha256":"abc"}}"#,
        "/traits/email_sha256",
    ),
    (r#"{"type":"alias","userId":"u"}"#, "/previousId"),
    (
        r#"{"type":"track","event":"X","userId":"u","messageId":{"id":1}}"#,
        "/messageId",
    ),
    (
        r#"{"type":"page","userId":"u","context":{"device":{"advertisingId":7}}}"#,
        "/context/device/advertisingId",
    ),
    (
        r#"{"type":"track","event":"Publisher Page Viewed","userId":"u","properties":{"categories":{"a":1}}}"#,
        "/properties/categories",
    ),
    (r#"[1,2,3]"#, "/"),
    (r#"{"type":"track","event":"X","userId":"u""#, "/"),
    (r#"{"batch":"nope"}"#, "/batch"),
];

#[test]
fn every_bad_event_is_refused_naming_its_field_and_valid_neighbours_are_kept() {
    assert!(BAD.len() >= 30);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    // Interleave: valid, bad, valid, bad, …
    let mut input = String::new();
    for (i, (bad, _)) in BAD.iter().enumerate() {
        input.push_str(&format!(
            r#"{{"type":"track","event":"Good","userId":"g{i}","messageId":"good-{i}","timestamp":"2026-11-01T10:00:00Z"}}"#
        ));
        input.push('\n');
        input.push_str(bad);
        input.push('\n');
    }
    let report = import_reader(
        &adv,
        Box::new(Cursor::new(input.into_bytes())),
        "table",
        Format::Ndjson,
        &ImportOptions {
            chunk_lines: 7,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        report.accepted,
        BAD.len() as u64,
        "every valid event accepted"
    );
    assert_eq!(report.rejected.total, BAD.len() as u64);
    for (i, (bad, field)) in BAD.iter().enumerate() {
        let line = (2 * i + 2) as u64;
        let r = report
            .rejected
            .kept
            .iter()
            .find(|r| r.line == line)
            .unwrap_or_else(|| panic!("line {line} ({bad}) was not refused"));
        assert_eq!(
            &r.field, field,
            "line {line}: {bad} → {}: {}",
            r.field, r.message
        );
        assert!(!r.message.is_empty());
    }
    // The valid events are durable: reopening the data directory finds them all.
    drop(adv);
    drop(engine);
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    assert_eq!(adv.state().unwrap().events, BAD.len() as u64);
    assert_eq!(adv.state().unwrap().profiles.people(), BAD.len());
}
