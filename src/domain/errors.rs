//! How an error is written in a log line: the error and every cause under
//! it, `outer: inner: innermost`, so a log says why and not only what.

use std::error::Error;
use std::fmt;

/// Displays an error with its whole cause chain.
pub struct Chain<'a>(pub &'a dyn Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("storing the delivery failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn writes_every_cause() {
        let e = Outer(std::io::Error::other("the disk is full"));
        assert_eq!(
            Chain(&e).to_string(),
            "storing the delivery failed: the disk is full"
        );
    }
}
