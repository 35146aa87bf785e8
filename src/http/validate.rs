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
