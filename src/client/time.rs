//! Times for people: "3 minutes ago", and dates in the browser's own time zone and format.
//! Only called in the browser (the pages fetch their data there).

use wasm_bindgen::JsValue;

/// Seconds since the Unix epoch, by the browser's clock.
pub fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// `at` (Unix seconds) relative to now: "just now", "3 minutes ago", "2 days ago".
pub fn ago(at: i64) -> String {
    ago_from(now_secs(), at)
}

/// [`ago`] at a given `now`.
pub fn ago_from(now: i64, at: i64) -> String {
    let secs = (now - at).max(0);
    let (count, unit) = match secs {
        0..=59 => return "just now".to_owned(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

/// `at` (Unix seconds) as the browser's local date and time.
pub fn local(at: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at as f64 * 1000.0));
    date.to_locale_string("default", &JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// Whether the page is visible (hidden tabs need not poll).
pub fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(ago_from(1000, 1000), "just now");
        assert_eq!(ago_from(1000, 950), "just now");
        assert_eq!(ago_from(1000, 880), "2 minutes ago");
        assert_eq!(ago_from(4000, 400), "1 hour ago");
        assert_eq!(ago_from(300_000, 100_000), "2 days ago");
        assert_eq!(ago_from(1000, 2000), "just now", "a clock ahead of ours");
    }
}
