//! Privacy deletion: a deleted person leaves lookups, audiences and exports at once, stays
//! deleted across restarts, and erasing the log removes their events while everyone else keeps
//! their id, profile and membership.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use audex_engine::audiences;
use audex_engine::ingest::{Enrichment, InputLine, parse_one};
use audex_engine::{Advertiser, Engine, EngineOptions};
use proptest::prelude::*;
use serde_json::Value;

const NOW: i64 = 1_796_000_000_000; // 2026-11-29
const DAY: i64 = 86_400_000;

fn open(dir: &std::path::Path) -> (Engine, Arc<Advertiser>) {
    let engine = Engine::open(dir, EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    (engine, adv)
}

fn ingest(adv: &Advertiser, lines: &[String]) {
    let parsed = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            parse_one(
                &InputLine {
                    line: i as u64 + 1,
                    bytes: l.as_bytes().to_vec(),
                },
                NOW,
                &Enrichment::default(),
            )
        })
        .map(|r| r.unwrap())
        .collect();
    adv.ingest(parsed).unwrap();
}

fn event(id: &str, who: &str, name: &str, days_ago: i64) -> String {
    let ts = chrono::DateTime::from_timestamp_millis(NOW - days_ago * DAY)
        .unwrap()
        .to_rfc3339();
    format!(
        r#"{{"messageId":"{id}",{who},"type":"track","event":"{name}","timestamp":"{ts}","properties":{{"product_id":"p-{id}","price":20}}}}"#
    )
}

/// Every live person's profile (identifiers sorted), by person id.
fn people(adv: &Advertiser) -> BTreeMap<u32, Value> {
    let state = adv.state().unwrap();
    let store = &state.profiles;
    (0..store.identity.len() as u32)
        .filter(|&p| store.identity.is_root(p))
        .map(|p| {
            let mut v = audex_engine::view::profile_json(store, p, NOW).unwrap();
            if let Some(ids) = v["identifiers"].as_array_mut() {
                ids.sort_by_key(|i| i.to_string());
            }
            (p, v)
        })
        .collect()
}

fn log_text(adv: &Advertiser) -> String {
    adv.read_log()
        .unwrap()
        .map(|r| String::from_utf8(r.unwrap().1.payload).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn message_ids<'a>(payloads: impl Iterator<Item = &'a [u8]>) -> BTreeSet<String> {
    payloads
        .filter_map(|p| serde_json::from_slice::<Value>(p).ok())
        .filter_map(|v| v["messageId"].as_str().map(str::to_owned))
        .collect()
}

fn save(adv: &Advertiser, name: &str, rule: &str) {
    let def = audiences::definition_from(name, Some(rule), None, None).unwrap();
    adv.create_audience(def).unwrap();
}

#[test]
fn a_deleted_person_leaves_audiences_and_exports_then_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, adv) = open(dir.path());
    save(&adv, "viewers", "product_viewed within 30d");
    save(&adv, "carters", "product_added within 30d");
    ingest(
        &adv,
        &[
            event("1", r#""anonymousId":"a1""#, "Product Viewed", 5),
            // identify with an email: the anonymous history joins the user
            r#"{"messageId":"2","type":"identify","userId":"alice","anonymousId":"a1","traits":{"email":"Alice@Example.com"},"timestamp":"2026-11-27T10:00:00Z"}"#.to_string(),
            event("3", r#""userId":"alice""#, "Product Added", 1),
            event("4", r#""anonymousId":"b1""#, "Product Viewed", 3),
            // carol and dave share a device; merge protection keeps them apart
            event(
                "5",
                r#""userId":"carol","anonymousId":"shared""#,
                "Product Viewed",
                4,
            ),
            event(
                "6",
                r#""userId":"dave","anonymousId":"shared""#,
                "Product Added",
                2,
            ),
        ],
    );
    adv.refresh_memberships(NOW, "time").unwrap();
    let sizes_before = adv.membership_sizes().unwrap();
    assert_eq!(adv.state().unwrap().profiles.people(), 4);

    let snapshot = adv.dir().join("snapshot.bin");
    adv.snapshot().unwrap();
    let has_alice = || {
        std::fs::read(&snapshot)
            .unwrap()
            .windows(5)
            .any(|w| w == b"alice")
    };
    assert!(has_alice());

    // Delete by email, as a privacy request usually arrives.
    let d = adv.delete_person("alice@example.com").unwrap().unwrap();
    assert_eq!(d.identifiers, 3, "userId, anonymousId and the email hash");
    assert_eq!(d.audiences_left.len(), 2);
    assert!(
        adv.delete_person("alice").unwrap().is_none(),
        "gone already"
    );
    assert!(adv.delete_person("nobody").unwrap().is_none());
    // The derived files are rewritten without her on request (batched: a snapshot holds ingest).
    assert!(adv.persist_deletions().unwrap());
    assert!(!adv.persist_deletions().unwrap(), "nothing new to write");
    assert!(!has_alice(), "her userId left the snapshot");
    {
        let st = adv.state().unwrap();
        for id in ["alice", "a1", "alice@example.com"] {
            assert!(audex_engine::view::find_person(&st.profiles, id).is_none());
        }
        assert_eq!(st.profiles.people(), 3);
    }
    let sizes: BTreeMap<_, _> = adv.membership_sizes().unwrap().into_iter().collect();
    for (id, before) in &sizes_before {
        assert_eq!(sizes[id], before - 1, "alice left {id}");
    }
    let exits: Vec<_> = adv
        .history(None)
        .unwrap()
        .into_iter()
        .filter(|t| t.cause == "deleted")
        .collect();
    assert_eq!(exits.len(), 2);
    assert!(exits.iter().all(|t| t.person == d.person && !t.entered));
    // Evaluation agrees with the streamed membership.
    let rule = adv
        .definitions()
        .unwrap()
        .audience("viewers")
        .unwrap()
        .id
        .clone();
    assert_eq!(sizes[&rule], 2);

    // Exports leave her out before the log is erased.
    let exported: Vec<Vec<u8>> = adv
        .export_records()
        .unwrap()
        .map(|r| r.unwrap().payload)
        .collect();
    assert!(
        exported
            .iter()
            .all(|p| !String::from_utf8_lossy(p).contains("alice"))
    );
    assert_eq!(
        message_ids(exported.iter().map(Vec::as_slice)),
        ["4", "5", "6"].map(String::from).into()
    );
    assert!(
        log_text(&adv).contains("alice"),
        "still in the log until erased"
    );

    // She comes back on the same device: a new person with nothing of the old one.
    ingest(
        &adv,
        &[event("7", r#""anonymousId":"a1""#, "Product Viewed", 0)],
    );
    let back = {
        let st = adv.state().unwrap();
        audex_engine::view::find_person(&st.profiles, "a1").unwrap()
    };
    assert!(back > d.person);
    assert_eq!(people(&adv)[&back]["events"], 1);

    // Carol too: dave's event carries the device they shared.
    adv.delete_person("carol").unwrap().unwrap();
    adv.refresh_memberships(NOW, "time").unwrap();
    let before = people(&adv);
    let sizes_before = adv.membership_sizes().unwrap();
    let exported_before = message_ids(
        adv.export_records()
            .unwrap()
            .map(|r| r.unwrap().payload)
            .collect::<Vec<_>>()
            .iter()
            .map(Vec::as_slice),
    );
    drop(adv);

    let report = engine
        .erase_deleted("default", &mut |_, _| {})
        .unwrap()
        .unwrap();
    assert_eq!(report.people, 2);
    assert_eq!(report.events_erased, 4, "alice's three, carol's one");
    assert_eq!(
        report.events_rewritten, 1,
        "dave's, without the shared device"
    );
    let adv = engine.advertiser("default").unwrap();
    let text = log_text(&adv);
    for gone in ["alice", "Alice", "carol", "shared", "audex.delete_person"] {
        assert!(!text.contains(gone), "{gone:?} is still in the log");
    }
    assert_eq!(people(&adv), before, "everyone else keeps id and profile");
    let r = adv.refresh_memberships(NOW, "time").unwrap();
    assert_eq!(
        (r.entered, r.left),
        (0, 0),
        "memberships agree with the rebuilt state"
    );
    assert_eq!(adv.membership_sizes().unwrap(), sizes_before);
    let payloads: Vec<Vec<u8>> = adv
        .read_log()
        .unwrap()
        .map(|r| r.unwrap().1.payload)
        .collect();
    assert_eq!(
        message_ids(payloads.iter().map(Vec::as_slice)),
        exported_before
    );
    assert!(
        engine
            .erase_deleted("default", &mut |_, _| {})
            .unwrap()
            .is_none()
    );

    // A restart replays the compacted log (no snapshot) to the same people.
    drop(adv);
    drop(engine);
    let (_engine, adv) = open(dir.path());
    assert!(!adv.open_report.snapshot_loaded);
    assert_eq!(people(&adv), before);
    assert_eq!(adv.state().unwrap().profiles.people(), 3);
}

#[test]
fn a_deletion_survives_a_restart_without_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_engine, adv) = open(dir.path());
        ingest(
            &adv,
            &[
                event("1", r#""userId":"u1""#, "Product Viewed", 2),
                event("2", r#""userId":"u2""#, "Product Viewed", 2),
            ],
        );
        adv.delete_person("u1").unwrap().unwrap();
        std::fs::remove_file(adv.dir().join("snapshot.bin")).ok();
    }
    let (_engine, adv) = open(dir.path());
    let st = adv.state().unwrap();
    assert!(audex_engine::view::find_person(&st.profiles, "u1").is_none());
    assert!(audex_engine::view::find_person(&st.profiles, "u2").is_some());
    assert_eq!(st.profiles.people(), 1);
}

#[test]
fn events_cannot_pose_as_control_records() {
    let r = parse_one(
        &InputLine {
            line: 1,
            bytes: br#"{"type":"audex.delete_person","type":"track","event":"x","userId":"u","messageId":"m"}"#.to_vec(),
        },
        NOW,
        &Enrichment::default(),
    );
    let err = r[0].as_ref().unwrap_err();
    assert_eq!(err.field, "/type");
}

/// One step of a random history: an event from some identifiers, or a deletion.
#[derive(Debug, Clone)]
enum Step {
    Event {
        user: Option<u8>,
        anon: u8,
        email: Option<u8>,
        added: bool,
        days_ago: u8,
    },
    Alias {
        user: u8,
        previous: u8,
    },
    Delete(String),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (
            proptest::option::of(0u8..4),
            0u8..6,
            proptest::option::weighted(0.2, 0u8..3),
            any::<bool>(),
            0u8..40
        )
            .prop_map(|(user, anon, email, added, days_ago)| Step::Event {
                user,
                anon,
                email,
                added,
                days_ago
            }),
        1 => (0u8..4, 0u8..6).prop_map(|(user, previous)| Step::Alias { user, previous }),
        2 => prop_oneof![
            (0u8..4).prop_map(|u| format!("user{u}")),
            (0u8..6).prop_map(|a| format!("anon{a}")),
            (0u8..3).prop_map(|e| format!("mail{e}@example.com")),
        ]
        .prop_map(Step::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the merges, shared identifiers and deletions, erasing changes nobody live and
    /// keeps exactly the events an export showed before.
    #[test]
    fn erasing_changes_nobody_else(steps in proptest::collection::vec(step(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let (engine, adv) = open(dir.path());
        save(&adv, "viewers", "product_viewed within 30d");
        save(&adv, "adders", "product_added >= 2 within 30d");
        adv.refresh_memberships(NOW, "time").unwrap();
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Event { user, anon, email, added, days_ago } => {
                    let mut who = format!(r#""anonymousId":"anon{anon}""#);
                    if let Some(u) = user {
                        who.push_str(&format!(r#","userId":"user{u}""#));
                    }
                    if let Some(e) = email {
                        who.push_str(&format!(r#","context":{{"traits":{{"email":"mail{e}@example.com"}}}}"#));
                    }
                    let name = if *added { "Product Added" } else { "Product Viewed" };
                    ingest(&adv, &[event(&i.to_string(), &who, name, i64::from(*days_ago))]);
                }
                Step::Alias { user, previous } => ingest(&adv, &[format!(
                    r#"{{"messageId":"{i}","type":"alias","userId":"user{user}","previousId":"anon{previous}","timestamp":"2026-11-20T00:00:00Z"}}"#
                )]),
                Step::Delete(id) => {
                    adv.delete_person(id).unwrap();
                }
            }
        }
        adv.refresh_memberships(NOW, "time").unwrap();
        let before = people(&adv);
        let mut sizes = adv.membership_sizes().unwrap();
        sizes.sort();
        let exported: Vec<Vec<u8>> = adv.export_records().unwrap().map(|r| r.unwrap().payload).collect();
        let deleted = adv.state().unwrap().profiles.identity.deleted();
        drop(adv);
        let report = engine.erase_deleted("default", &mut |_, _| {}).unwrap();
        let adv = engine.advertiser("default").unwrap();
        prop_assert_eq!(people(&adv), before.clone());
        let r = adv.refresh_memberships(NOW, "time").unwrap();
        prop_assert_eq!((r.entered, r.left), (0, 0));
        let mut fresh = adv.membership_sizes().unwrap();
        fresh.sort();
        prop_assert_eq!(fresh, sizes);
        let payloads: Vec<Vec<u8>> = adv.read_log().unwrap().map(|r| r.unwrap().1.payload).collect();
        prop_assert_eq!(
            message_ids(payloads.iter().map(Vec::as_slice)),
            message_ids(exported.iter().map(Vec::as_slice))
        );
        if report.is_some() {
            prop_assert!(deleted > 0);
        }
        let again = engine.erase_deleted("default", &mut |_, _| {}).unwrap();
        prop_assert!(again.is_none(), "a second erase found more");
        drop(adv);
        drop(engine);
        let (_engine, adv) = open(dir.path());
        prop_assert_eq!(people(&adv), before);
    }
}
