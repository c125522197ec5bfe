//! Property test: any sequence of appends, reopens, crashes with a torn tail and reads
//! behaves like an in-memory list of records.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use audex_store::{EventLog, LogConfig, LogPosition, Record};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Record>),
    Reopen,
    /// Close, append junk to the last segment (a torn write), reopen.
    CrashWithJunk(Vec<u8>),
    /// Read from the end position returned by an earlier append (index modulo their count).
    ReadFrom(usize),
}

fn record() -> impl Strategy<Value = Record> {
    let payload = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        (any::<u8>(), 0usize..3000).prop_map(|(b, n)| vec![b; n]),
    ];
    (any::<i64>(), payload).prop_map(|(received_at_ms, payload)| Record {
        received_at_ms,
        payload,
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(record(), 0..12).prop_map(Op::Append),
        1 => Just(Op::Reopen),
        1 => prop::collection::vec(any::<u8>(), 1..300).prop_map(Op::CrashWithJunk),
        2 => any::<usize>().prop_map(Op::ReadFrom),
    ]
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    dir.join(names.last().unwrap())
}

fn read_all(log: &EventLog, from: LogPosition) -> Vec<Record> {
    log.read_from(from).unwrap().map(|r| r.unwrap().1).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn log_behaves_like_a_list(
        segment_bytes in prop_oneof![Just(512u64), Just(4096), Just(1 << 20)],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let config = LogConfig { segment_bytes, ..LogConfig::default() };
        let (mut log, _) = EventLog::open(dir.path(), config).unwrap();
        let mut model: Vec<Record> = Vec::new();
        // (position after an append, number of records before that position)
        let mut ends: Vec<(LogPosition, usize)> = vec![(LogPosition::default(), 0)];

        for op in ops {
            match op {
                Op::Append(records) => {
                    let pos = log.append(&records).unwrap();
                    prop_assert!(pos >= ends.last().unwrap().0);
                    model.extend(records);
                    ends.push((pos, model.len()));
                }
                Op::Reopen => {
                    drop(log);
                    let (l, report) = EventLog::open(dir.path(), config).unwrap();
                    prop_assert_eq!(report.truncated_bytes, 0);
                    prop_assert_eq!(report.records, model.len() as u64);
                    log = l;
                }
                Op::CrashWithJunk(junk) => {
                    drop(log);
                    let mut f = OpenOptions::new().append(true).open(last_segment(dir.path())).unwrap();
                    f.write_all(&junk).unwrap();
                    drop(f);
                    let (l, report) = EventLog::open(dir.path(), config).unwrap();
                    prop_assert_eq!(report.truncated_bytes, junk.len() as u64);
                    prop_assert_eq!(report.truncated_at, Some(report.end));
                    prop_assert_eq!(report.records, model.len() as u64);
                    log = l;
                }
                Op::ReadFrom(i) => {
                    let (pos, before) = ends[i % ends.len()];
                    prop_assert_eq!(read_all(&log, pos), &model[before..]);
                }
            }
            prop_assert_eq!(log.end(), ends.last().unwrap().0);
        }
        prop_assert_eq!(read_all(&log, LogPosition::default()), model);
    }
}
