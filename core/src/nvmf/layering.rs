//! The import graph of the nvmf modules has no cycle: a module may name the types of the
//! modules below it, never of one that (directly or through others) names its own. Every
//! module still adds methods to `Target`; what is layered is the types, so a lifecycle object
//! can be read and changed without the rest of the target in view (docs/architecture.md).
//!
//! The check reads the source files: every `super::NAME` / `crate::nvmf::NAME` path (including
//! the items of grouped `use super::{...}` imports) is an edge to module NAME, or to the module
//! that `mod.rs` re-exports NAME from. Items defined in `mod.rs` itself are the shared
//! vocabulary and add no edge.

use std::collections::{BTreeMap, BTreeSet};

/// Module name -> the sibling modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Drops `//` comments (doc comments mention paths that are not imports).
fn strip_comments(src: &str) -> String {
    src.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The text inside the braces that open at the start of `s` (nesting respected).
fn braced(s: &str) -> &str {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &s[1..i];
                }
            }
            _ => {}
        }
    }
    &s[1..]
}

/// The first path segment of every item of a `{a::B, C, d::{E, F}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident_at(group[start..i].trim()).to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    heads.push(ident_at(group[start..].trim()).to_string());
    heads.retain(|h| !h.is_empty());
    heads
}

/// Every name that follows `prefix` in `src` (a grouped import gives each of its heads).
fn names_after(src: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        if rest.starts_with('{') {
            out.extend(group_heads(braced(rest)));
        } else {
            out.push(ident_at(rest).to_string());
        }
    }
    out
}

/// Names `mod.rs` re-exports from a sibling (`pub use m::{A, B};`, `use m::C;`).
fn reexports(mod_rs: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in strip_comments(mod_rs).lines() {
        let l = line.trim();
        let Some(path) = l
            .strip_prefix("pub use ")
            .or_else(|| l.strip_prefix("use "))
        else {
            continue;
        };
        let module = ident_at(path);
        if !modules.contains(module) {
            continue;
        }
        let tail = path[module.len()..].trim_start_matches("::");
        let names = if tail.starts_with('{') {
            group_heads(braced(tail))
        } else {
            vec![ident_at(tail).to_string()]
        };
        for n in names {
            map.insert(n, module.to_string());
        }
    }
    map
}

/// The graph of `sources` (module name -> source), given `mod.rs`.
fn graph(sources: &BTreeMap<String, String>, mod_rs: &str) -> Graph {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let reexported = reexports(mod_rs, &modules);
    let mut g = Graph::new();
    for (name, src) in sources {
        let src = strip_comments(src);
        let mut names = names_after(&src, "super::");
        names.extend(names_after(&src, "crate::nvmf::"));
        let edges = g.entry(name.clone()).or_default();
        for n in names {
            let target = if modules.contains(&n) {
                Some(n)
            } else {
                reexported.get(&n).cloned()
            };
            if let Some(t) = target.filter(|t| t != name) {
                edges.insert(t);
            }
        }
    }
    g
}

/// A cycle in `g`, as the path of module names that closes it, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        n: &str,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(g, m, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut done, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sources(dir: &Path) -> std::io::Result<(BTreeMap<String, String>, String)> {
        let mut sources = BTreeMap::new();
        let mut mod_rs = String::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            if stem == "mod" {
                mod_rs = text;
            } else {
                sources.insert(stem.to_string(), text);
            }
        }
        Ok((sources, mod_rs))
    }

    #[test]
    fn the_nvmf_modules_import_each_other_without_a_cycle() -> std::io::Result<()> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/nvmf");
        let (sources, mod_rs) = sources(&dir)?;
        assert!(sources.len() > 15, "found only {} modules", sources.len());
        let g = graph(&sources, &mod_rs);
        // The check sees real edges (it would pass vacuously on an empty graph).
        assert!(g["connect"].contains("ctrlr"), "{g:?}");
        assert!(g["subsystem"].contains("thread"), "{g:?}");
        if let Some(cycle) = find_cycle(&g) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
        Ok(())
    }

    #[test]
    fn a_cycle_through_a_grouped_import_or_a_reexport_is_found() {
        let mod_rs = "mod a;\nmod b;\nmod c;\npub use c::{Gamma, Delta};\n";
        let mut src = BTreeMap::new();
        src.insert("a".into(), "use super::{b::Beta, Target};\n".to_string());
        src.insert("b".into(), "fn f(x: super::Gamma) {}\n".to_string());
        src.insert(
            "c".into(),
            "// super::a::Alpha is only a comment\n".to_string(),
        );
        let g = graph(&src, mod_rs);
        assert_eq!(find_cycle(&g), None, "{g:?}");
        src.insert("c".into(), "use crate::nvmf::a::Alpha;\n".to_string());
        let g = graph(&src, mod_rs);
        let Some(cycle) = find_cycle(&g) else {
            panic!("missed the cycle a -> b -> c -> a in {g:?}");
        };
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4, "{cycle:?}");
    }
}
