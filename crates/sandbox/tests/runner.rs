//! The reference runner and wasmtime on the WAT guest (`guests/reverse.wat`): the ABI round
//! trip, and every way a call ends, each the same on every run and on both runners, with the
//! same fuel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use edgenet_core::ErrorCode;
use edgenet_sandbox::executor::Runner;
use edgenet_sandbox::runner::{Ended, Run, Trap, run};
use edgenet_sandbox::wasmtime_runner::Wasmtime;
use edgenet_sandbox::{Limits, Prepared, prepare};
use std::sync::OnceLock;
use std::time::Duration;

fn guest() -> Prepared {
    let wat = include_str!("../guests/reverse.wat");
    prepare(&wat::parse_str(wat).unwrap(), &Limits::default()).unwrap()
}

/// wasmtime, shared by the tests (its epoch thread and compiled modules with it).
pub fn wasmtime() -> &'static Wasmtime {
    static RUNNER: OnceLock<Wasmtime> = OnceLock::new();
    RUNNER.get_or_init(|| Wasmtime::new(Duration::from_secs(60)).unwrap())
}

/// A call on the reference runner, twice, and on wasmtime: the three end alike.
fn twice(p: &Prepared, input: &[u8], fuel: u64) -> Run {
    let first = run(p, input, fuel, &Limits::default());
    assert_eq!(
        first,
        run(p, input, fuel, &Limits::default()),
        "a call ends the same each time"
    );
    let native = wasmtime().run(p, input, fuel, &Limits::default()).unwrap();
    assert_eq!(
        (trap_code(&first), first.fuel_used),
        (trap_code(&native), native.fuel_used),
        "wasmtime ends the call as the reference runner does"
    );
    if let Ended::Output(o) = &first.ended {
        assert_eq!(native.ended, Ended::Output(o.clone()));
    }
    first
}

/// The code a call ended with (what replicas compare), or none for an output.
fn trap_code(r: &Run) -> Option<&'static str> {
    match &r.ended {
        Ended::Trap(t) => Some(t.code()),
        Ended::Output(_) => None,
    }
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

/// A guest that answers with `answer`'s four bytes, in the entry-point ABI: `alloc` gives
/// address 0, `run` writes at 16 and returns where.
fn abi_guest(answer: &str, limits: &Limits) -> Prepared {
    let wat = format!(
        r#"(module (memory (export "memory") 1)
            (func (export "alloc") (param i32) (result i32) (i32.const 0))
            (func (export "run") (param $p i32) (param $n i32) (result i64)
              (i32.store (i32.const 16) {answer})
              (i64.const 0x0000001000000004)))"#
    );
    prepare(&wat::parse_str(wat).unwrap(), limits).unwrap()
}

#[test]
fn a_nan_has_the_same_bits_on_both_runners() {
    // 0/0 (x86 makes 0xffc00000 of it), and a NaN with a payload through a SIMD multiply.
    for expr in [
        "(i32.reinterpret_f32 (f32.div (f32.const 0) (f32.convert_i32_u (local.get $n))))",
        "(i32x4.extract_lane 2 (f32x4.mul (v128.const i32x4 0 0 0x7fa00001 0) (f32x4.splat (f32.const 2))))",
    ] {
        let p = abi_guest(expr, &Limits::default());
        let r = twice(&p, b"", 10_000);
        assert_eq!(
            r.ended,
            Ended::Output(0x7fc0_0000u32.to_le_bytes().to_vec()),
            "{expr}"
        );
    }
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit_on_both_runners() {
    // Grows a page at a time until refused, then answers with the pages it has.
    let bomb = "(block $full (loop $more \
                  (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) \
                  (br $more))) (memory.size)";
    for pages in [2u32, 16, 64] {
        let limits = Limits {
            max_memory_pages: pages,
            ..Limits::default()
        };
        let p = abi_guest(bomb, &limits);
        let r = run(&p, b"", 1_000_000, &limits);
        assert_eq!(r.ended, Ended::Output(pages.to_le_bytes().to_vec()));
        assert_eq!(wasmtime().run(&p, b"", 1_000_000, &limits).unwrap(), r);
    }
}

#[test]
fn wasmtimes_wall_clock_gives_the_task_up_instead_of_answering() {
    let quick = Wasmtime::new(Duration::from_millis(200)).unwrap();
    let p = guest();
    // Fuel for hours: only the wall clock stops it.
    let stopped = quick.run(&p, &[0xff], u64::MAX / 2, &Limits::default());
    let backstop = stopped.unwrap_err();
    assert_eq!(backstop.code(), "EN-614");
    // The runner still works after it.
    assert_eq!(
        quick
            .run(&p, b"ab", 1_000_000, &Limits::default())
            .unwrap()
            .ended,
        Ended::Output(b"ba".to_vec())
    );
}

#[test]
fn funcref_tables_run_on_both_runners_and_externref_is_refused() {
    let abi = r#"(memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) (i32.const 0))"#;
    let funcref = format!(
        r#"(module {abi} (table 1 funcref)
            (func (export "run") (param i32 i32) (result i64)
              (drop (ref.is_null (table.get 0 (i32.const 0)))) (i64.const 0)))"#
    );
    let p = prepare(&wat::parse_str(funcref).unwrap(), &Limits::default()).unwrap();
    assert_eq!(twice(&p, b"", 1000).ended, Ended::Output(Vec::new()));
    // wasmtime without a collector cannot compile externref: no runner may be handed it.
    let externref = format!("(module {abi} (table 1 externref))");
    let refused = prepare(&wat::parse_str(externref).unwrap(), &Limits::default()).unwrap_err();
    assert_eq!(refused.code(), "EN-601");
}

#[test]
fn the_static_abi_check_refuses_what_the_engines_typed_lookups_refuse() {
    use edgenet_sandbox::abi::check_exports;
    let mem = r#"(memory (export "memory") 1)"#;
    let alloc = r#"(func (export "alloc") (param i32) (result i32) (i32.const 0))"#;
    let run_ok = r#"(func (export "run") (param i32 i32) (result i64) (i64.const 0))"#;
    let cases = [
        (format!("(module {mem} {alloc} {run_ok})"), true),
        (format!("(module {alloc} {run_ok})"), false),
        (
            format!(
                r#"(module {mem} (func (export "alloc") (param i64) (result i32) (i32.const 0)) {run_ok})"#
            ),
            false,
        ),
        (
            format!(r#"(module {mem} (func (export "alloc") (param i32)) {run_ok})"#),
            false,
        ),
        (
            format!(
                r#"(module {mem} {alloc} (func (export "run") (param i32 i32) (result i32) (i32.const 0)))"#
            ),
            false,
        ),
        (
            format!(r#"(module {mem} {alloc} (global (export "run") i32 (i32.const 0)))"#),
            false,
        ),
        (format!(r#"(module {mem} {alloc})"#), false),
    ];
    for (wat, ok) in cases {
        let p = prepare(&wat::parse_str(&wat).unwrap(), &Limits::default()).unwrap();
        assert_eq!(check_exports(&p.bytes).is_ok(), ok, "{wat}");
        let r = twice(&p, b"x", 1000);
        if !ok {
            assert_eq!((trap_code(&r), r.fuel_used), (Some("EN-613"), 0), "{wat}");
        }
    }
}

#[test]
fn the_nan_guest_answers_canonical_nans_on_both_runners() {
    let wat = include_str!("../guests/nan.wat");
    let p = prepare(&wat::parse_str(wat).unwrap(), &Limits::default()).unwrap();
    let r = twice(&p, b"anything", 10_000);
    let want: Vec<u8> = [0x7fc0_0000u32, 0x7fc0_0000]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    assert_eq!(r.ended, Ended::Output(want));
}
