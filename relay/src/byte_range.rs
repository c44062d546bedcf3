//! One `Range: bytes=…` request header (RFC 9110 §14), for the files the relay serves whole from
//! memory: a single range (`a-b`, `a-`, or the last `n` bytes, `-n`) is answered 206 with that
//! slice; a range past the end, 416. Several ranges, or a header this does not read, are ignored
//! and the whole file goes out (which a server may always do).

use std::ops::Range;

/// What to send for a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The whole file (no range, or one this ignores).
    Whole,
    /// These bytes (206).
    Part(Range<usize>),
    /// Nothing of the file is in the range (416).
    Unsatisfiable,
}

/// What a `Range` header value asks of a file of `len` bytes.
pub fn answer(header: Option<&str>, len: usize) -> Answer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Answer::Whole;
    };
    if spec.contains(',') {
        return Answer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Answer::Whole;
    };
    let number = |s: &str| s.trim().parse::<usize>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // The last `n` bytes.
        (true, _, Some(n)) if n > 0 && len > 0 => Answer::Part(len.saturating_sub(n)..len),
        (true, _, Some(_)) => Answer::Unsatisfiable,
        (false, Some(a), _) if a >= len => Answer::Unsatisfiable,
        (false, Some(a), None) if last.trim().is_empty() => Answer::Part(a..len),
        (false, Some(a), Some(b)) if b >= a => Answer::Part(a..len.min(b.saturating_add(1))),
        _ => Answer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_of_one_range() {
        assert_eq!(answer(Some("bytes=0-99"), 1000), Answer::Part(0..100));
        assert_eq!(answer(Some("bytes=900-"), 1000), Answer::Part(900..1000));
        assert_eq!(answer(Some("bytes=-100"), 1000), Answer::Part(900..1000));
        assert_eq!(answer(Some("bytes=-5000"), 1000), Answer::Part(0..1000));
        assert_eq!(
            answer(Some("bytes=990-5000"), 1000),
            Answer::Part(990..1000)
        );
        assert_eq!(answer(Some("bytes=1000-"), 1000), Answer::Unsatisfiable);
        assert_eq!(answer(Some("bytes=-0"), 1000), Answer::Unsatisfiable);
    }

    #[test]
    fn what_it_does_not_read_gets_the_whole_file() {
        for h in [
            None,
            Some("items=0-1"),
            Some("bytes=0-1,5-9"),
            Some("bytes=9-2"),
            Some("bytes=x-"),
            Some("bytes="),
        ] {
            assert_eq!(answer(h, 1000), Answer::Whole, "{h:?}");
        }
    }
}
