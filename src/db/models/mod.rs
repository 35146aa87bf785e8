//! One module per table: row structs and the queries on them, returning `QueryResult`.

pub mod api_key;
pub mod connection;
pub mod health_record;
pub mod interview;
pub mod lever_event;
pub mod lever_webhook;
pub mod oauth_state;
pub mod org;
pub mod page;
pub mod role;
