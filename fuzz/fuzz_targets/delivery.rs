//! The webhook delivery parser: any bytes get an answer (an envelope or a
//! refusal), never a panic, and an envelope answers its questions (is it a
//! test ping, which stage did the candidate move to) without one either.
#![no_main]

use lever_api::wire::delivery::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Ok(envelope) = Envelope::parse(text)
    {
        let _ = envelope.is_test_ping();
        let _ = envelope.stage_change();
        let _ = envelope.data.opportunity_id.as_str();
    }
});
