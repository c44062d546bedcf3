//! What makes a ledger signature valid, defined so that checking one at a time and checking a
//! batch always give the same answer (the approach of Zcash's ZIP-215).
//!
//! Ed25519 verifiers disagree at the edges: the cofactorless check `[s]B = R + [k]A` (ed25519-dalek's
//! `verify_strict`) and a randomized batch check can differ on signatures whose `R` carries a
//! small-order component, which only the key's owner can make. In consensus code that would let an
//! owner split replicas. So the ledger uses the *cofactored* equation `[8]([s]B − R − [k]A) = 0`
//! everywhere: a batch multiplies by the cofactor too, and then it accepts exactly the signatures
//! that pass one by one (a wrong one slips through with probability about 2^−125).
//!
//! Also required: `s` canonical (< ℓ), `R` a canonical point encoding, `A` a valid [`NodeId`](crate::NodeId)
//! (canonical, not small order). `k = SHA-512(R ‖ A ‖ message) mod ℓ` as in RFC 8032.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

use super::LedgerError;
use super::account::Account;

/// One signature to check: signer, message, 64 signature bytes.
pub struct Item<'a> {
    /// The signer.
    pub signer: &'a Account,
    /// The signed message.
    pub message: &'a [u8],
    /// `R ‖ s`.
    pub signature: &'a [u8],
}

/// The parsed parts of one item.
struct Parsed {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// Whether 32 bytes are the canonical encoding of a point's y (with x's sign bit): y < p, and no
/// "negative zero" x. Checked on the bytes, so no second field inversion (a compress) is needed.
fn is_canonical(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // p = 2^255 - 19: y >= p exactly when y is 0x7fff...ffed or above.
    let y_ge_p = y[0] >= 0xed && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    // x = 0 only for y = 1 or y = p - 1; then a set sign bit is a second encoding of that point.
    let one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    let minus_one = y[0] == 0xec && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    !y_ge_p && !(sign == 1 && (one || minus_one))
}

fn decompress_canonical(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Decompressed, checked public keys by account: a key's decompression costs about as much as a
/// third of a verification, and a ledger sees the same accounts again and again.
#[derive(Debug, Clone)]
pub struct KeyCache {
    points: HashMap<Account, EdwardsPoint>,
    capacity: usize,
}

impl Default for KeyCache {
    /// A ledger's cache: up to 2^20 keys (about 200 MB at most).
    fn default() -> Self {
        Self::with_capacity(1 << 20)
    }
}

impl KeyCache {
    /// A cache that holds at most `capacity` keys (it starts over when full): what bounds the
    /// memory a flood of new accounts can take.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            points: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The account's point, checked once: canonical, on the curve, not of small order.
    fn point(&mut self, account: &Account) -> Result<EdwardsPoint, LedgerError> {
        if let Some(p) = self.points.get(account) {
            return Ok(*p);
        }
        let p = decompress_canonical(&account.0).ok_or(LedgerError::BadAccount)?;
        if p.is_small_order() {
            return Err(LedgerError::BadAccount);
        }
        if self.points.len() >= self.capacity {
            self.points.clear();
        }
        self.points.insert(*account, p);
        Ok(p)
    }
}

fn parse(item: &Item<'_>, keys: &mut KeyCache) -> Result<Parsed, LedgerError> {
    let a = keys.point(item.signer)?;
    let sig: &[u8; 64] = item
        .signature
        .try_into()
        .map_err(|_| LedgerError::BadSignature)?;
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let r = decompress_canonical(&r_bytes).ok_or(LedgerError::BadSignature)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(LedgerError::BadSignature)?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(item.signer.0);
    h.update(item.message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Parsed { a, r, s, k })
}

/// Checks one signature.
pub fn verify(item: &Item<'_>) -> Result<(), LedgerError> {
    verify_with(item, &mut KeyCache::default())
}

/// [`verify`] with a cache of decompressed keys.
pub fn verify_with(item: &Item<'_>, keys: &mut KeyCache) -> Result<(), LedgerError> {
    let p = parse(item, keys)?;
    // [s]B − [k]A − R, then times the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-p.k, &p.a, &p.s);
    if (sb_minus_ka - p.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(LedgerError::BadSignature)
    }
}

/// Checks many signatures at once: `Ok` exactly when every one of them passes [`verify`] (but
/// for a negligible chance). On `Err`, check them one by one to find which failed.
pub fn verify_batch(items: &[Item<'_>]) -> Result<(), LedgerError> {
    verify_batch_with(items, &mut KeyCache::default())
}

/// [`verify_batch`] with a cache of decompressed keys.
pub fn verify_batch_with(items: &[Item<'_>], keys: &mut KeyCache) -> Result<(), LedgerError> {
    if items.is_empty() {
        return Ok(());
    }
    let parsed: Vec<Parsed> = items
        .iter()
        .map(|i| parse(i, keys))
        .collect::<Result<_, _>>()?;
    // The random weights come from a hash of the whole batch, so they are fixed only after every
    // signature is: no signer can aim at them.
    let mut transcript = Sha512::new();
    transcript.update(b"edgenet/ledger-batch/v1");
    for (item, p) in items.iter().zip(&parsed) {
        transcript.update(item.signature);
        transcript.update(item.signer.0);
        transcript.update(p.k.as_bytes());
    }
    let seed: [u8; 64] = transcript.finalize().into();
    let mut base = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * parsed.len() + 1);
    let mut points = Vec::with_capacity(2 * parsed.len() + 1);
    for (i, p) in parsed.iter().enumerate() {
        let mut h = Sha512::new();
        h.update(seed);
        h.update((i as u64).to_le_bytes());
        let wide: [u8; 64] = h.finalize().into();
        let mut z = [0u8; 16];
        z.copy_from_slice(&wide[..16]);
        let z = Scalar::from(u128::from_le_bytes(z));
        base += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        scalars.push(-(z * p.k));
        points.push(p.a);
    }
    scalars.push(base);
    points.push(ED25519_BASEPOINT_POINT);
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
    if sum.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(LedgerError::BadSignature)
    }
}
