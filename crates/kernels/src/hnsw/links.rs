//! The graph's adjacency. Level 0, where a search spends nearly all its visits, is one flat
//! array with a fixed stride per node (its count, then `2m` slots), as in hnswlib's
//! `data_level0_memory_`: reading a node's neighbours is one load from a computed address, not
//! three dependent ones through nested vectors. The few nodes above level 0 keep a vector per
//! level. Unused slots are always zero, so two equal graphs are equal as values.

/// Links of every node at every one of its levels.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Links {
    /// `1 + 2m`: the count, then the slots.
    stride: usize,
    level0: Vec<u32>,
    /// `upper[node][l - 1]`: the links at level `l >= 1`; its length is the node's level.
    upper: Vec<Vec<Vec<u32>>>,
}

impl Links {
    /// No nodes, for an index with `m` links per node above level 0 (`2m` at level 0).
    pub(super) fn new(m: usize) -> Self {
        Self {
            stride: 1 + 2 * m,
            level0: Vec::new(),
            upper: Vec::new(),
        }
    }

    /// The graph `levels[node][level]` describes (each level-0 list at most `2m` long: the
    /// decoder checks that first).
    pub(super) fn from_levels(m: usize, levels: Vec<Vec<Vec<u32>>>) -> Self {
        let mut links = Self::new(m);
        for (node, mut at) in levels.into_iter().enumerate() {
            let level0 = if at.is_empty() {
                Vec::new()
            } else {
                at.remove(0)
            };
            links.add_node(at.len());
            links.set(node as u32, 0, &level0);
            links.upper[node] = at;
        }
        links
    }

    /// Appends a node with no links on levels `0..=level`.
    pub(super) fn add_node(&mut self, level: usize) {
        self.level0.resize(self.level0.len() + self.stride, 0);
        self.upper.push(vec![Vec::new(); level]);
    }

    /// The top level of `node`.
    pub(super) fn level(&self, node: u32) -> usize {
        self.upper[node as usize].len()
    }

    /// The links of `node` at `level` (which must be at most its level).
    #[inline]
    pub(super) fn get(&self, node: u32, level: usize) -> &[u32] {
        if level == 0 {
            let start = node as usize * self.stride;
            let count = self.level0[start] as usize;
            &self.level0[start + 1..start + 1 + count]
        } else {
            &self.upper[node as usize][level - 1]
        }
    }

    /// Replaces the links of `node` at `level` (at level 0, at most `2m` of them).
    pub(super) fn set(&mut self, node: u32, level: usize, to: &[u32]) {
        if level == 0 {
            let start = node as usize * self.stride;
            let slots = &mut self.level0[start..start + self.stride];
            slots[0] = to.len() as u32;
            slots[1..=to.len()].copy_from_slice(to);
            slots[1 + to.len()..].iter_mut().for_each(|s| *s = 0);
        } else {
            self.upper[node as usize][level - 1] = to.to_vec();
        }
    }

    /// Adds one link to `node` at `level` (at level 0, only below `2m` links).
    pub(super) fn push(&mut self, node: u32, level: usize, to: u32) {
        if level == 0 {
            let start = node as usize * self.stride;
            let count = self.level0[start] as usize;
            self.level0[start + 1 + count] = to;
            self.level0[start] += 1;
        } else {
            self.upper[node as usize][level - 1].push(to);
        }
    }

    /// `node`'s level-0 links, count and slots, for a prefetch.
    #[inline]
    pub(super) fn level0_block(&self, node: u32) -> &[u32] {
        let start = node as usize * self.stride;
        &self.level0[start..start + self.stride]
    }
}

#[cfg(test)]
mod tests {
    use super::Links;

    #[test]
    fn levels_round_trip_and_unused_slots_stay_zero() {
        let levels = vec![
            vec![vec![1, 2], vec![2]],
            vec![vec![0]],
            vec![vec![0, 1, 3, 4], vec![0]],
            vec![vec![]],
            vec![vec![2]],
        ];
        let mut links = Links::from_levels(2, levels.clone());
        for (node, at) in levels.iter().enumerate() {
            assert_eq!(links.level(node as u32), at.len() - 1);
            for (l, to) in at.iter().enumerate() {
                assert_eq!(links.get(node as u32, l), &to[..], "node {node} level {l}");
            }
        }
        // Shrinking a list clears the slots it gave up: equal graphs are equal values.
        links.set(2, 0, &[3]);
        let mut other = Links::from_levels(2, levels);
        other.set(2, 0, &[3]);
        assert_eq!(links, other);
        links.set(2, 0, &[0, 1, 3, 4]);
        links.set(2, 0, &[3]);
        assert_eq!(links, other);
        links.push(3, 0, 4);
        assert_eq!(links.get(3, 0), &[4]);
        assert_ne!(links, other);
    }
}
