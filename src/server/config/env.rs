//! The one reader of environment values: each value is trimmed, an empty one counts as unset,
//! and a bad one is an error that names its variable and says what it must be.

use anyhow::{bail, Context};
use std::ops::RangeInclusive;

/// Environment values, through a lookup (the process environment, or a test's map).
pub struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The value, trimmed; `None` when unset or empty.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A value read by `parse`, which says `None` for a bad one (`expected` then says what it
    /// must be: "scheme://host[:port]").
    pub fn parsed<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> anyhow::Result<Option<T>> {
        self.text(name)
            .map(|raw| {
                parse(&raw).with_context(|| format!("{name} must be {expected}, not {raw:?}"))
            })
            .transpose()
    }

    /// A comma-separated list of values read by `parse`.
    pub fn list<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> anyhow::Result<Vec<T>> {
        let Some(raw) = self.text(name) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                parse(item).with_context(|| format!("{name} must list {expected}, not {item:?}"))
            })
            .collect()
    }

    /// A duration in whole seconds, `default` when unset.
    pub fn secs(
        &self,
        name: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> anyhow::Result<i64> {
        let value = match self.text(name) {
            None => default,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .with_context(|| {
                    format!("{name} must be a whole number of seconds, not {raw:?}")
                })?,
        };
        within(name, value, range)
    }

    /// A whole number, `default` when unset.
    pub fn count(
        &self,
        name: &str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> anyhow::Result<u64> {
        let value = match self.text(name) {
            None => default,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .with_context(|| format!("{name} must be a whole number, not {raw:?}"))?,
        };
        within(name, value, range)
    }
}

fn within<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    range: RangeInclusive<T>,
) -> anyhow::Result<T> {
    if !range.contains(&value) {
        bail!(
            "{name} must be between {} and {}, not {value}",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn values_are_trimmed_and_empty_ones_are_unset() {
        let env = env(&[("A", "  x "), ("B", "   ")]);
        assert_eq!(env.text("A").as_deref(), Some("x"));
        assert_eq!(env.text("B"), None);
        assert_eq!(env.text("C"), None);
    }

    #[test]
    fn numbers_are_checked_against_their_range_and_errors_name_the_variable() {
        let env = env(&[("S", "30"), ("BIG", "4000"), ("NEG", "-1"), ("X", "1.5")]);
        assert_eq!(env.secs("S", 10, 0..=60).unwrap(), 30);
        assert_eq!(env.secs("UNSET", 10, 0..=60).unwrap(), 10);
        for (name, message) in [
            ("BIG", "BIG must be between 0 and 60, not 4000"),
            ("NEG", "NEG must be a whole number of seconds"),
            ("X", "X must be a whole number of seconds"),
        ] {
            let err = env.secs(name, 10, 0..=60).unwrap_err();
            assert!(format!("{err:#}").contains(message), "{err:#}");
        }
        assert!(format!("{:#}", env.count("X", 1, 1..=9).unwrap_err()).contains("X must be"));
    }
}
