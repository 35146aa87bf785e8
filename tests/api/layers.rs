//! The house rules of `src/`, checked from the source text: every module
//! sits on a floor of the map in `docs/ARCHITECTURE.md` (the fenced block
//! tagged `floors`, lowest floor last), no file imports from a floor above
//! its own, and no circle of imports runs through files of more than one
//! folder.
//!
//! An import is any path a file names: `use crate::…` lines (grouped ones
//! included), inline `crate::a::b` paths, `super::` and `self::` paths, and
//! `use child::…` of a module the file declares. Each resolves to the file
//! that defines the longest prefix of the path that is a module.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A module path inside the crate: `["pipeline", "registry"]`; the crate
/// root is empty.
type ModPath = Vec<String>;

struct Module {
    file: PathBuf,
    /// The file's text without comments and string literals.
    code: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn modules() -> BTreeMap<ModPath, Module> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(root()).unwrap().with_extension("");
            let mut parts: ModPath = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = parts.last().cloned().unwrap_or_default();
            if matches!(last.as_str(), "mod" | "lib" | "main") {
                parts.pop();
            }
            if last == "main" && parts.is_empty() {
                // The binary is its own crate root: it sees the library by name.
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests sit at the end of a file, in an inline module whose
            // `super` is not the file's: they are not part of the house.
            let text = match text.find("#[cfg(test)]") {
                Some(at) => &text[..at],
                None => &text[..],
            };
            let code = strip(text);
            out.insert(parts, Module { file: path, code });
        }
    }
    out
}

/// Drops comments, string and char literals (their text could look like paths).
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') => {
                // A raw string r"…" or r#"…"#; anything else starting with r is code.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                let prev_ident = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                if b.get(j) != Some(&b'"') || prev_ident {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{0}') or a lifetime ('a).
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|p| i + 2 + p)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    None
                };
                match end {
                    Some(e) => {
                        out.push_str("' '");
                        i = e + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// Every path a `use` tree names: `a::{b, c::{d, e}}` → a::b, a::c::d, a::c::e.
fn use_paths(tree: &str) -> Vec<Vec<String>> {
    fn split_top(s: &str) -> Vec<&str> {
        let (mut depth, mut start, mut out) = (0, 0, Vec::new());
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(&s[start..]);
        out
    }
    fn walk(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        for part in split_top(tree) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(open) = part.find('{') {
                let head: Vec<String> = part[..open]
                    .split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let inner = &part[open + 1..part.rfind('}').unwrap_or(part.len())];
                let mut p = prefix.to_vec();
                p.extend(head);
                walk(&p, inner, out);
            } else {
                let name = part.split(" as ").next().unwrap_or(part).trim();
                let mut p = prefix.to_vec();
                p.extend(name.split("::").map(|s| s.trim().to_owned()));
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&[], tree, &mut out);
    out
}

/// The paths a file names, as written: in `use` trees, anchored at `crate`,
/// `super` or `self`, or starting at a module the file declares
/// (`registry::Registry` in a file with `mod registry;`).
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        out.extend(use_paths(&after[..end]));
        rest = &after[end..];
    }
    let children = declared_modules(code);
    let anchors = ["crate", "super", "self"]
        .into_iter()
        .chain(children.iter().map(String::as_str));
    for anchor in anchors {
        let mut rest = code;
        while let Some(at) = find_word(rest, anchor) {
            let tail = &rest[at..];
            let mut path = vec![anchor.to_owned()];
            let mut t = &tail[anchor.len()..];
            while let Some(next) = t.strip_prefix("::") {
                let len = next
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(next.len());
                if len == 0 {
                    break;
                }
                path.push(next[..len].to_owned());
                t = &next[len..];
            }
            if path.len() > 1 {
                out.push(path);
            }
            rest = &tail[anchor.len()..];
        }
    }
    out
}

/// Where `word` starts as a whole word in `s`.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = s[from..].find(word) {
        let at = from + p;
        let before = s[..at].chars().next_back();
        let after = s[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !ident(before) && !ident(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The module a named path lands in, or None for another crate's path.
fn resolve(
    from: &ModPath,
    module: &Module,
    path: &[String],
    all: &BTreeMap<ModPath, Module>,
) -> Option<ModPath> {
    // The module `self` means: a file's own module.
    let here: ModPath = from.clone();
    let mut base: ModPath;
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &path[1..];
        }
        Some("self") => {
            base = here;
            rest = &path[1..];
        }
        Some("super") => {
            base = here;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some(first) => {
            // `child::…` of a module declared here.
            let mut child = here.clone();
            child.push(first.to_owned());
            if !all.contains_key(&child) || !declares(module, first) {
                return None;
            }
            base = here;
        }
        None => return None,
    }
    for seg in rest {
        base.push(seg.clone());
        if !all.contains_key(&base) {
            base.pop();
            break;
        }
    }
    // The crate root declares modules and macros only: naming it is no import.
    (!base.is_empty()).then_some(base)
}

fn declares(module: &Module, child: &str) -> bool {
    declared_modules(&module.code).iter().any(|m| m == child)
}

/// The modules a file declares (`mod x;`, `pub mod x;`).
fn declared_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find_word(&code[from..], "mod") {
        let at = from + p + 3;
        let name: String = code[at..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        from = at;
    }
    out
}

/// The floors of `docs/ARCHITECTURE.md`, highest first: module → rank
/// (higher is further up).
fn floors() -> HashMap<String, (usize, String)> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"))
            .unwrap();
    let start = doc
        .find("```floors")
        .expect("a ```floors block in docs/ARCHITECTURE.md");
    let block = &doc[start + "```floors".len()..];
    let block = &block[..block.find("```").unwrap()];
    let lines: Vec<&str> = block.lines().filter(|l| l.contains(':')).collect();
    let mut map = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let (floor, mods) = line.split_once(':').unwrap();
        for m in mods.split_whitespace() {
            map.insert(m.to_owned(), (lines.len() - i, floor.trim().to_owned()));
        }
    }
    map
}

/// The top-level module a module path belongs to (`lib` for the root).
fn top(m: &ModPath) -> String {
    m.first().cloned().unwrap_or_else(|| "lib".into())
}

fn imports() -> (
    BTreeMap<ModPath, Module>,
    BTreeMap<ModPath, BTreeSet<ModPath>>,
) {
    let all = modules();
    let mut edges = BTreeMap::new();
    for (path, module) in &all {
        let mut to = BTreeSet::new();
        for named in named_paths(&module.code) {
            if let Some(target) = resolve(path, module, &named, &all)
                && target != *path
            {
                to.insert(target);
            }
        }
        edges.insert(path.clone(), to);
    }
    (all, edges)
}

#[test]
fn every_module_has_a_floor_and_none_imports_from_above() {
    let floors = floors();
    let (all, edges) = imports();
    let mut wrong = Vec::new();
    for path in all.keys() {
        let t = top(path);
        if !floors.contains_key(&t) {
            wrong.push(format!(
                "module `{t}` is on no floor of docs/ARCHITECTURE.md"
            ));
        }
    }
    for (from, tos) in &edges {
        let Some((rank, floor)) = floors.get(&top(from)) else {
            continue;
        };
        for to in tos {
            let Some((to_rank, to_floor)) = floors.get(&top(to)) else {
                continue;
            };
            if to_rank > rank {
                wrong.push(format!(
                    "{} ({floor}) imports {} ({to_floor}), a floor above",
                    all[from].file.display(),
                    to.join("::"),
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_circle_of_imports_spans_two_folders() {
    let (all, edges) = imports();
    let folder = |m: &ModPath| all[m].file.parent().map(Path::to_path_buf);
    let mut circles = Vec::new();
    for scc in strongly_connected(&edges) {
        let folders: BTreeSet<_> = scc.iter().map(folder).collect();
        if folders.len() > 1 {
            let files: Vec<String> = scc
                .iter()
                .map(|m| {
                    all[m]
                        .file
                        .strip_prefix(root())
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            circles.push(files.join(", "));
        }
    }
    assert!(
        circles.is_empty(),
        "circles of imports across folders:\n{}",
        circles.join("\n")
    );
}

/// Tarjan's algorithm, iteratively.
fn strongly_connected(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    let nodes: Vec<&ModPath> = edges.keys().collect();
    let index_of: HashMap<&ModPath, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges[*n]
                .iter()
                .filter_map(|m| index_of.get(m).copied())
                .collect()
        })
        .collect();
    let n = nodes.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if *i == 0 {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on[v] = true;
            }
            if *i < succ[v].len() {
                let w = succ[v][*i];
                *i += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                loop {
                    let w = stack.pop().unwrap();
                    on[w] = false;
                    comp.push(nodes[w].clone());
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

#[test]
fn the_reader_sees_grouped_inline_and_relative_imports() {
    let code = strip(
        "use crate::{a::b, c::{d, e as f}};\n\
         // use crate::commented::out;\n\
         fn x() { crate::inline::path::call(); let s = \"crate::in_string\"; }\n\
         use super::sibling::Thing;",
    );
    let named = named_paths(&code);
    let has = |p: &[&str]| named.iter().any(|n| n == p);
    assert!(has(&["a", "b"]) || has(&["crate", "a", "b"]));
    assert!(named.iter().any(|n| n.ends_with(&["c".into(), "d".into()])));
    assert!(named.iter().any(|n| n.ends_with(&["c".into(), "e".into()])));
    assert!(has(&["crate", "inline", "path", "call"]));
    assert!(has(&["super", "sibling", "Thing"]));
    assert!(
        !named
            .iter()
            .flatten()
            .any(|s| s == "commented" || s == "in_string")
    );
}
