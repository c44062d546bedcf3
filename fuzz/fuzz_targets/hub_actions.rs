//! The relay hub under arbitrary lists of network actions (joins, submissions, claims, results,
//! verdicts, escrows, the clock), with `Hub::check_invariants` after every action.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edgenet_sim::actions::hub_actions(data);
});
