//! What the compute Workers call: a task run in slices and the duty cycle around it, and the idle
//! policy the coordinator applies to the page's signals. The logic is in `edgenet-kernels`
//! (`SlicedRun`) and `edgenet-core::throttle`; this only adapts.

use edgenet_core::throttle::{DutyCycle, IdlePolicy, Signals};
use edgenet_kernels::backend::Executor;
use edgenet_kernels::execute::SlicedRun;
use wasm_bindgen::prelude::*;

use crate::connection::task_kind;
use crate::js::{Obj, flag, number, optional_number};
use crate::js_error;

/// A task being run slice by slice.
#[wasm_bindgen]
pub struct TaskRun {
    run: SlicedRun,
    executor: Executor,
}

#[wasm_bindgen]
impl TaskRun {
    /// Decodes `payload` for `kind` (`"vector_search"` or `"encryption"`); throws EN-140/141/142.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, payload: &[u8]) -> Result<TaskRun, JsError> {
        Ok(Self {
            run: SlicedRun::new(task_kind(kind)?, payload).map_err(js_error)?,
            executor: Executor::cpu_only(),
        })
    }

    /// Units not yet run.
    #[wasm_bindgen(js_name = unitsLeft)]
    pub fn units_left(&self) -> u32 {
        self.run.units_left()
    }

    /// Runs up to `units` units; returns whether the task finished.
    pub fn step(&mut self, units: u32) -> Result<bool, JsError> {
        self.run.step(&self.executor, units).map_err(js_error)?;
        Ok(self.run.result().is_some())
    }

    /// The encoded result once finished, else `undefined`.
    pub fn result(&self) -> Option<Vec<u8>> {
        self.run.result().map(<[u8]>::to_vec)
    }
}

/// One compute Worker's duty cycle (see `edgenet_core::throttle::DutyCycle`).
#[wasm_bindgen]
pub struct Throttle {
    duty: DutyCycle,
}

#[wasm_bindgen]
impl Throttle {
    /// A duty cycle at `limit` in [0, 1] with slices of about `slice_ms`.
    #[wasm_bindgen(constructor)]
    pub fn new(limit: f64, slice_ms: f64) -> Result<Throttle, JsError> {
        Ok(Self {
            duty: DutyCycle::new(limit, slice_ms).map_err(js_error)?,
        })
    }

    /// Changes the limit; 0 pauses.
    #[wasm_bindgen(js_name = setLimit)]
    pub fn set_limit(&mut self, limit: f64) -> Result<(), JsError> {
        self.duty.set_limit(limit).map_err(js_error)
    }

    /// Whether any work may run now.
    #[wasm_bindgen(js_name = mayRun)]
    pub fn may_run(&self) -> bool {
        self.duty.may_run()
    }

    /// Units for the next slice.
    #[wasm_bindgen(js_name = sliceUnits)]
    pub fn slice_units(&self, remaining: u32) -> u32 {
        self.duty.slice_units(remaining)
    }

    /// Records a slice; returns the milliseconds to sleep before the next.
    #[wasm_bindgen(js_name = afterSlice)]
    pub fn after_slice(&mut self, start_ms: f64, end_ms: f64, units: u32) -> f64 {
        self.duty.after_slice(start_ms, end_ms, units)
    }
}

/// The site's contribution settings, applied to the page's idle signals.
#[wasm_bindgen]
pub struct Policy {
    policy: IdlePolicy,
}

#[wasm_bindgen]
impl Policy {
    /// From the shim's checked contribution settings `{cpuLimit, focusRequired, minIdleTime,
    /// respectBattery}`; throws EN-160/161 on values out of range.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: JsValue) -> Result<Policy, JsError> {
        let policy = IdlePolicy::new(
            number(&settings, "cpuLimit")?,
            flag(&settings, "focusRequired"),
            number(&settings, "minIdleTime")?,
            flag(&settings, "respectBattery"),
        )
        .map_err(js_error)?;
        Ok(Self { policy })
    }

    /// The share each compute Worker may use now, `{fraction, reason}`, for the page's idle
    /// signals `{visible, focused, msSinceInput, frameRate, onBattery, batteryLevel, saveData}`
    /// (the numbers may be `null`: not known).
    pub fn share(&self, signals: JsValue, paused: bool) -> JsValue {
        let signals = Signals {
            visible: flag(&signals, "visible"),
            focused: flag(&signals, "focused"),
            ms_since_input: optional_number(&signals, "msSinceInput"),
            frame_rate: optional_number(&signals, "frameRate"),
            on_battery: flag(&signals, "onBattery"),
            battery_level: optional_number(&signals, "batteryLevel"),
            save_data: flag(&signals, "saveData"),
        };
        let share = self.policy.share(&signals, paused);
        Obj::new("share")
            .set("fraction", share.fraction)
            .set("reason", share.reason.name())
            .into()
    }
}
