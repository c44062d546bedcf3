//! Bounded top-k selection: keeps the k best (score, index) pairs seen so far in a min-heap, so a
//! scan over n rows costs O(n log k) and O(k) memory instead of sorting all n scores.
//!
//! Order: higher score is better; equal scores prefer the lower index (the reference's rule, so
//! every backend returns the same ids for the same scores).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::reference::Neighbor;

/// A candidate ordered so that the heap's top is the *worst* kept candidate.
#[derive(Clone, Copy)]
struct Worst(Neighbor);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    /// "Greater" means worse: lower score, or equal score and higher index.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .0
            .score
            .total_cmp(&self.0.score)
            .then(self.0.index.cmp(&other.0.index))
    }
}

/// The k best candidates pushed so far.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    /// Keeps at most `k`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// The score a candidate must beat (or tie with a lower index) to enter, once full.
    #[inline]
    pub fn threshold(&self) -> Option<f32> {
        if self.heap.len() < self.k {
            None
        } else {
            self.heap.peek().map(|w| w.0.score)
        }
    }

    /// Offers a candidate.
    #[inline]
    pub fn push(&mut self, index: u32, score: f32) {
        if self.k == 0 {
            return;
        }
        let candidate = Worst(Neighbor { index, score });
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }

    /// The kept candidates, best first, without consuming.
    pub fn clone_sorted(&self) -> Vec<Neighbor> {
        let mut out: Vec<Neighbor> = self.heap.iter().map(|w| w.0).collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        out
    }

    /// The kept candidates, best first.
    pub fn into_sorted(self) -> Vec<Neighbor> {
        let mut out: Vec<Neighbor> = self.heap.into_iter().map(|w| w.0).collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        out
    }
}
