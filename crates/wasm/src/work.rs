//! `WorkSolver`: the relay's proof-of-work challenges (`edgenet_core::work`) solved a slice at a
//! time, so the coordinator Worker can yield to its socket and to pausing between slices.

use wasm_bindgen::prelude::*;

/// A search for one challenge's nonce.
#[wasm_bindgen]
pub struct WorkSolver(edgenet_core::work::Solver);

#[wasm_bindgen]
impl WorkSolver {
    /// A search for `challenge` (32 bytes) at `bits` leading zero bits.
    #[wasm_bindgen(constructor)]
    pub fn new(challenge: &[u8], bits: u8) -> Result<WorkSolver, JsError> {
        let challenge: [u8; 32] = challenge
            .try_into()
            .map_err(|_| JsError::new("EN-222: a work challenge is 32 bytes"))?;
        if bits > edgenet_core::work::MAX_BITS {
            return Err(JsError::new("EN-222: more work asked than a client does"));
        }
        Ok(Self(edgenet_core::work::Solver::new(challenge, bits)))
    }

    /// Tries the next `tries` nonces (about a millisecond each natively, a few in a browser):
    /// the nonce that proves the work, or `undefined`.
    pub fn step(&mut self, tries: u32) -> Option<f64> {
        self.0.step(tries).map(|n| n as f64)
    }
}
