//! An index as bytes, to keep on disk and hand over to a new holder. Little-endian:
//!
//! ```text
//! "ENHNSW01"  dim u32  metric u8  m u16  ef_construction u16  seed u64  count u32  entry u32
//! per node:   id u64  level u8  per level 0..=level: links u16, then that many u32
//! vectors:    count × dim f32
//! ```
//!
//! Decoding trusts nothing: every length is checked against what is left before anything is
//! allocated, every link must name another node that has that level, the entry must be a node
//! of the top level, and ids must be distinct. A decoded index equals the one encoded.

use std::collections::HashMap;

use super::{Hnsw, HnswError, HnswParams, MAX_ELEMENTS, MAX_LEVEL};
use crate::reference::Metric;

/// Largest encoded index decoded (1 GiB).
pub const MAX_ENCODED_LEN: usize = 1 << 30;

const MAGIC: &[u8; 8] = b"ENHNSW01";
const NO_ENTRY: u32 = u32::MAX;

fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::Dot => 0,
        Metric::Cosine => 1,
        Metric::L2 => 2,
    }
}

impl Hnsw {
    /// The index as bytes ([`Hnsw::decode`] reads them back).
    pub fn encode(&self) -> Vec<u8> {
        let p = &self.params;
        let links: usize = (0..self.len() as u32)
            .flat_map(|node| (0..=self.links.level(node)).map(move |l| (node, l)))
            .map(|(node, l)| 2 + 4 * self.links.get(node, l).len())
            .sum();
        let mut out = Vec::with_capacity(40 + 9 * self.len() + links + 4 * self.vectors.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(p.dim as u32).to_le_bytes());
        out.push(metric_code(p.metric));
        out.extend_from_slice(&(p.m as u16).to_le_bytes());
        out.extend_from_slice(&(p.ef_construction as u16).to_le_bytes());
        out.extend_from_slice(&p.seed.to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.entry.unwrap_or(NO_ENTRY).to_le_bytes());
        for node in 0..self.len() as u32 {
            out.extend_from_slice(&self.ids[node as usize].to_le_bytes());
            let level = self.links.level(node);
            out.push(level as u8);
            for l in 0..=level {
                let links = self.links.get(node, l);
                out.extend_from_slice(&(links.len() as u16).to_le_bytes());
                for l in links {
                    out.extend_from_slice(&l.to_le_bytes());
                }
            }
        }
        for x in &self.vectors {
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        out
    }

    /// Reads an index [`Hnsw::encode`] wrote (module docs for what is checked).
    pub fn decode(bytes: &[u8]) -> Result<Self, HnswError> {
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(corrupt(format!(
                "{} bytes (at most {MAX_ENCODED_LEN})",
                bytes.len()
            )));
        }
        let mut r = Reader(bytes);
        if r.take(8)? != MAGIC {
            return Err(corrupt("not an EdgeNet HNSW index".into()));
        }
        let dim = r.u32()? as usize;
        let metric = match r.u8()? {
            0 => Metric::Dot,
            1 => Metric::Cosine,
            2 => Metric::L2,
            other => return Err(corrupt(format!("metric {other}"))),
        };
        let m = usize::from(r.u16()?);
        let ef_construction = usize::from(r.u16()?);
        let seed = r.u64()?;
        let params = HnswParams {
            dim,
            metric,
            m,
            ef_construction,
            seed,
        };
        let mut index = Hnsw::new(params).map_err(|e| corrupt(e.to_string()))?;
        let count = r.u32()? as usize;
        let entry = r.u32()?;
        // Each node takes at least 11 bytes and its vector: a count the bytes cannot hold is
        // refused before anything is allocated for it.
        if count > MAX_ELEMENTS || count.saturating_mul(11 + 4 * dim) > r.0.len() {
            return Err(corrupt(format!("{count} nodes in {} bytes", r.0.len())));
        }
        let mut ids = Vec::with_capacity(count);
        let mut by_id = HashMap::with_capacity(count);
        let mut links = Vec::with_capacity(count);
        for node in 0..count {
            let id = r.u64()?;
            if by_id.insert(id, node as u32).is_some() {
                return Err(corrupt(format!("id {id} twice")));
            }
            ids.push(id);
            let level = r.u8()?;
            if level > MAX_LEVEL {
                return Err(corrupt(format!("node {node} at level {level}")));
            }
            let mut levels = Vec::with_capacity(usize::from(level) + 1);
            for l in 0..=usize::from(level) {
                let n = usize::from(r.u16()?);
                if n > index.max_links(l) {
                    return Err(corrupt(format!("node {node} has {n} links at level {l}")));
                }
                let mut at = Vec::with_capacity(n);
                for _ in 0..n {
                    at.push(r.u32()?);
                }
                levels.push(at);
            }
            links.push(levels);
        }
        for (node, levels) in links.iter().enumerate() {
            for (l, at) in levels.iter().enumerate() {
                for &to in at {
                    let ok =
                        to as usize != node && links.get(to as usize).is_some_and(|t| t.len() > l);
                    if !ok {
                        return Err(corrupt(format!("node {node} links to {to} at level {l}")));
                    }
                }
            }
        }
        let top = links.iter().map(Vec::len).max();
        let entry = match (entry, top) {
            (NO_ENTRY, None) => None,
            (e, Some(top)) if links.get(e as usize).is_some_and(|l| l.len() == top) => Some(e),
            (e, _) => return Err(corrupt(format!("entry {e}"))),
        };
        let values = r.take(4 * dim * count)?;
        if !r.0.is_empty() {
            return Err(corrupt("bytes after the vectors".into()));
        }
        let vectors: Vec<f32> = values
            .chunks_exact(4)
            .map(|b| f32::from_bits(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect();
        if vectors.iter().any(|x| !x.is_finite()) {
            return Err(corrupt("a vector holds a non-finite value".into()));
        }
        let norms: Vec<f32> = vectors
            .chunks_exact(dim)
            .map(|v| super::distance::dot(v, v))
            .collect();
        if norms.iter().any(|n| !n.is_finite()) {
            return Err(corrupt("a vector's squared norm overflows".into()));
        }
        index.vectors = vectors;
        index.norms = norms;
        index.ids = ids;
        index.by_id = by_id;
        index.links = super::links::Links::from_levels(params.m, links);
        index.entry = entry;
        Ok(index)
    }
}

fn corrupt(what: String) -> HnswError {
    HnswError::Corrupt(what)
}

/// The bytes not yet read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HnswError> {
        if n > self.0.len() {
            return Err(corrupt("cut short".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], HnswError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, HnswError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, HnswError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, HnswError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, HnswError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}
