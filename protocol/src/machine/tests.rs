//! The table cannot drift from what is written about it: the docs tables of `machine.rs`
//! are rendered from [`ROWS`] and compared. That each row is what a real connection does is
//! walked in `connection/table_tests.rs`.

use std::fmt::Write as _;

use super::{Input, Phase, ROWS};

const MACHINE_RS: &str = include_str!("../machine.rs");

/// A label as markdown: a method name is code.
fn markdown(label: &str) -> String {
    if label.contains('_') {
        format!("`{label}`")
    } else {
        label.to_owned()
    }
}

/// The transitions table, as the module docs must show it.
fn transitions_table() -> String {
    let mut table = String::from("| side | from | input | to | output |\n|---|---|---|---|---|\n");
    for row in ROWS {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} |",
            row.to.side().name(),
            row.from.map_or("any", Phase::name),
            markdown(row.input.label()),
            row.to.name(),
            row.output,
        );
    }
    table
}

/// The inputs table, as the module docs must show it.
fn inputs_table() -> String {
    let mut table = String::from("| input | when |\n|---|---|\n");
    for input in Input::ALL {
        let _ = writeln!(table, "| {} | {} |", markdown(input.label()), input.cause());
    }
    table
}

/// `text` as `//!` lines.
fn as_module_doc(text: &str) -> String {
    text.lines().fold(String::new(), |mut doc, line| {
        let _ = writeln!(doc, "//! {line}");
        doc
    })
}

fn assert_documented(table: &str) {
    let doc = as_module_doc(table);
    let Some(at) = MACHINE_RS.find(&doc) else {
        panic!("machine.rs's module docs must hold this table, as rendered from ROWS:\n{doc}");
    };
    let next = MACHINE_RS[at + doc.len()..].lines().next().unwrap_or("");
    assert!(
        !next.starts_with("//! |"),
        "machine.rs's docs table has a row ROWS does not: {next}"
    );
}

#[test]
fn docs_table_is_the_table() {
    assert_documented(&transitions_table());
}

#[test]
fn docs_inputs_table_lists_every_input() {
    assert_documented(&inputs_table());
}
