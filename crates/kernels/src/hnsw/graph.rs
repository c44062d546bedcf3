//! The graph's algorithms: levels, the greedy descent, the search of one layer, and the
//! neighbour-selection heuristic (hnswlib's `getNeighborsByHeuristic2`). Every ordering is by
//! score, ties broken by node number, so the same inputs always give the same graph.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::{Hnsw, MAX_LEVEL};

/// A candidate: its score against the query, and its node; ordered by score, then by lower node
/// (so of two equal scores the lower node counts as closer).
#[derive(Debug, Clone, Copy)]
struct Near(f32, u32);

impl PartialEq for Near {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// SplitMix64: a tiny integer generator, the same on every platform.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The level of the `node`-th insert: each level up with probability 1/m (the paper's
/// `mL = 1/ln m`), drawn from integers only.
pub(super) fn level_of(seed: u64, node: u32, m: usize) -> u8 {
    let m = m as u64;
    let mut state = splitmix(seed ^ (u64::from(node) << 1 | 1));
    let mut level = 0;
    while level < MAX_LEVEL {
        state = splitmix(state);
        if !state.is_multiple_of(m) {
            break;
        }
        level += 1;
    }
    level
}

/// Asks the CPU to start loading the cache lines of `data` (at most 2 KiB of them; a hint, with
/// no effect on any result).
#[inline]
fn prefetch_lines<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(data).min(2048);
        let start = data.as_ptr().cast::<u8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: `offset` is within `data`; a prefetch reads nothing and cannot fault; SSE is
            // baseline on x86-64.
            #[allow(unsafe_code)]
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    start.add(offset).cast(),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Which nodes a search has visited: a stamp per node, so that starting a search costs
/// nothing. One per thread, grown to the largest index searched, shared by every index: a stamp
/// equals `now` only if this search set it.
pub(super) struct Visited {
    stamps: Vec<u32>,
    now: u32,
}

thread_local! {
    static VISITED: std::cell::RefCell<Visited> =
        const { std::cell::RefCell::new(Visited { stamps: Vec::new(), now: 0 }) };
}

/// Runs `f` with this thread's visited set, sized for `n` nodes.
fn with_visited<T>(n: usize, f: impl FnOnce(&mut Visited) -> T) -> T {
    VISITED.with(|v| {
        let mut v = v.borrow_mut();
        if v.stamps.len() < n {
            v.stamps.resize(n, 0);
        }
        f(&mut v)
    })
}

impl Visited {
    /// Starts a search: nothing is visited.
    fn start(&mut self) {
        self.now = self.now.wrapping_add(1);
        if self.now == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.now = 1;
        }
    }

    /// Marks `node`; true if it was not marked before.
    fn visit(&mut self, node: u32) -> bool {
        let stamp = &mut self.stamps[node as usize];
        if *stamp == self.now {
            return false;
        }
        *stamp = self.now;
        true
    }
}

impl Hnsw {
    /// Most links a node keeps at `level`.
    pub(super) fn max_links(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.params.m
        } else {
            self.params.m
        }
    }

    fn top_level(&self) -> Option<(u32, usize)> {
        self.entry.map(|e| (e, self.links.level(e)))
    }

    /// Links the new `node` (its vector already stored) into every level up to `level`.
    pub(super) fn link(&mut self, node: u32, level: u8) {
        let level = usize::from(level);
        let Some((mut entry, top)) = self.top_level() else {
            self.entry = Some(node);
            return;
        };
        let q = self.row(node).to_vec();
        let q_norm = self.norms[node as usize];
        // Greedy descent to the new node's top level.
        for l in (level + 1..=top).rev() {
            entry = self.greedy(&q, q_norm, entry, l);
        }
        let ef = self.params.ef_construction;
        for l in (0..=level.min(top)).rev() {
            let found = with_visited(self.len(), |visited| {
                self.search_layer(&q, q_norm, &[entry], ef, l, visited)
            });
            let chosen = self.select(&found, self.params.m);
            let to: Vec<u32> = chosen.iter().map(|&Near(_, other)| other).collect();
            self.links.set(node, l, &to);
            for &Near(_, other) in &chosen {
                self.add_link(other, node, l);
            }
            // The closest found is the next layer's entry.
            if let Some(&Near(_, best)) = found.first() {
                entry = best;
            }
        }
        if level > top {
            self.entry = Some(node);
        }
    }

    /// Adds `to` to `from`'s links at `level`, pruning them with the heuristic when full.
    fn add_link(&mut self, from: u32, to: u32, level: usize) {
        let max = self.max_links(level);
        let links = self.links.get(from, level);
        if links.len() < max {
            self.links.push(from, level, to);
            return;
        }
        let q = self.row(from).to_vec();
        let q_norm = self.norms[from as usize];
        let mut candidates: Vec<Near> = links
            .iter()
            .chain(std::iter::once(&to))
            .map(|&n| Near(self.score(&q, q_norm, n), n))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let kept: Vec<u32> = self
            .select(&candidates, max)
            .into_iter()
            .map(|Near(_, n)| n)
            .collect();
        self.links.set(from, level, &kept);
    }

    /// The heuristic: from candidates sorted closest first, keep one only if it is closer to the
    /// query than to every one kept before it (so links spread in every direction), at most
    /// `max`.
    fn select(&self, sorted: &[Near], max: usize) -> Vec<Near> {
        if sorted.len() <= max {
            return sorted.to_vec();
        }
        let mut kept: Vec<Near> = Vec::with_capacity(max);
        for &Near(to_query, c) in sorted {
            if kept.len() >= max {
                break;
            }
            let row = self.row(c);
            let c_norm = self.norms[c as usize];
            let spread = kept
                .iter()
                .all(|&Near(_, s)| self.score(row, c_norm, s) <= to_query);
            if spread {
                kept.push(Near(to_query, c));
            }
        }
        kept
    }

    /// The single closest node reachable greedily from `entry` at `level`.
    fn greedy(&self, q: &[f32], q_norm: f32, entry: u32, level: usize) -> u32 {
        let mut best = Near(self.score(q, q_norm, entry), entry);
        loop {
            let mut moved = false;
            for &n in self.links.get(best.1, level) {
                let near = Near(self.score(q, q_norm, n), n);
                if near > best {
                    best = near;
                    moved = true;
                }
            }
            if !moved {
                return best.1;
            }
        }
    }

    /// Best-first search of one layer from `entries`, keeping the `ef` closest; closest first.
    fn search_layer(
        &self,
        q: &[f32],
        q_norm: f32,
        entries: &[u32],
        ef: usize,
        level: usize,
        visited: &mut Visited,
    ) -> Vec<Near> {
        visited.start();
        let mut frontier: BinaryHeap<Near> = BinaryHeap::new();
        // The results, farthest on top.
        let mut best: BinaryHeap<Reverse<Near>> = BinaryHeap::new();
        for &e in entries {
            if visited.visit(e) {
                let near = Near(self.score(q, q_norm, e), e);
                frontier.push(near);
                best.push(Reverse(near));
            }
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(2 * self.params.m);
        while let Some(current) = frontier.pop() {
            let worst = best.peek().map(|r| r.0);
            if best.len() >= ef && worst.is_some_and(|w| current < w) {
                break;
            }
            // The neighbours not seen yet, their vectors asked for before the first is read:
            // the scan is bound by memory, not arithmetic.
            fresh.clear();
            for &n in self.links.get(current.1, level) {
                if visited.visit(n) {
                    self.prefetch(n);
                    fresh.push(n);
                }
            }
            for &n in &fresh {
                let near = Near(self.score(q, q_norm, n), n);
                let worst = best.peek().map(|r| r.0);
                if best.len() < ef || worst.is_some_and(|w| near > w) {
                    if level == 0 {
                        self.prefetch_links(n);
                    }
                    frontier.push(near);
                    best.push(Reverse(near));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        let mut out: Vec<Near> = best.into_iter().map(|r| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Asks the CPU to start loading `node`'s vector (a hint: no effect on any result).
    #[inline]
    fn prefetch(&self, node: u32) {
        // Only where a prefetch exists: elsewhere not even the slice's bounds check runs.
        if cfg!(target_arch = "x86_64") {
            let d = self.params.dim;
            prefetch_lines(&self.vectors[node as usize * d..(node as usize + 1) * d]);
        }
    }

    /// Asks the CPU to start loading `node`'s level-0 links, read when it leaves the frontier.
    #[inline]
    fn prefetch_links(&self, node: u32) {
        if cfg!(target_arch = "x86_64") {
            prefetch_lines(self.links.level0_block(node));
        }
    }

    /// The `k` closest to a prepared query, with `ef` candidates at level 0: (score, node).
    pub(super) fn knn(&self, q: &[f32], k: usize, ef: usize) -> Vec<(f32, u32)> {
        let Some((mut entry, top)) = self.top_level() else {
            return Vec::new();
        };
        let q_norm = super::distance::dot(q, q);
        for l in (1..=top).rev() {
            entry = self.greedy(q, q_norm, entry, l);
        }
        let mut found = with_visited(self.len(), |visited| {
            self.search_layer(q, q_norm, &[entry], ef, 0, visited)
        });
        found.truncate(k);
        found.into_iter().map(|Near(s, n)| (s, n)).collect()
    }
}
