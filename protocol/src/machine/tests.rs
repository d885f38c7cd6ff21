//! The table cannot drift from what is written about it: the docs tables of `machine.rs`
//! are rendered from [`ROWS`] and compared, and the crate's state diagram (in `lib.rs`) must
//! draw every state of every side and name every input that moves it. That each row is what
//! a real connection does is walked in `connection/table_tests.rs`.

use std::fmt::Write as _;

use super::{Input, Phase, ROWS, Side};

const MACHINE_RS: &str = include_str!("../machine.rs");
const LIB_RS: &str = include_str!("../lib.rs");

const SIDES: [Side; 3] = [Side::Read, Side::Write, Side::Conn];

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

#[test]
fn labels_are_distinct() {
    // The diagram check finds labels as substrings, so none may hide inside another.
    for a in Input::ALL {
        for b in Input::ALL {
            assert!(
                a == b || !a.label().contains(b.label()),
                "{a:?}'s label contains {b:?}'s"
            );
        }
    }
}

/// The state diagram in the crate docs: the `text` block after its heading.
fn diagram() -> &'static str {
    let heading = "//! # The states of a connection\n";
    let start = LIB_RS
        .find(heading)
        .expect("lib.rs has the state diagram's heading")
        + heading.len();
    let open = start + LIB_RS[start..].find("//! ```text\n").expect("a text block");
    let body = open + "//! ```text\n".len();
    let close = body + LIB_RS[body..].find("//! ```\n").expect("the block ends");
    &LIB_RS[body..close]
}

/// The diagram's part for one side: from the line that starts with the side's name to the
/// next side's.
fn section(side: Side) -> String {
    let mut section = String::new();
    let mut inside = false;
    for line in diagram().lines() {
        let text = line.strip_prefix("//!").unwrap_or(line).trim_start();
        if let Some(other) = SIDES
            .iter()
            .find(|s| text.starts_with(&format!("{} side", s.name())))
        {
            inside = *other == side;
        }
        if inside {
            section.push_str(text);
            section.push('\n');
        }
    }
    assert!(
        !section.is_empty(),
        "the diagram has no {} side",
        side.name()
    );
    section
}

/// The names drawn in boxes (`│ name │`) in `text`.
fn boxed(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .flat_map(|line| {
            let parts: Vec<&str> = line.split('│').collect();
            // Only what lies between two box edges.
            let inner = parts.len().saturating_sub(2);
            parts
                .into_iter()
                .skip(1)
                .take(inner)
                .map(str::trim)
                .collect::<Vec<_>>()
        })
        .filter(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase()))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn diagram_draws_every_state_and_names_every_input() {
    for side in SIDES {
        let section = section(side);
        let mut states: Vec<String> = Phase::ALL
            .iter()
            .filter(|p| p.side() == side)
            .map(|p| p.name().to_owned())
            .collect();
        states.sort();
        assert_eq!(boxed(&section), states, "the {} side's boxes", side.name());
        for row in ROWS.iter().filter(|row| row.to.side() == side) {
            let label = row.input.label();
            assert!(
                section.contains(label),
                "the diagram's {} side does not name `{label}`",
                side.name()
            );
        }
    }
}
