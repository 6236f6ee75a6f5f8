//! The few small JSON objects the first-visit code reads and writes (the login answer, the
//! stored session, tab messages), handled with the browser's own `JSON` instead of serde_json.
//!
//! serde_json's parser and one deserializer per type were a quarter of the WASM a first visit
//! to `/login` downloads (measured: about 40 KB brotli with the hydration value below). Pages
//! behind the login keep using server functions and serde: their code is downloaded later, in
//! their own chunks. Only ever called in the browser.

use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// `text` parsed as a JSON object (`None` for anything else, or for invalid JSON).
pub fn parse_object(text: &str) -> Option<Object> {
    JSON::parse(text)
        .ok()
        .filter(|value| value.is_object())
        .map(JsCast::unchecked_into)
}

fn field(object: &Object, key: &str) -> Option<JsValue> {
    Reflect::get(object, &JsValue::from_str(key)).ok()
}

/// A string field.
pub fn string(object: &Object, key: &str) -> Option<String> {
    field(object, key)?.as_string()
}

/// A boolean field.
pub fn boolean(object: &Object, key: &str) -> Option<bool> {
    field(object, key)?.as_bool()
}

/// A number field.
pub fn number(object: &Object, key: &str) -> Option<f64> {
    field(object, key)?.as_f64()
}

/// A JSON object with these fields, as text.
pub fn object_text(fields: &[(&str, JsValue)]) -> Option<String> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &JsValue::from_str(key), value).ok()?;
    }
    JSON::stringify(&object).ok()?.as_string()
}
