//! Finding the majority among redundant results.
//!
//! How two results of one kind compare is the kind's own rule (`crate::kinds`, one module per
//! kind: exact bytes where the computation is deterministic, a documented tolerance where floats
//! differ across backends); [`results_agree`] applies it. [`majority`] groups results by
//! agreement with the first result of each group (a result joins the first group it agrees
//! with), and a group wins only with a strict majority of all results.

pub use crate::kinds::results_agree;

/// The outcome of comparing redundant results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Majority {
    /// Indices (into the input) of the results that agree with the winning result.
    pub agreeing: Vec<usize>,
    /// Indices of the results that do not.
    pub outvoted: Vec<usize>,
}

/// Finds the result a strict majority agrees with, using `agree` as the comparison. `None` when no
/// group has more than half of the results.
pub fn majority<T>(results: &[T], agree: impl Fn(&T, &T) -> bool) -> Option<Majority> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match groups.iter_mut().find(|g| agree(&results[g[0]], r)) {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    let winner = groups.iter().max_by_key(|g| g.len())?;
    if winner.len() * 2 <= results.len() {
        return None;
    }
    let outvoted = (0..results.len()).filter(|i| !winner.contains(i)).collect();
    Some(Majority {
        agreeing: winner.clone(),
        outvoted,
    })
}
