#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
use std::os::unix::fs::PermissionsExt;

use edgenet_core::ErrorCode;
use edgenet_keystore::{Origin, load, load_or_create, save};

#[test]
fn creates_with_0600_then_loads_the_same_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/node.key");
    let (first, origin) = load_or_create(&path).unwrap();
    assert_eq!(origin, Origin::Created);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (second, origin) = load_or_create(&path).unwrap();
    assert_eq!(origin, Origin::Loaded);
    assert_eq!(first.node_id(), second.node_id());
}

#[test]
fn refuses_readable_corrupt_and_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_or_create(&path).unwrap_err();
    assert_eq!(err.code(), "EN-131");
    assert!(err.to_string().contains("chmod 600"), "{err}");

    let junk = dir.path().join("junk.key");
    save(&junk, "not a key").unwrap();
    assert_eq!(load(&junk, None).unwrap_err().code(), "EN-110");
    assert_eq!(
        save(&junk, "again").unwrap_err().code(),
        "EN-130",
        "never overwrites"
    );
    assert_eq!(
        std::fs::read_to_string(&junk).unwrap(),
        "not a key",
        "no data lost"
    );
}
