#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
use edgenet_core::ErrorCode;
use edgenet_proto::{Frame, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION};
use proptest::prelude::*;

#[test]
fn limits_and_versions() {
    assert_eq!(Frame::decode(&[]).unwrap_err().code(), "EN-200");
    let big = vec![PROTOCOL_VERSION; MAX_FRAME_LEN + 1];
    assert_eq!(
        Frame::decode(&big).unwrap_err(),
        FrameError::TooLarge {
            len: MAX_FRAME_LEN + 1
        }
    );
    assert_eq!(
        Frame::encode(&big[..MAX_FRAME_LEN]).unwrap_err().code(),
        "EN-201"
    );
    assert_eq!(
        Frame::encode(&big[..MAX_FRAME_LEN - 1]).unwrap().len(),
        MAX_FRAME_LEN
    );
    let future = [PROTOCOL_VERSION + 1, 0, 0];
    let err = Frame::decode(&future).unwrap_err();
    assert_eq!(err.code(), "EN-202");
    assert!(err.to_string().contains("upgrade"));
    assert_eq!(
        Frame::decode(&[PROTOCOL_VERSION]).unwrap().body,
        &[] as &[u8]
    );
}

proptest! {
    #[test]
    fn round_trip(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let bytes = Frame::encode(&body).unwrap();
        prop_assert_eq!(Frame::decode(&bytes).unwrap().body, &body[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Frame::decode(&bytes);
    }
}
