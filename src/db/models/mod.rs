//! The table modules, at the bottom of the house: one module per table (or
//! per pair of tables always written together), each the only writer of its
//! table. Row structs and the queries on them return `QueryResult`; nothing
//! here calls Lever, sends a wake-up or knows about HTTP.

pub mod alert;
pub mod alert_history;
pub mod api_key;
pub mod attention;
pub mod audit;
pub mod checklist;
pub mod claim;
pub mod connection;
pub mod console_session;
pub mod erased;
pub mod health_record;
pub mod interview;
pub mod job;
pub mod lease;
pub mod lever_call;
pub mod lever_event;
pub mod lever_webhook;
pub mod oauth_state;
pub mod org;
pub mod page;
pub mod prune;
pub mod results_settings;
pub mod role;
pub mod role_overlap;
pub mod sweep;
pub mod unit;
pub mod usage;
pub mod work;
