//! Identity merges: events before and after `identify`/`alias` end in one person with the whole
//! history and correct aggregates, across restarts (snapshot and replay).

use std::io::Cursor;

use audex_engine::import::{Format, ImportOptions, import_reader};
use audex_engine::{Advertiser, Engine, EngineOptions};
use audex_model::EventKind;
use audex_model::event::{IdKind, Identifier};
use audex_profile::entry::Entry;

fn import(adv: &Advertiser, lines: &[String]) {
    let text = lines.join("\n");
    let r = import_reader(
        adv,
        Box::new(Cursor::new(text.into_bytes())),
        "t",
        Format::Ndjson,
        &ImportOptions {
            chunk_lines: 3,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.rejected.total, 0, "{:?}", r.rejected.kept);
}

fn ev(id: &str, who: &str, body: &str, day: u32) -> String {
    format!(r#"{{"messageId":"{id}",{who},"timestamp":"2026-11-{day:02}T12:00:00.000Z",{body}}}"#)
}

fn counts(adv: &Advertiser, person: u32) -> Vec<(EventKind, u32)> {
    let state = adv.state().unwrap();
    let p = state.profiles.profile(person).unwrap();
    let mut out: Vec<(EventKind, u32)> = Vec::new();
    for &raw in &p.entries {
        let e = Entry::unpack(raw);
        if e.line {
            continue;
        }
        match out.iter_mut().find(|x| x.0 == e.kind()) {
            Some(x) => x.1 += e.count,
            None => out.push((e.kind(), e.count)),
        }
    }
    out.sort();
    out
}

#[test]
fn identify_and_alias_merge_histories_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let lines = vec![
        // Device A browses anonymously.
        ev(
            "1",
            r#""anonymousId":"dev-a","type":"page""#,
            r#""name":"home""#,
            1,
        ),
        ev(
            "2",
            r#""anonymousId":"dev-a","type":"track""#,
            r#""event":"Product Viewed","properties":{"product_id":"p1","price":10,"brand":"Acme"}"#,
            2,
        ),
        // Device B (app) browses anonymously and adds to cart.
        ev(
            "3",
            r#""anonymousId":"dev-b","type":"screen""#,
            r#""name":"home","context":{"app":{"name":"shop"}}"#,
            3,
        ),
        ev(
            "4",
            r#""anonymousId":"dev-b","type":"track""#,
            r#""event":"Product Added","properties":{"product_id":"p2","price":30}"#,
            3,
        ),
        // Signs up on device A: identify links dev-a to user u1 (email hashed).
        ev(
            "5",
            r#""anonymousId":"dev-a","userId":"u1","type":"identify""#,
            r#""traits":{"email":"Ann@Example.com","gender":"female","income":"high"}"#,
            4,
        ),
        // Orders as u1.
        ev(
            "6",
            r#""userId":"u1","type":"track""#,
            r#""event":"Order Completed","properties":{"revenue":40,"products":[{"product_id":"p1","price":10},{"product_id":"p2","price":30}]}"#,
            5,
        ),
        // Logs in on device B: identify links dev-b to u1 → merge.
        ev(
            "7",
            r#""anonymousId":"dev-b","userId":"u1","type":"identify""#,
            r#""traits":{}"#,
            6,
        ),
        // An old CRM id is aliased to u1 after it had its own history.
        ev(
            "8",
            r#""userId":"crm-77","type":"track""#,
            r#""event":"Order Completed","properties":{"revenue":15}"#,
            7,
        ),
        ev(
            "9",
            r#""userId":"u1","previousId":"crm-77","type":"alias""#,
            r#""properties":{}"#,
            8,
        ),
        // After the merges, events on either device land on the same person.
        ev(
            "10",
            r#""anonymousId":"dev-b","type":"track""#,
            r#""event":"Product Viewed","properties":{"product_id":"p3","price":5}"#,
            9,
        ),
    ];
    {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let adv = engine.advertiser("default").unwrap();
        import(&adv, &lines);
        let state = adv.state().unwrap();
        let ids = [
            Identifier::new(IdKind::AnonymousId, "dev-a"),
            Identifier::new(IdKind::AnonymousId, "dev-b"),
            Identifier::new(IdKind::UserId, "u1"),
            Identifier::new(IdKind::UserId, "crm-77"),
            Identifier::new(
                IdKind::EmailSha256,
                audex_model::normalize::sha256_hex("ann@example.com"),
            ),
        ];
        let people: Vec<_> = ids.iter().map(|i| state.profiles.person(i)).collect();
        assert!(
            people.iter().all(|p| p.is_some() && *p == people[0]),
            "{people:?}"
        );
        assert_eq!(state.profiles.people(), 1);
        let p = state.profiles.profile(people[0].unwrap()).unwrap();
        assert_eq!(p.events, 10);
        assert_eq!(p.orders, 2);
        assert!((p.spend - 55.0).abs() < 1e-9, "spend {}", p.spend);
        assert_eq!(p.demo.gender, audex_model::event::Gender::Female as u8);
        drop(state);
        let expect = vec![
            (EventKind::Visit, 2),
            (EventKind::ProductViewed, 2),
            (EventKind::ProductAdded, 1),
            (EventKind::OrderCompleted, 2),
            (EventKind::Identify, 2),
            (EventKind::Alias, 1),
        ];
        assert_eq!(counts(&adv, people[0].unwrap()), expect);
        // The order's two product lines are kept as line entries.
        let lines_count: u32 = adv
            .state()
            .unwrap()
            .profiles
            .profile(people[0].unwrap())
            .unwrap()
            .entries
            .iter()
            .map(|r| Entry::unpack(*r))
            .filter(|e| e.line)
            .map(|e| e.count)
            .sum();
        assert_eq!(lines_count, 2);
        // Replaying the same events changes nothing (idempotent on messageId).
        import(&adv, &lines);
        assert_eq!(adv.state().unwrap().events, 10);
        assert_eq!(counts(&adv, people[0].unwrap()), expect);
        adv.snapshot().unwrap();
    }
    // Restart from the snapshot written at the end of import, and from a full replay.
    for with_snapshot in [true, false] {
        if !with_snapshot {
            std::fs::remove_file(dir.path().join("advertisers/default/snapshot.bin")).ok();
        }
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let adv = engine.advertiser("default").unwrap();
        let p = adv
            .state()
            .unwrap()
            .profiles
            .person(&Identifier::new(IdKind::AnonymousId, "dev-b"))
            .unwrap();
        assert_eq!(adv.state().unwrap().profiles.people(), 1);
        assert_eq!(counts(&adv, p).iter().map(|x| x.1).sum::<u32>(), 10);
        assert_eq!(adv.state().unwrap().profiles.profile(p).unwrap().orders, 2);
    }
}

#[test]
fn two_users_on_one_device_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    import(
        &adv,
        &[
            ev(
                "1",
                r#""anonymousId":"kiosk","userId":"alice","type":"identify""#,
                r#""traits":{}"#,
                1,
            ),
            ev(
                "2",
                r#""anonymousId":"kiosk","userId":"bob","type":"identify""#,
                r#""traits":{}"#,
                2,
            ),
        ],
    );
    let state = adv.state().unwrap();
    let a = state
        .profiles
        .person(&Identifier::new(IdKind::UserId, "alice"));
    let b = state
        .profiles
        .person(&Identifier::new(IdKind::UserId, "bob"));
    assert!(a.is_some() && b.is_some());
    assert_ne!(a, b);
    assert_eq!(state.profiles.people(), 2);
}
