//! The in-process service's Prometheus counters, read directly (the
//! service shares this process's registry).

/// The sum of counter `name` over its series whose labels include one of
/// `values` (every series when `values` is empty).
pub fn counter(name: &str, values: &[&str]) -> i64 {
    prometheus::gather()
        .iter()
        .filter(|f| f.get_name() == name)
        .flat_map(|f| f.get_metric())
        .filter(|m| {
            values.is_empty()
                || m.get_label()
                    .iter()
                    .any(|l| values.contains(&l.get_value()))
        })
        .map(|m| m.get_counter().get_value() as i64)
        .sum()
}
