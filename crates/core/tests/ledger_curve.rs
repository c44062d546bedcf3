//! The early-adopter curve in fixed point: within 1 ppm of the real function, and the same bits
//! on every platform (the fingerprint below is also checked by the wasm tests in Chromium).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ledger::curve::{
    ONE, SAMPLE_FINGERPRINT, bonus, multiplier_ppm, sample_fingerprint, sample_inputs,
};

#[test]
fn ten_thousand_values_match_the_committed_fingerprint() {
    assert_eq!(
        sample_fingerprint(),
        SAMPLE_FINGERPRINT,
        "{:#x}",
        sample_fingerprint()
    );
}

#[test]
fn within_one_ppm_of_the_real_curve() {
    // f64 here is the test's reference only; consensus code never calls it.
    let mut worst = 0f64;
    for x in sample_inputs().chain([1, 3_599_999_999, 3_600_000_001, 100_000_000_000]) {
        let exact = 1e6 * (1.0 + 9.0 * (-(x as f64) / 3.6e9).exp());
        let got = multiplier_ppm(x) as f64;
        worst = worst.max((got - exact).abs());
        assert!(
            got <= exact.ceil() && got >= exact.floor() - 1.0,
            "x = {x}: {got} vs {exact}"
        );
    }
    assert!(worst < 1.0, "worst error {worst} ppm");
}

#[test]
fn bonus_is_the_multiplier_minus_one_times_the_payment() {
    assert_eq!(bonus(5_000_000, u64::MAX), 0);
    assert_eq!(bonus(5_000_000, 0), 45_000_000);
    let m = multiplier_ppm(3_600_000_000);
    assert_eq!(bonus(ONE, 3_600_000_000), m - ONE);
    // 9 x u64::MAX does not fit: it saturates rather than wrapping.
    assert_eq!(bonus(u64::MAX, 0), u64::MAX);
}
