//! Value checks shared by the admin API; each failure is a 422 naming the field.

use super::error::ApiError;

/// A trimmed name of 1-200 characters.
pub fn name(field: &str, value: &str) -> Result<String, ApiError> {
    bounded_text(field, value, 1, 200)
}

/// A trimmed text of `min..=max` characters.
pub fn bounded_text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    let len = v.chars().count();
    if len < min {
        return Err(ApiError::Validation(format!("`{field}` must not be empty")));
    }
    if len > max {
        return Err(ApiError::Validation(format!(
            "`{field}` is {len} characters long; the most is {max}"
        )));
    }
    Ok(v.to_owned())
}

/// An optional `status` query filter: absent or empty is no filter; an
/// unknown value is a 400 that names the values there are.
pub fn status_filter<T: Copy + std::fmt::Display>(
    raw: Option<&str>,
    all: &[T],
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            let values: Vec<String> = all.iter().map(T::to_string).collect();
            ApiError::InvalidQuery(format!(
                "`status` must be one of {}; got `{s}`",
                values.join(", ")
            ))
        }),
    }
}
