//! `audex geoip` through the real binary: a City database installs and answers lookups, an
//! import locates people by IP with it, and a broken or wrong database, a bad address or a
//! missing database is a clear error with exit code 2 that installs nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{audex, ok_json};
use serde_json::Value;

fn test_db(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../geoip/tests/data")
        .join(name)
}

fn fails_with(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

#[test]
fn install_lookup_import_and_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    fails_with(
        &audex(&data, &["geoip", "lookup", "81.2.69.142"]),
        "no GeoIP database installed",
    );
    for bad in [
        "libmaxminddb-corrupt-search-tree.mmdb",
        "GeoLite2-ASN-Test.mmdb",
    ] {
        let path = test_db(bad);
        let out = audex(&data, &["geoip", "install", path.to_str().expect("utf-8")]);
        fails_with(&out, bad);
    }
    assert_eq!(
        ok_json(&audex(&data, &["geoip", "list", "--json"])),
        Value::Array(vec![]),
        "nothing installed by the failures"
    );
    let city = test_db("GeoLite2-City-Test.mmdb");
    let installed = ok_json(&audex(
        &data,
        &["geoip", "install", city.to_str().expect("utf-8"), "--json"],
    ));
    assert_eq!(installed["database_type"], "GeoLite2-City");
    let list = ok_json(&audex(&data, &["geoip", "list", "--json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    let p = ok_json(&audex(
        &data,
        &["geoip", "lookup", "89.160.20.115", "--json"],
    ));
    assert_eq!(p["city"], "Linköping");
    assert_eq!(p["country"], "SE");
    assert_eq!(p["location"], serde_json::json!([58.4167, 15.6167]));
    fails_with(
        &audex(&data, &["geoip", "lookup", "300.1.1.1"]),
        "is not an IP address",
    );

    // An import after the install locates a web visitor by IP.
    let events = dir.path().join("events.ndjson");
    std::fs::write(
        &events,
        r#"{"type":"page","userId":"sven","messageId":"g1","timestamp":"2026-11-20T10:00:00Z","context":{"ip":"89.160.20.115"}}
"#,
    )
    .expect("write events");
    let out = audex(&data, &["import", events.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let out = audex(&data, &["people", "show", "sven", "--json"]);
    let person = ok_json(&out);
    assert_eq!(person["location"]["source"], "ip", "{person}");
    assert_eq!(person["location"]["lat"], 58.4167, "{person}");
    assert_eq!(person["country"], "SE", "{person}");
}
