//! Measurement on a labelled corpus in AG News's CSV layout (`"class","title","description"`,
//! classes 1–4 = World, Sports, Business, Sci/Tech). AG News is licensed for non-commercial
//! research only: it is read at test and report time, never embedded or shipped.

use std::io::BufRead;

use serde::Serialize;

use crate::ContextualError;
use crate::classifier::ContentClassifier;
use crate::linear::{
    Example, LinearModel, LrOptions, NbOptions, train_logistic, train_naive_bayes,
};
use crate::text::Page;

/// AG News classes → IAB Content Taxonomy 3.1 tier-1 ids. The first id is the class's main
/// category; the others are the 3.1 tier-1s that also count as right (3.1 has no "News"
/// tier-1, so World news spreads over Politics, War and Conflicts, Crime, Disasters and Law).
pub const AG_TO_IAB: [(&str, &[&str]); 4] = [
    ("World", &["386", "389", "380", "381", "383"]),
    ("Sports", &["483"]),
    ("Business", &["52", "391"]),
    ("Sci/Tech", &["596", "464", "680"]),
];

/// One labelled document.
#[derive(Debug, Clone)]
pub struct LabeledDoc {
    /// Class index (0-based).
    pub label: usize,
    /// The page (title and text; no URL).
    pub page: Page,
}

/// Splits one CSV record (RFC 4180 quoting; records do not span lines in AG News).
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(cur);
    Some(out)
}

/// Reads an AG-News-layout CSV. AG News escapes newlines as `\n` and dollar signs as `\$`;
/// both are undone.
pub fn read_ag_news(reader: impl BufRead) -> Result<Vec<LabeledDoc>, ContextualError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| ContextualError::Io(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: &str| ContextualError::Corpus {
            line: i + 1,
            message: message.to_string(),
        };
        let f = csv_fields(&line).ok_or_else(|| bad("unterminated quote"))?;
        if f.len() < 3 {
            return Err(bad("expected class,title,description"));
        }
        let class: usize = f[0]
            .trim()
            .parse()
            .map_err(|_| bad("class is not a number"))?;
        if !(1..=AG_TO_IAB.len()).contains(&class) {
            return Err(bad("class out of range 1..4"));
        }
        let clean = |s: &str| s.replace("\\n", " ").replace("\\$", "$").replace("\\", " ");
        out.push(LabeledDoc {
            label: class - 1,
            page: Page {
                url: String::new(),
                title: clean(&f[1]),
                text: clean(&f[2..].join(",")),
            },
        });
    }
    Ok(out)
}

/// The fixed split used everywhere (tests, report, the scikit-learn baseline): every fifth
/// document (index ≡ 0 mod 5) is held out for testing.
pub fn split(docs: &[LabeledDoc]) -> (Vec<LabeledDoc>, Vec<LabeledDoc>) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, d) in docs.iter().enumerate() {
        if i % 5 == 0 {
            test.push(d.clone());
        } else {
            train.push(d.clone());
        }
    }
    (train, test)
}

/// Accuracy figures on one test set.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// Documents measured.
    pub n: usize,
    /// Fraction predicted right.
    pub accuracy: f64,
    /// Per-class recall, in class order.
    pub per_class: Vec<f64>,
    /// Documents with no known word (counted wrong).
    pub no_evidence: usize,
}

fn tally(preds: impl Iterator<Item = (usize, Option<usize>)>, k: usize) -> Accuracy {
    let (mut n, mut right, mut none) = (0usize, 0usize, 0usize);
    let mut per = vec![(0usize, 0usize); k];
    for (y, p) in preds {
        n += 1;
        per[y].1 += 1;
        match p {
            Some(p) if p == y => {
                right += 1;
                per[y].0 += 1;
            }
            Some(_) => {}
            None => none += 1,
        }
    }
    Accuracy {
        n,
        accuracy: right as f64 / n.max(1) as f64,
        per_class: per
            .iter()
            .map(|(r, t)| *r as f64 / (*t).max(1) as f64)
            .collect(),
        no_evidence: none,
    }
}

/// The shipped classifier (no training on the corpus) on `docs`, two ways: `open` — its
/// top tier-1 over all 37 must be in the class's accepted set; `closed` — the class whose
/// accepted tier-1s hold the most probability wins (the label set is known).
pub fn shipped_accuracy(c: &ContentClassifier, docs: &[LabeledDoc]) -> (Accuracy, Accuracy) {
    let groups: Vec<&[&str]> = AG_TO_IAB.iter().map(|(_, ids)| *ids).collect();
    let open = tally(
        docs.iter().map(|d| {
            let top = c.tier1(&d.page).into_iter().next();
            let p = top.map(|t| {
                groups
                    .iter()
                    .position(|g| g.contains(&t.id.as_str()))
                    .unwrap_or(usize::MAX)
            });
            (d.label, p)
        }),
        groups.len(),
    );
    let closed = tally(
        docs.iter()
            .map(|d| (d.label, c.best_group(&d.page, &groups))),
        groups.len(),
    );
    (open, closed)
}

/// Which learner to train on a labelled corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// Multinomial naive Bayes.
    NaiveBayes,
    /// Softmax regression by SGD.
    Logistic,
}

/// Trains `learner` on `train`.
pub fn train(learner: Learner, train: &[LabeledDoc]) -> LinearModel {
    let examples: Vec<Example> = train
        .iter()
        .map(|d| Example {
            features: d.page.features(),
            label: d.label,
        })
        .collect();
    let classes = AG_TO_IAB.iter().map(|(n, _)| n.to_string()).collect();
    match learner {
        Learner::NaiveBayes => train_naive_bayes(&examples, classes, NbOptions::default()),
        Learner::Logistic => train_logistic(&examples, classes, LrOptions::default()),
    }
}

/// Accuracy of a trained model on `test`.
pub fn model_accuracy(model: &LinearModel, learner: Learner, test: &[LabeledDoc]) -> Accuracy {
    tally(
        test.iter().map(|d| {
            let x = d.page.features();
            let x = match learner {
                Learner::Logistic => crate::linear::l2_normalize(&x),
                Learner::NaiveBayes => x,
            };
            (d.label, Some(model.predict(&x)))
        }),
        AG_TO_IAB.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_escapes() {
        let docs = read_ag_news(
            "\"3\",\"Oil \"\"jumps\"\"\",\"Prices rose \\$2, a lot\"\n\"2\",\"a\",\"b\"\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].label, 2);
        assert_eq!(docs[0].page.title, "Oil \"jumps\"");
        assert_eq!(docs[0].page.text, "Prices rose $2, a lot");
        assert!(read_ag_news("\"9\",\"a\",\"b\"\n".as_bytes()).is_err());
        assert!(read_ag_news("\"1\",\"a\n".as_bytes()).is_err());
    }
}
