//! The input rules every front door gets: an application function checks
//! its typed input here once, so the API and the console refuse the same
//! values with the same words. Each failure names its field.
//!
//! Text must be storable: Postgres' `text` cannot hold a NUL (U+0000), so a
//! NUL is refused here rather than surfacing as a database error.

use super::ServiceError;
use crate::domain::text::NUL_REASON;

/// A trimmed name of 1-200 characters.
pub fn name(field: &str, value: &str) -> Result<String, ServiceError> {
    bounded_text(field, value, 1, 200)
}

/// A trimmed text of `min..=max` characters, without a NUL.
pub fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ServiceError> {
    storable(field, value)?;
    let v = value.trim();
    let len = v.chars().count();
    if len < min {
        return Err(ServiceError::invalid(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if len > max {
        return Err(ServiceError::invalid(
            field,
            format!("`{field}` is {len} characters long; the most is {max}"),
        ));
    }
    Ok(v.to_owned())
}

/// Text Postgres can hold: no NUL anywhere.
pub fn storable(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.contains('\0') {
        return Err(ServiceError::invalid(
            field,
            format!("`{field}` {NUL_REASON}"),
        ));
    }
    Ok(())
}

/// An optional `status` filter: absent or empty is no filter; an unknown
/// value is refused naming the values there are.
pub fn status_filter<T: Copy + std::fmt::Display>(
    raw: Option<&str>,
    all: &[T],
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, ServiceError> {
    value_filter("status", raw, all, parse)
}

/// A link time to live in days (1-365), or `None`; 422 naming `field`.
pub fn ttl_days(field: &str, days: Option<i64>) -> Result<Option<i32>, ServiceError> {
    match days {
        None => Ok(None),
        Some(d) if (1..=365).contains(&d) => Ok(i32::try_from(d).ok()),
        Some(_) => Err(ServiceError::invalid(
            field,
            format!("`{field}` must be from 1 to 365, or null"),
        )),
    }
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Like [`status_filter`], for the query parameter `name`.
pub fn value_filter<T: Copy + std::fmt::Display>(
    name: &str,
    raw: Option<&str>,
    all: &[T],
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, ServiceError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            let values: Vec<String> = all.iter().map(T::to_string).collect();
            ServiceError::bad_query(format!(
                "`{name}` must be one of {}; got `{s}`",
                values.join(", ")
            ))
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nul_empty_and_long_text_naming_the_field() {
        let e = bounded_text("label", "a\0b", 0, 200).unwrap_err();
        assert_eq!(e.field(), Some("label"));
        assert_eq!(e.code(), "validation_failed");
        assert!(name("name", "   ").unwrap_err().message().contains("empty"));
        let long = "x".repeat(201);
        assert!(name("name", &long).unwrap_err().message().contains("201"));
        assert_eq!(name("name", "  Acme ").unwrap(), "Acme");
        assert_eq!(
            bounded_text("ats_jobs[]", "\0", 1, 200)
                .unwrap_err()
                .field(),
            Some("ats_jobs")
        );
    }
}
