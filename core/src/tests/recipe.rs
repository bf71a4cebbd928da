//! docs/adding-a-bug.md, checked against the code: the catalogue entry its recipe tells a
//! newcomer to write (step 1) must name exactly the fields the `catalogue!` macro fills, with
//! values of the right kinds, so following the page as written adds a switch in one place
//! (the entry) plus its guard at the SPDK site. A renamed or added field fails this test until
//! the page is updated.

use crate::nvmf::{catalogue, InvariantId, Spdk};
use std::collections::BTreeSet;

fn page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/adding-a-bug.md");
    std::fs::read_to_string(path).expect("docs/adding-a-bug.md is readable")
}

/// The `rust` block of the recipe's step 1 (**Entry.**).
fn entry_block(page: &str) -> Vec<String> {
    let step = page
        .find("**Entry.**")
        .expect("the recipe has an Entry step");
    let lines = page[step..].lines().skip_while(|l| l.trim() != "```rust");
    lines
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .map(|l| l.trim().to_string())
        .collect()
}

/// `field: value` pairs of the block's entry (between `Name {` and `}`).
fn fields(block: &[String]) -> Vec<(String, String)> {
    block
        .iter()
        .skip_while(|l| !l.ends_with('{'))
        .skip(1)
        .take_while(|l| *l != "}")
        .filter_map(|l| l.split_once(": "))
        .map(|(f, v)| (f.to_string(), v.trim_end_matches(',').to_string()))
        .collect()
}

#[test]
fn the_recipe_entry_has_exactly_the_catalogue_fields() {
    let page = page();
    let block = entry_block(&page);
    let variant = block.iter().find(|l| l.ends_with('{')).expect("an entry");
    assert!(
        variant.starts_with("Spdk") && variant.trim_end_matches(" {").len() > 4,
        "the variant is named after the SPDK issue: {variant}"
    );
    let doc: BTreeSet<String> = fields(&block).into_iter().map(|(f, _)| f).collect();
    let entry = serde_json::to_value(&catalogue()[0]).expect("an entry serializes");
    let code: BTreeSet<String> = entry
        .as_object()
        .expect("an entry is a struct")
        .keys()
        .filter(|k| *k != "id") // the macro fills `id` from the variant
        .cloned()
        .collect();
    assert_eq!(doc, code, "docs/adding-a-bug.md step 1 vs CatalogueEntry");
}

#[test]
fn the_recipe_entry_values_have_the_catalogue_kinds() {
    let page = page();
    for (field, value) in fields(&entry_block(&page)) {
        match field.as_str() {
            "invariant" => {
                let code = value.trim_start_matches("InvariantId::");
                assert!(
                    InvariantId::ALL.iter().any(|i| i.code() == code),
                    "{value} is an invariant"
                );
            }
            "spdk" => {
                let profile = value.trim_start_matches("Spdk::");
                let names: Vec<String> = Spdk::ALL.iter().map(|s| format!("{s:?}")).collect();
                assert!(names.iter().any(|n| n == profile), "{value} is a profile");
            }
            "scenarios" | "requires" | "more_sites" | "also_shipped_in" => {
                assert!(value.starts_with("&["), "{field}: a slice, got {value}")
            }
            _ => assert!(value.starts_with('"'), "{field}: a string, got {value}"),
        }
    }
}
