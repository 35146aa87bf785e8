//! The webhook delivery parser and the stage decision: any bytes get an
//! answer (a delivery or a refusal), never a panic; an accepted body holds
//! no NUL (Postgres could not store it).
#![no_main]

use arkiter_lever::domain::text::json_has_nul;
use arkiter_lever::ingest::delivery::{Delivery, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(d) = Delivery::parse(bytes) {
        assert!(!json_has_nul(d.raw.as_bytes()));
        let _ = decide(&d.body, Some("stage"));
        let _ = decide(&d.body, None);
    }
});
