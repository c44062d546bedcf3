//! Small helpers for building the plain JS objects the shim reads (no serde: it costs size).

use wasm_bindgen::prelude::*;

/// A plain object built field by field.
pub(crate) struct Obj(js_sys::Object);

impl Obj {
    pub(crate) fn new(kind: &str) -> Self {
        Self(js_sys::Object::new()).set("type", kind)
    }

    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    pub(crate) fn set_strings(self, key: &str, values: impl IntoIterator<Item = String>) -> Self {
        let array = js_sys::Array::new();
        for v in values {
            array.push(&JsValue::from(v));
        }
        self.set(key, array)
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> Self {
        o.0.into()
    }
}

fn field(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A number field that may be absent (`undefined` or `null`: `None`).
pub(crate) fn optional_number(obj: &JsValue, key: &str) -> Option<f64> {
    field(obj, key).as_f64()
}

/// A string field that may be absent.
pub(crate) fn optional_string(obj: &JsValue, key: &str) -> Option<String> {
    field(obj, key).as_string()
}

/// A boolean field (absent counts as false).
pub(crate) fn flag(obj: &JsValue, key: &str) -> bool {
    field(obj, key).as_bool().unwrap_or(false)
}

/// A number field of a plain object the shim passed (its option objects are validated there);
/// a missing or non-numeric field is an error naming it.
pub(crate) fn number(obj: &JsValue, key: &str) -> Result<f64, JsError> {
    field(obj, key)
        .as_f64()
        .ok_or_else(|| JsError::new(&format!("EN-502: options.{key} must be a number")))
}
