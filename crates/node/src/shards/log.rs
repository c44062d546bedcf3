//! A shard's insert log on disk: one record per batch, appended and synced before the batch is
//! acknowledged, replayed on start. A record is `len (u32 LE) | bytes | SHA-256(bytes)`; a
//! record cut short or failing its checksum (the process died while writing it) ends the log,
//! and the file is cut back to the last whole record, which was the last one acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Largest record the log takes (a signed batch).
pub(crate) const MAX_RECORD: usize = edgenet_core::collection::MAX_BATCH_LEN + 256;

/// An open log and where each record starts.
pub(crate) struct BatchLog {
    file: File,
    /// Offset of each record, and the end.
    offsets: Vec<u64>,
}

impl BatchLog {
    /// Opens (or creates) the log at `path`; returns it with the records it holds.
    pub(crate) fn open(path: &Path) -> std::io::Result<(Self, Vec<Vec<u8>>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (mut records, mut offsets, mut at) = (Vec::new(), vec![0u64], 0usize);
        while let Some(record) = record_at(&bytes, at) {
            at += 4 + record.len() + 32;
            records.push(record.to_vec());
            offsets.push(at as u64);
        }
        if at < bytes.len() {
            tracing::warn!(path = %path.display(), kept = at, dropped = bytes.len() - at,
                "shard log ends in a torn record; cutting it off");
            file.set_len(at as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        Ok((Self { file, offsets }, records))
    }

    /// Appends a record and syncs it to disk.
    pub(crate) fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(record.len())
            .ok()
            .filter(|_| record.len() <= MAX_RECORD)
            .ok_or_else(|| std::io::Error::other("record too large"))?;
        let digest: [u8; 32] = Sha256::digest(record).into();
        let mut buf = Vec::with_capacity(record.len() + 36);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(record);
        buf.extend_from_slice(&digest);
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        let end = self.offsets.last().copied().unwrap_or(0) + buf.len() as u64;
        self.offsets.push(end);
        Ok(())
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Records from `from` on, at least one and then as many as fit in `max_bytes`; and
    /// whether more follow.
    pub(crate) fn read_from(
        &self,
        from: usize,
        max_bytes: usize,
    ) -> std::io::Result<(Vec<Vec<u8>>, bool)> {
        let mut out = Vec::new();
        let mut total = 0usize;
        let mut file = self.file.try_clone()?;
        let mut i = from;
        while i < self.len() {
            let (start, end) = (self.offsets[i], self.offsets[i + 1]);
            let size = (end - start) as usize;
            if !out.is_empty() && total + size > max_bytes {
                break;
            }
            let mut buf = vec![0u8; size];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut buf)?;
            let record = record_at(&buf, 0)
                .ok_or_else(|| std::io::Error::other("a shard log record changed on disk"))?;
            out.push(record.to_vec());
            total += size;
            i += 1;
        }
        Ok((out, i < self.len()))
    }
}

/// The whole record at `at`, if its length and checksum hold.
fn record_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let len_bytes: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_RECORD {
        return None;
    }
    let record = bytes.get(at + 4..at + 4 + len)?;
    let digest = bytes.get(at + 4 + len..at + 4 + len + 32)?;
    (Sha256::digest(record).as_slice() == digest).then_some(record)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_torn_record_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        {
            let (mut log, records) = BatchLog::open(&path).unwrap();
            assert!(records.is_empty());
            log.append(b"first").unwrap();
            log.append(b"second").unwrap();
        }
        // Half a third record, as a crash mid-write leaves it.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, b't', b'h']).unwrap();
        drop(f);
        let (mut log, records) = BatchLog::open(&path).unwrap();
        assert_eq!(records, vec![b"first".to_vec(), b"second".to_vec()]);
        log.append(b"third").unwrap();
        let (_, records) = BatchLog::open(&path).unwrap();
        assert_eq!(records.len(), 3);
        let (log, _) = BatchLog::open(&path).unwrap();
        let (some, more) = log.read_from(1, 1).unwrap();
        assert_eq!((some, more), (vec![b"second".to_vec()], true));
    }
}
