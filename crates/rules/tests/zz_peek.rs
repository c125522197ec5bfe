mod common;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
#[test]
fn peek() {
    let mut runner = TestRunner::deterministic();
    for _ in 0..12 {
        let r = common::rule().new_tree(&mut runner).unwrap().current();
        println!("{}\n  {}\n", r.to_text(), r.to_json_string());
    }
}
