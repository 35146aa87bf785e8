//! A connection's trigger stages (docs/contract/results.md): the Lever
//! pipeline stages whose entry starts an Arkiter Live interview, 1 to 10,
//! in the order the admin gave. The first is the connection's `stage`.

use serde::{Deserialize, Serialize};

/// The most trigger stages a connection has.
pub const MAX_STAGES: usize = 10;

/// One trigger stage as stored: the id (as found in Lever, or as the admin
/// gave it), its name, and whether Lever has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerStage {
    pub id: Option<String>,
    pub name: String,
    pub found: bool,
}

/// Reads the stored list (`connections.stages`); a list written before it
/// existed is the one `stage` columns' stage.
pub fn from_stored(
    stored: &serde_json::Value,
    single: impl FnOnce() -> TriggerStage,
) -> Vec<TriggerStage> {
    match serde_json::from_value::<Vec<TriggerStage>>(stored.clone()) {
        Ok(list) if !list.is_empty() => list,
        _ => vec![single()],
    }
}

/// The ids a delivery's to-stage is compared with.
pub fn ids(stages: &[TriggerStage]) -> Vec<String> {
    stages.iter().filter_map(|s| s.id.clone()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_is_the_single_stage() {
        let single = || TriggerStage {
            id: Some("s".into()),
            name: "Arkiter Live".into(),
            found: true,
        };
        assert_eq!(from_stored(&serde_json::json!([]), single), vec![single()]);
        let two = serde_json::json!([
            {"id": "a", "name": "Screen", "found": true},
            {"id": null, "name": "Onsite", "found": false}
        ]);
        let list = from_stored(&two, single);
        assert_eq!(ids(&list), vec!["a".to_owned()]);
        assert_eq!(list[1].name, "Onsite");
    }
}
