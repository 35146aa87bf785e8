//! The signature check: any signature text gets Ok or a typed refusal, and
//! a signature we made ourselves always verifies.
#![no_main]

use lever_api::signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, i64, &str, i64)| {
    let (key, token, at, sig, now) = input;
    let _ = signature::verify(key, token, at, Some(sig), now);
    let good = signature::sign(key, token, at);
    assert!(signature::verify(key, token, at, Some(&good), at).is_ok());
});
