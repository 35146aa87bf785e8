//! Lever's wire decoders (single objects, lists, the created webhook, the
//! access token's claims): any bytes get Ok or a decode error, never a panic.
#![no_main]

use lever_api::wire::{
    Opportunity, Posting, Stage, decode_access_token_claims, parse_data, parse_list,
    parse_webhook_created,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = parse_data::<Opportunity>(bytes);
    let _ = parse_data::<Posting>(bytes);
    let _ = parse_list::<Opportunity>(bytes);
    let _ = parse_list::<Stage>(bytes);
    let _ = parse_webhook_created(bytes);
    let _ = decode_access_token_claims(&String::from_utf8_lossy(bytes));
});
