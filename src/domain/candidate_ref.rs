//! What a person may paste to find a candidate: the opportunity id itself,
//! or the candidate's address in Lever's app
//! (`https://hire.lever.co/candidates/<opportunity id>`, on the EU and
//! sandbox hosts too; Lever gives it as an opportunity's `urls.show`).

/// Lever's app hosts whose candidate addresses are understood.
const LEVER_HOSTS: &[&str] = &["hire.lever.co", "hire.eu.lever.co", "hire.sandbox.lever.co"];

/// The opportunity id `input` names, or why it names none.
pub fn opportunity_id(input: &str) -> Result<String, &'static str> {
    let text = input.trim();
    if text.is_empty() {
        return Err("paste an opportunity id or a Lever candidate address");
    }
    if !text.contains("://") {
        return match text.len() <= 200 && !text.contains(['/', ' ', '?', '#']) {
            true => Ok(text.to_owned()),
            false => Err("that is not an opportunity id"),
        };
    }
    let url = url::Url::parse(text).map_err(|_| "that address cannot be read")?;
    let host = url.host_str().unwrap_or_default();
    if !LEVER_HOSTS.contains(&host) {
        return Err(
            "only addresses on hire.lever.co, hire.eu.lever.co or hire.sandbox.lever.co name a Lever candidate",
        );
    }
    let mut segments = url.path_segments().into_iter().flatten();
    match (segments.next(), segments.next()) {
        (Some("candidates"), Some(id)) if !id.is_empty() && id.len() <= 200 => Ok(id.to_owned()),
        _ => Err("a Lever candidate address looks like https://hire.lever.co/candidates/<id>"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::opportunity_id;

    #[test]
    fn ids_and_lever_candidate_addresses_name_the_opportunity() {
        let id = "250d8f03-738a-4bba-a671-8a3d73477145";
        for input in [
            id.to_owned(),
            format!("  {id}\n"),
            format!("https://hire.lever.co/candidates/{id}"),
            format!("https://hire.eu.lever.co/candidates/{id}?stage=x#notes"),
            format!("https://hire.sandbox.lever.co/candidates/{id}/feedback"),
        ] {
            assert_eq!(opportunity_id(&input).unwrap(), id, "{input}");
        }
        for bad in [
            "",
            "   ",
            "https://evil.example/candidates/x",
            "https://hire.lever.co/jobs/x",
            "https://hire.lever.co/candidates/",
            "a/b",
            "https://hire.lever.co.evil.example/candidates/x",
        ] {
            assert!(opportunity_id(bad).is_err(), "{bad}");
        }
    }
}
