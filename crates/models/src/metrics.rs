//! Quality measures: ROC AUC, recall and precision at k, set precision and recall.

/// ROC AUC of scores of positives against scores of negatives (ties count half); `None` when
/// either side is empty.
pub fn auc(positives: &[f32], negatives: &[f32]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney U with average ranks for ties.
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += all[i..j].iter().filter(|x| x.1).count() as f64 * avg;
        i = j;
    }
    let np = positives.len() as f64;
    let nn = negatives.len() as f64;
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Of `scored` (person, score, is_positive), the share of positives among the `k` best
/// (recall@k) and the share of the `k` best that are positives (precision@k). Ties in score
/// break by lower person id, as audiences' `top` does.
pub fn at_k(scored: &[(u32, f32, bool)], k: usize) -> (f64, f64) {
    let positives = scored.iter().filter(|s| s.2).count();
    if positives == 0 || k == 0 {
        return (0.0, 0.0);
    }
    let mut v: Vec<&(u32, f32, bool)> = scored.iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let hits = v.iter().take(k).filter(|s| s.2).count();
    (
        hits as f64 / positives as f64,
        hits as f64 / k.min(v.len()) as f64,
    )
}

/// Precision and recall of a predicted set against a true set, given their overlap.
pub fn precision_recall(predicted: u64, actual: u64, both: u64) -> (f64, f64) {
    let p = if predicted > 0 {
        both as f64 / predicted as f64
    } else {
        0.0
    };
    let r = if actual > 0 {
        both as f64 / actual as f64
    } else {
        0.0
    };
    (p, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_extremes_and_ties() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auc(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(auc(&[], &[0.5]), None);
    }

    #[test]
    fn recall_and_precision_at_k() {
        let s = [
            (0, 0.9, true),
            (1, 0.8, false),
            (2, 0.7, true),
            (3, 0.1, false),
        ];
        assert_eq!(at_k(&s, 2), (0.5, 0.5));
        assert_eq!(at_k(&s, 3), (1.0, 2.0 / 3.0));
        assert_eq!(precision_recall(10, 20, 5), (0.5, 0.25));
    }
}
