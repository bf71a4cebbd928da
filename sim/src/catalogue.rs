//! The simulator's view of the bug catalogue: lookups by switch name (`--bug spdk-3302`) over
//! the core's one list (`fabcheck_core::nvmf::catalogue`), which owns every entry.

use crate::scenario::{Scenario, ScenarioError};
use fabcheck_core::nvmf::{catalogue, BugSet, CatalogueEntry};

/// Every catalogue entry (the core's list).
pub fn entries() -> &'static [CatalogueEntry] {
    catalogue()
}

/// Looks a switch name up.
pub fn by_name(name: &str) -> Option<&'static CatalogueEntry> {
    catalogue().iter().find(|b| b.name == name)
}

/// Scenario `name` (built in, or a file) in `e`'s world: the entry's SPDK profile with its
/// switch on. Every detection of an entry runs there (`fabcheck bugs --check`, the catalogue
/// tests, the explore column): a scenario's own profile may lack the entry's window
/// (`aen-storm` is a v24.01 scenario; `spdk-aer-inactive-qpair`'s AER behind a CONNECT is a
/// master path).
pub fn entry_world(e: &CatalogueEntry, name: &str) -> Result<Scenario, ScenarioError> {
    Scenario::resolve(name)?
        .with_spdk(e.spdk.name())?
        .with_bugs(&[e.name.to_string()])
}

/// The switch names of a bug set, sorted.
pub fn names(bugs: &BugSet) -> Vec<&'static str> {
    bugs.names()
}

/// The catalogue as the README's Markdown table (`fabcheck bugs --markdown`); a test keeps the
/// README equal to it.
pub fn markdown_table() -> String {
    let mut t = String::from(
        "| id | what breaks | SPDK fix | issue | versions with the bug | profile | invariant at site | requires | scenarios |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for b in entries() {
        let scenarios: Vec<String> = b.scenarios.iter().map(|s| format!("`{s}`")).collect();
        let requires: Vec<String> = b
            .requires
            .iter()
            .map(|r| format!("`{}`", r.name()))
            .collect();
        t.push_str(&format!(
            "| `{}` | {} | `{}` ({}) | {} | {} | `{}`{} | {:?} at `{}` | {} | {} |\n",
            b.name,
            b.title,
            b.short_fix(),
            b.first_fixed,
            issue_label(b.issue),
            b.affected_versions(),
            b.spdk,
            profile_kind(b.profile_note),
            b.invariant,
            b.sites().collect::<Vec<_>>().join("`, `"),
            requires.join(", "),
            scenarios.join(", ")
        ));
    }
    t
}

/// " (native)" when the profile is the buggy release itself (off = it plus the fix),
/// " (re-introduced)" when the switch puts older code back into the profile.
fn profile_kind(note: &str) -> &'static str {
    if note.starts_with("native") {
        " (native)"
    } else if note.starts_with("re-introduced") {
        " (re-introduced)"
    } else {
        ""
    }
}

/// "#3302" for an issue URL, the text itself otherwise ("none (CI crash)").
pub fn issue_label(issue: &str) -> String {
    match issue.strip_prefix("https://github.com/spdk/spdk/issues/") {
        Some(n) => format!("#{n}"),
        // An entry without an issue says why ("none: ..."); the table shows the first word.
        None => issue.split(':').next().unwrap_or(issue).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_agree() {
        for b in entries() {
            assert_eq!(by_name(b.name), Some(b));
            assert_eq!(b.id.entry().name, b.name);
            for s in b.scenarios {
                assert!(
                    crate::scenario::builtin(s).is_some(),
                    "{}: no built-in scenario {s}",
                    b.name
                );
            }
        }
        assert!(by_name("spdk-0000").is_none());
    }

    #[test]
    fn the_readme_table_is_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        assert!(
            readme.contains(&markdown_table()),
            "README.md's bug table differs from the catalogue; paste \
             `cargo run -p fabcheck -- bugs --markdown`:\n{}",
            markdown_table()
        );
    }
}
