//! CSV event files: dotted headers nest, quoted fields may hold commas and newlines, and a bad
//! row is refused with its line number while the others are stored.

use audex_engine::import::{ImportOptions, import_path};
use audex_engine::{Engine, EngineOptions};
use audex_model::event::{IdKind, Identifier};

#[test]
fn csv_rows_become_events_with_line_numbers_for_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.csv");
    std::fs::write(
        &file,
        "type,event,userId,messageId,timestamp,properties.price,properties.note\n\
         track,Product Viewed,u1,m1,2026-11-01T10:00:00Z,12.5,\"plain, with comma\"\n\
         track,Product Viewed,u2,m2,2026-11-01T10:00:00Z,-4,bad price\n\
         track,Wishlist Added,u1,m3,2026-11-02T10:00:00Z,3,\"two\nlines\"\n\
         page,,u3,m4,2026-11-03T10:00:00Z,,\n",
    )
    .unwrap();
    let engine = Engine::open(&dir.path().join("data"), EngineOptions::default()).unwrap();
    let adv = engine.advertiser("default").unwrap();
    let report = import_path(&adv, &file, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(report.accepted, 3);
    assert_eq!(report.rejected.total, 1);
    assert_eq!(report.rejected.kept[0].line, 3);
    assert_eq!(report.rejected.kept[0].field, "/properties/price");
    let state = adv.state().unwrap();
    let u1 = state
        .profiles
        .person(&Identifier::new(IdKind::UserId, "u1"))
        .unwrap();
    assert_eq!(state.profiles.profile(u1).unwrap().events, 2);
    assert!(
        state
            .profiles
            .person(&Identifier::new(IdKind::UserId, "u3"))
            .is_some()
    );
    // A second import of the same file stores nothing new.
    drop(state);
    let again = import_path(&adv, &file, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 3));
}
