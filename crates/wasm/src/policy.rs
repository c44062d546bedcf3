//! The idle policy the coordinator applies to the page's signals (`edgenet-core::throttle`);
//! this only adapts. (The compute Workers' sliced runs and duty cycle are in
//! `edgenet-wasm-compute`, a module of its own.)

use edgenet_core::throttle::{IdlePolicy, Signals};
use wasm_bindgen::prelude::*;

use crate::js::{Obj, flag, number, optional_number};
use crate::js_error;

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
