//! The reference runner on the WAT guest (`guests/reverse.wat`): the ABI round trip, and every
//! way a call ends, each the same on every run, with the same fuel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use edgenet_core::ErrorCode;
use edgenet_sandbox::runner::{Ended, Run, Trap, run};
use edgenet_sandbox::{Limits, Prepared, prepare};

fn guest() -> Prepared {
    let wat = include_str!("../guests/reverse.wat");
    prepare(&wat::parse_str(wat).unwrap(), &Limits::default()).unwrap()
}

fn twice(p: &Prepared, input: &[u8], fuel: u64) -> Run {
    let first = run(p, input, fuel, &Limits::default());
    assert_eq!(
        first,
        run(p, input, fuel, &Limits::default()),
        "a call ends the same each time"
    );
    first
}

#[test]
fn the_guest_answers_and_its_fuel_grows_with_its_input() {
    let p = guest();
    let short = twice(&p, b"hello", 1_000_000);
    assert_eq!(short.ended, Ended::Output(b"olleh".to_vec()));
    let long_input: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let long = twice(&p, &long_input, 100_000_000);
    let mut reversed = long_input.clone();
    reversed.reverse();
    assert_eq!(
        long.ended,
        Ended::Output(reversed),
        "past the first page: the guest grew memory"
    );
    assert!(long.fuel_used > 100 * short.fuel_used);
}

#[test]
fn each_way_to_fail_has_its_code_and_the_same_fuel() {
    let p = guest();
    let code = |r: &Run| match &r.ended {
        Ended::Trap(t) => t.code(),
        Ended::Output(o) => panic!("an output: {o:?}"),
    };
    let spin = twice(&p, &[0xff], 50_000);
    assert_eq!(
        (code(&spin), spin.ended.clone()),
        ("EN-611", Ended::Trap(Trap::OutOfFuel))
    );
    assert!(spin.fuel_used >= 50_000 && spin.fuel_used < 50_020);
    assert_eq!(code(&twice(&p, &[0xfe], 10_000_000)), "EN-612");
    assert_eq!(code(&twice(&p, &[0xfd], 10_000)), "EN-610");
    // Too little fuel even for the input's copy.
    assert_eq!(code(&twice(&p, &[1; 10_000], 100)), "EN-611");
}

#[test]
fn a_module_without_the_abi_is_told_apart() {
    let bare = prepare(&wat::parse_str("(module)").unwrap(), &Limits::default()).unwrap();
    let r = run(&bare, b"x", 1000, &Limits::default());
    assert!(matches!(r.ended, Ended::Trap(Trap::Abi(_))), "{r:?}");
    assert_eq!(r.fuel_used, 0);
    // An output that points past the memory.
    let liar = prepare(
        &wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "alloc") (param i32) (result i32) (i32.const 0))
                (func (export "run") (param i32 i32) (result i64) (i64.const 0x7fff000000000010)))"#,
        )
        .unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let r = run(&liar, b"x", 1000, &Limits::default());
    assert_eq!(
        match &r.ended {
            Ended::Trap(t) => t.code(),
            _ => "",
        },
        "EN-613"
    );
}
