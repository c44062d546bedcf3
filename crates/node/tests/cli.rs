//! The CLI as a user runs it: a real process, real files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::process::{Command, Output};

fn node(key_file: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgenet-node"))
        .arg("--key-file")
        .arg(key_file)
        .args(args)
        .env("BACKUP_PASSPHRASE", "hunter2 but longer")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn id_is_stable_and_backup_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node.key");
    let id = stdout(&node(&key, &["id"]));
    assert_eq!(id.len(), 52);
    assert_eq!(stdout(&node(&key, &["id"])), id);
    assert_eq!(stdout(&node(&key, &["id", "--short"])), id[..10]);

    let backup = dir.path().join("backup.key");
    std::fs::write(
        &backup,
        stdout(&node(
            &key,
            &["export", "--passphrase-env", "BACKUP_PASSPHRASE"],
        )),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(&backup)
            .unwrap()
            .contains("BEGIN EDGENET SECRET KEY")
    );

    let restored = dir.path().join("restored.key");
    let no_pass = node(&restored, &["import", backup.to_str().unwrap()]);
    assert!(!no_pass.status.success());
    assert!(String::from_utf8_lossy(&no_pass.stderr).contains("EN-113"));
    assert_eq!(
        stdout(&node(
            &restored,
            &[
                "import",
                backup.to_str().unwrap(),
                "--passphrase-env",
                "BACKUP_PASSPHRASE"
            ]
        )),
        id
    );
    assert_eq!(stdout(&node(&restored, &["id"])), id);

    let again = node(
        &restored,
        &[
            "import",
            backup.to_str().unwrap(),
            "--passphrase-env",
            "BACKUP_PASSPHRASE",
        ],
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("EN-130"),
        "refuses to replace an identity"
    );
}

#[test]
fn check_profiles_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&node(&dir.path().join("k"), &["check", "--json"]))).unwrap();
    assert!(["avx2", "portable-simd"].contains(&report["backend"].as_str().unwrap()));
    assert!(report["cores"].as_u64().unwrap() >= 1);
    assert!(report["scan_qps"].as_f64().unwrap() > 0.0);
    assert_eq!(report["results_agree"], true);
    assert!(report["verdict"].as_str().unwrap().len() > 10);
    assert!(
        report["measured"].as_array().unwrap().len() >= 2,
        "both CPU timings are reported"
    );
    let chosen = report["chosen"].as_array().unwrap();
    for c in chosen {
        assert!(["avx2", "portable-simd", "gpu"].contains(&c.as_str().unwrap()));
    }
}
