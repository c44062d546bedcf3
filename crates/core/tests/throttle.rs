//! The idle policy's rules and the duty cycle under a simulated clock with late timers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::throttle::{DutyCycle, IdlePolicy, Reason, Signals};
use proptest::prelude::*;

fn idle_page() -> Signals {
    Signals {
        visible: true,
        focused: true,
        ms_since_input: None,
        frame_rate: Some(60.0),
        on_battery: false,
        battery_level: None,
        save_data: false,
    }
}

#[test]
fn policy_rules() {
    let p = IdlePolicy::new(0.4, false, 5_000.0, true).unwrap();
    let share = |s: &Signals| p.share(s, false);
    assert_eq!(share(&idle_page()).fraction, 0.4);
    assert_eq!(share(&idle_page()).reason, Reason::Idle);
    assert_eq!(p.share(&idle_page(), true).reason, Reason::Paused);
    assert_eq!(p.share(&idle_page(), true).fraction, 0.0);

    let hidden = Signals {
        visible: false,
        ..idle_page()
    };
    assert_eq!(
        (share(&hidden).fraction, share(&hidden).reason),
        (0.0, Reason::Hidden)
    );

    // Focus matters only when required.
    let unfocused = Signals {
        focused: false,
        ..idle_page()
    };
    assert_eq!(share(&unfocused).fraction, 0.4);
    let strict = IdlePolicy::new(0.4, true, 5_000.0, true).unwrap();
    assert_eq!(strict.share(&unfocused, false).reason, Reason::Unfocused);

    let active = Signals {
        ms_since_input: Some(1_000.0),
        ..idle_page()
    };
    assert_eq!(share(&active).fraction, 0.2);
    assert_eq!(share(&active).reason, Reason::VisitorActive);
    let long_ago = Signals {
        ms_since_input: Some(6_000.0),
        ..idle_page()
    };
    assert_eq!(share(&long_ago).reason, Reason::Idle);

    let slow = Signals {
        frame_rate: Some(20.0),
        ..active.clone()
    };
    // Factors multiply; the smallest names the reason.
    assert!((share(&slow).fraction - 0.4 * 0.25 * 0.5).abs() < 1e-12);
    assert_eq!(share(&slow).reason, Reason::FramesDropping);

    let battery = Signals {
        on_battery: true,
        battery_level: Some(0.8),
        ..idle_page()
    };
    assert_eq!(share(&battery).fraction, 0.2);
    let low = Signals {
        battery_level: Some(0.1),
        ..battery.clone()
    };
    assert_eq!(share(&low).reason, Reason::BatteryLow);
    let careless = IdlePolicy::new(0.4, false, 5_000.0, false).unwrap();
    assert_eq!(careless.share(&low, false).fraction, 0.4);

    let save = Signals {
        save_data: true,
        ..idle_page()
    };
    assert_eq!(share(&save).reason, Reason::SaveData);
}

#[test]
fn bad_settings_have_codes() {
    for bad in [0.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            IdlePolicy::new(bad, false, 0.0, true).unwrap_err().code(),
            "EN-160"
        );
    }
    assert_eq!(
        IdlePolicy::new(0.3, false, -1.0, true).unwrap_err().code(),
        "EN-161"
    );
    assert_eq!(DutyCycle::new(1.2, 10.0).unwrap_err().code(), "EN-160");
    assert_eq!(DutyCycle::new(0.5, f64::NAN).unwrap_err().code(), "EN-161");
}

/// Runs `total_units` of work costing `ms_per_unit` each under `limit`, with every timer firing
/// `late_ms` late; returns (busy, wall, longest slice).
fn simulate(limit: f64, ms_per_unit: f64, total_units: u32, late_ms: f64) -> (f64, f64, f64) {
    let mut duty = DutyCycle::new(limit, 10.0).unwrap();
    let mut now = 1_000.0;
    let start = now;
    let (mut busy, mut longest) = (0.0f64, 0.0f64);
    let mut left = total_units;
    while left > 0 {
        let units = duty.slice_units(left);
        let cost = f64::from(units) * ms_per_unit;
        let end = now + cost;
        busy += cost;
        longest = longest.max(cost);
        left -= units;
        let sleep = duty.after_slice(now, end, units);
        now = end + if left > 0 { sleep + late_ms } else { 0.0 };
    }
    (busy, now - start, longest)
}

#[test]
fn holds_the_limit_with_late_timers() {
    for (limit, late) in [(0.3, 0.0), (0.3, 4.0), (0.5, 1.0), (0.1, 4.0), (1.0, 0.0)] {
        let (busy, wall, longest) = simulate(limit, 0.37, 30_000, late);
        let share = busy / wall;
        assert!(
            share <= limit * 1.01 && share >= limit * 0.85,
            "limit {limit}, late {late}: share {share}"
        );
        // Slices stay near the target (first slice measures one unit).
        assert!(longest <= 10.0 + 0.37, "slice of {longest} ms");
    }
}

#[test]
fn idle_time_is_not_credit() {
    let mut duty = DutyCycle::new(0.25, 10.0).unwrap();
    duty.after_slice(0.0, 10.0, 10);
    // A long idle gap, then a slice: the sleep after it is still the full 3x busy time.
    let sleep = duty.after_slice(60_000.0, 60_010.0, 10);
    assert!((sleep - 30.0).abs() < 1e-9, "sleep {sleep}");
}

proptest! {
    #[test]
    fn never_exceeds_the_limit(
        limit in 0.05f64..=1.0,
        cost in 0.01f64..5.0,
        units in 1u32..5_000,
        late in 0.0f64..8.0,
    ) {
        let (busy, wall, _) = simulate(limit, cost, units, late);
        // Every sleep pays for the slice before it; only the last slice (nothing follows it) is
        // unpaid, and a slice is at most the 10 ms target or one indivisible unit.
        prop_assert!(busy <= limit * wall + 10.0 + cost + 1e-6, "busy {} wall {}", busy, wall);
    }
}
