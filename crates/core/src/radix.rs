//! Bytes as text: lowercase hex (task and collection ids), lowercase unpadded base32 (node ids)
//! and padded base64 (key files), written for exactly these three forms.
//!
//! A general-purpose codec (`data-encoding`) took 30 KB of the page's first wasm module for
//! what fits in a few hundred bytes here. Decoders are strict, as that crate's were: hex only
//! lowercase, base32 in either case, base64 with its padding, and in both base32 and base64 the
//! unused low bits of the last character must be zero, so that each byte string has exactly one
//! text (`tests/radix.rs` checks all three against `data-encoding` on random input).

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The bytes of lowercase hex; `None` for any other character or an odd length.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| HEX.iter().position(|&h| h == c).map(|d| d as u8);
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Packs `bits`-bit symbols, most significant first, into bytes; `None` when the bits left over
/// are a whole byte or more (a length no encoder makes) or are not all zero (a second text for
/// the same bytes).
fn pack(symbols: impl Iterator<Item = Option<u8>>, bits: u32) -> Option<Vec<u8>> {
    let (mut acc, mut held, mut out) = (0u32, 0u32, Vec::new());
    for symbol in symbols {
        acc = (acc << bits) | u32::from(symbol?);
        held += bits;
        if held >= 8 {
            held -= 8;
            out.push((acc >> held) as u8);
            acc &= (1 << held) - 1;
        }
    }
    (held < bits && acc == 0).then_some(out)
}

/// Cuts bytes into `bits`-bit symbols, most significant first, the last one padded with zero bits.
fn unpack(bytes: &[u8], bits: u32, alphabet: &[u8]) -> String {
    let (mut acc, mut held) = (0u32, 0u32);
    let mut out = String::with_capacity(bytes.len() * 8 / bits as usize + 1);
    let mask = (1 << bits) - 1;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        held += 8;
        while held >= bits {
            held -= bits;
            out.push(char::from(alphabet[((acc >> held) & mask) as usize]));
        }
        acc &= (1 << held) - 1;
    }
    if held > 0 {
        out.push(char::from(
            alphabet[((acc << (bits - held)) & mask) as usize],
        ));
    }
    out
}

/// Lowercase base32 (RFC 4648's alphabet), without padding.
pub fn base32(bytes: &[u8]) -> String {
    unpack(bytes, 5, BASE32)
}

/// The bytes of unpadded base32, in either case.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let symbol = |c: u8| {
        let c = c.to_ascii_lowercase();
        BASE32.iter().position(|&s| s == c).map(|s| s as u8)
    };
    pack(text.bytes().map(symbol), 5)
}

/// Standard base64 (RFC 4648), padded with `=` to a multiple of four characters.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = unpack(bytes, 6, BASE64);
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// The bytes of padded standard base64.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let body = text.trim_end_matches('=');
    // One or two `=`, only where the last group lacks characters.
    if text.len() - body.len() > 2 || (body.len() % 4 == 1) {
        return None;
    }
    let symbol = |c: u8| BASE64.iter().position(|&s| s == c).map(|s| s as u8);
    pack(body.bytes().map(symbol), 6)
}
