//! `radix` against the reference codec (`data-encoding`) on random bytes and random text:
//! the same text for the same bytes, and the same answer (bytes or refusal) for any text.
#![allow(clippy::unwrap_used)] // test code

use data_encoding::{BASE32_NOPAD, BASE64, HEXLOWER};
use edgenet_core::radix;
use proptest::prelude::*;

/// Text over `alphabet`: mostly valid characters, sometimes others, any length.
fn text(alphabet: &'static str) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().chain("=!Z9a/".chars()).collect();
    proptest::collection::vec(proptest::sample::select(chars), 0..40)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn encodings_are_the_references(bytes in proptest::collection::vec(any::<u8>(), 0..70)) {
        prop_assert_eq!(radix::hex(&bytes), HEXLOWER.encode(&bytes));
        prop_assert_eq!(radix::base32(&bytes), BASE32_NOPAD.encode(&bytes).to_ascii_lowercase());
        prop_assert_eq!(radix::base64(&bytes), BASE64.encode(&bytes));
        prop_assert_eq!(radix::from_hex(&radix::hex(&bytes)), Some(bytes.clone()));
        prop_assert_eq!(radix::from_base32(&radix::base32(&bytes)), Some(bytes.clone()));
        prop_assert_eq!(radix::from_base64(&radix::base64(&bytes)), Some(bytes));
    }

    #[test]
    fn hex_decodes_as_the_reference(s in text("0123456789abcdefABCDEF")) {
        prop_assert_eq!(radix::from_hex(&s), HEXLOWER.decode(s.as_bytes()).ok());
    }

    #[test]
    fn base32_decodes_as_the_reference(s in text("abcdefghijklmnopqrstuvwxyz234567ABCXYZ")) {
        let reference = BASE32_NOPAD.decode(s.to_ascii_uppercase().as_bytes()).ok();
        prop_assert_eq!(radix::from_base32(&s), reference);
    }

    /// The reference also reads padded blocks one after another ("AAE=AAAA"), which no encoder
    /// writes: those are refused here.
    #[test]
    fn base64_decodes_as_the_reference(s in text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/==")) {
        if s.trim_end_matches('=').contains('=') {
            prop_assert_eq!(radix::from_base64(&s), None);
        } else {
            prop_assert_eq!(radix::from_base64(&s), BASE64.decode(s.as_bytes()).ok());
        }
    }
}

#[test]
fn a_second_text_for_the_same_bytes_is_refused() {
    // "f" is 0x66: hex "66", base32 "my", base64 "Zg==". Non-zero unused bits are other texts.
    assert_eq!(radix::from_base32("my"), Some(vec![0x66]));
    assert_eq!(radix::from_base32("mz"), None);
    assert_eq!(radix::from_base64("Zg=="), Some(vec![0x66]));
    assert_eq!(radix::from_base64("Zh=="), None);
    assert_eq!(radix::from_base64("Zg="), None);
    assert_eq!(radix::from_hex("6F"), None);
}
