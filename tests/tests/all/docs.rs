//! The README against the code: every table of README.md that lists
//! operations (by name, by Dixa request or by HTTP route) must agree, row by
//! row, with the table the connector is built from
//! ([`dixa_contract::OPERATIONS`]), and list each operation exactly once; its
//! first paragraph must name every operation. Every wrong row is reported,
//! not only the first.
//!
//! The columns it checks, by header (case and backticks ignored):
//!
//! | header | must hold |
//! |---|---|
//! | `Operation`, `Tool` | the operation's name |
//! | `Dixa request` | its method and Dixa path, e.g. `POST /v1/conversations/{conversationId}/notes` |
//! | `Route`, `HTTP route` | its method and path on the HTTP front |
//! | `readOnlyHint`, `destructiveHint`, `idempotentHint` | `true` or `false`, as the row's MCP annotation |
//!
//! A row is matched to its operation by the first of the name, route and
//! Dixa request columns its table has. Other columns (inputs, replies,
//! descriptions) are prose and not checked. A table whose first column lists
//! operations but that has none of these columns, or that writes the MCP
//! hints in a free-form column (`Annotations`), is reported too, so that no
//! table of operations escapes the check.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use dixa_contract::{OPERATIONS, Operation};

/// A column this test knows how to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Name,
    DixaRequest,
    Route,
    ReadOnly,
    Destructive,
    Idempotent,
}

impl Column {
    /// The column a header names, if it is one this test checks.
    fn of(header: &str) -> Option<Column> {
        match plain(header).to_ascii_lowercase().as_str() {
            "operation" | "tool" => Some(Column::Name),
            "dixa request" => Some(Column::DixaRequest),
            "route" | "http route" => Some(Column::Route),
            "readonlyhint" => Some(Column::ReadOnly),
            "destructivehint" => Some(Column::Destructive),
            "idempotenthint" => Some(Column::Idempotent),
            _ => None,
        }
    }

    /// Headers of operation tables whose cells cannot be checked.
    fn is_free_form_hints(header: &str) -> bool {
        matches!(
            plain(header).to_ascii_lowercase().as_str(),
            "annotations" | "mcp hints" | "hints" | "mcp annotations"
        )
    }

    /// What the cell of `operation` in this column must say.
    fn expected(self, operation: &Operation) -> String {
        match self {
            Column::Name => operation.name.to_owned(),
            Column::DixaRequest => {
                format!("{} {}", operation.method.as_str(), operation.dixa_path)
            }
            Column::Route => format!(
                "{} {}",
                operation.service_method.as_str(),
                operation.service_path
            ),
            Column::ReadOnly => operation.read_only.to_string(),
            Column::Destructive => operation.destructive.to_string(),
            Column::Idempotent => operation.idempotent.to_string(),
        }
    }

    /// How messages name the column.
    fn label(self) -> &'static str {
        match self {
            Column::Name => "Operation / Tool",
            Column::DixaRequest => "Dixa request",
            Column::Route => "Route",
            Column::ReadOnly => "readOnlyHint",
            Column::Destructive => "destructiveHint",
            Column::Idempotent => "idempotentHint",
        }
    }

    /// The columns a row is identified by, in order of preference.
    const KEYS: [Column; 3] = [Column::Name, Column::Route, Column::DixaRequest];

    /// Every column, each of which some table of the README must show.
    const ALL: [Column; 6] = [
        Column::Name,
        Column::DixaRequest,
        Column::Route,
        Column::ReadOnly,
        Column::Destructive,
        Column::Idempotent,
    ];
}

/// A Markdown table: the line (1-based) of its header, its header cells and
/// its rows with their lines.
struct Table {
    line: usize,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

/// The cell's text without code spans' backticks, trimmed.
fn plain(cell: &str) -> String {
    cell.replace('`', "").trim().to_owned()
}

/// The cells of a table line: split at every `|` not escaped as `\|`.
fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = match line.strip_suffix('|') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => line,
    };
    let mut cells = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().unwrap().push('|');
            }
            '|' => cells.push(String::new()),
            other => cells.last_mut().unwrap().push(other),
        }
    }
    cells.iter().map(|cell| cell.trim().to_owned()).collect()
}

/// Whether a table line is the separator under a header (`|---|:--:|`).
fn is_separator(line: &str) -> bool {
    let cells = cells(line);
    !cells.is_empty()
        && cells
            .iter()
            .all(|cell| !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | ':' | ' ')))
}

/// Every table of `markdown` outside fenced code blocks.
fn tables(markdown: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut in_fence = false;
    let mut lines = markdown.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.trim_start().starts_with('|') {
            continue;
        }
        let Some((_, separator)) = lines.peek() else {
            continue;
        };
        if !is_separator(separator) {
            continue;
        }
        lines.next();
        let mut table = Table {
            line: index + 1,
            header: cells(line),
            rows: Vec::new(),
        };
        while let Some((row_index, row)) = lines.peek() {
            if !row.trim_start().starts_with('|') {
                break;
            }
            table.rows.push((row_index + 1, cells(row)));
            lines.next();
        }
        tables.push(table);
    }
    tables
}

/// Whether a first-column cell names an operation or one of its requests:
/// then the table lists operations, whatever its headers.
fn names_an_operation(cell: &str) -> bool {
    let cell = plain(cell);
    let is_request = ["GET ", "POST ", "PUT ", "DELETE ", "PATCH "]
        .iter()
        .any(|method| cell.starts_with(method))
        && cell.contains("/conversations/");
    is_request || OPERATIONS.iter().any(|o| o.name == cell)
}

/// The mismatches of one table (nothing when it does not list operations);
/// adds the columns it checked to `checked`.
fn check_table(table: &Table, checked: &mut BTreeSet<Column>) -> Vec<String> {
    check_operation_table(table, checked).unwrap_or_default()
}

/// [`check_table`], `None` for a table that does not list operations.
fn check_operation_table(table: &Table, checked: &mut BTreeSet<Column>) -> Option<Vec<String>> {
    let at = format!(
        "README.md:{} (table `{}`)",
        table.line,
        table.header.join(" | ")
    );
    let columns: Vec<Option<Column>> = table.header.iter().map(|h| Column::of(h)).collect();
    let key = Column::KEYS.iter().find_map(|key| {
        columns
            .iter()
            .position(|column| *column == Some(*key))
            .map(|index| (index, *key))
    });
    let lists_operations = table
        .rows
        .iter()
        .any(|(_, row)| row.first().is_some_and(|cell| names_an_operation(cell)));
    let Some((key_index, key)) = key else {
        return lists_operations.then(|| {
            vec![format!(
                "{at}: lists operations but has no column this test can match them by \
                 (`Operation`, `Tool`, `Route` or `Dixa request`)"
            )]
        });
    };

    let mut wrong = Vec::new();
    for header in &table.header {
        if Column::is_free_form_hints(header) {
            wrong.push(format!(
                "{at}: column `{header}` cannot be checked: write the MCP hints as \
                 `readOnlyHint`, `destructiveHint` and `idempotentHint` columns of true/false"
            ));
        }
    }
    checked.extend(columns.iter().flatten());

    let mut seen = vec![0_usize; OPERATIONS.len()];
    for (line, row) in &table.rows {
        if row.len() != table.header.len() {
            wrong.push(format!(
                "README.md:{line}: {} cells, but the header at line {} has {}",
                row.len(),
                table.line,
                table.header.len()
            ));
        }
        let key_cell = row
            .get(key_index)
            .map(|cell| plain(cell))
            .unwrap_or_default();
        let Some(found) = OPERATIONS
            .iter()
            .position(|operation| key.expected(operation) == key_cell)
        else {
            let known: Vec<String> = OPERATIONS.iter().map(|o| key.expected(o)).collect();
            wrong.push(format!(
                "README.md:{line}: `{key_cell}` is no operation's {} in \
                 dixa_contract::OPERATIONS (those are: {})",
                key.label(),
                known.join(", ")
            ));
            continue;
        };
        let operation = &OPERATIONS[found];
        seen[found] += 1;
        for ((column, cell), header) in columns.iter().zip(row).zip(&table.header) {
            let Some(column) = column else {
                continue;
            };
            let expected = column.expected(operation);
            if plain(cell) != expected {
                wrong.push(format!(
                    "README.md:{line}: `{}`, column `{}`: README says `{}`, \
                     dixa_contract::OPERATIONS says `{expected}`",
                    operation.name,
                    plain(header),
                    plain(cell)
                ));
            }
        }
    }
    for (operation, count) in OPERATIONS.iter().zip(seen) {
        if count != 1 {
            wrong.push(format!(
                "{at}: `{}` is listed {count} times, expected exactly once",
                operation.name
            ));
        }
    }
    Some(wrong)
}

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Panics listing every mismatch, if there is any.
fn assert_none(what: &str, wrong: &[String]) {
    if !wrong.is_empty() {
        let mut message = format!("{what}: {} mismatches\n", wrong.len());
        for line in wrong {
            let _ = writeln!(message, "  - {line}");
        }
        message.push_str("Fix README.md: dixa_contract::OPERATIONS is what the code does.");
        panic!("{message}");
    }
}

#[test]
fn readme_operation_tables_match_the_table_of_operations() {
    let readme = readme();
    let mut wrong = Vec::new();
    let mut checked = BTreeSet::new();
    let mut operation_tables = 0;
    for table in tables(&readme) {
        if let Some(table_wrong) = check_operation_table(&table, &mut checked) {
            operation_tables += 1;
            wrong.extend(table_wrong);
        }
    }
    assert!(operation_tables > 0, "README.md has no table of operations");
    for column in Column::ALL {
        if !checked.contains(&column) {
            wrong.push(format!(
                "no table of README.md has a `{}` column: every field of the table of \
                 operations must be shown somewhere",
                column.label()
            ));
        }
    }
    assert_none("README.md's tables of operations", &wrong);
}

/// The README's front door says what the connector does: its first
/// paragraph (after the title) names every operation, and when it counts
/// them ("seven operations"), the count is right.
#[test]
fn readme_first_paragraph_names_every_operation() {
    let readme = readme();
    let paragraph: Vec<&str> = readme
        .lines()
        .skip_while(|line| !line.starts_with("# "))
        .skip(1)
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
        .collect();
    let paragraph = paragraph.join(" ");
    let mut wrong = Vec::new();
    for operation in OPERATIONS {
        if !paragraph.contains(&format!("`{}`", operation.name)) {
            wrong.push(format!("`{}` is not named", operation.name));
        }
    }
    const NUMBERS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    let words: Vec<String> = paragraph
        .split_whitespace()
        .map(|word| word.to_ascii_lowercase())
        .collect();
    for pair in words.windows(2) {
        let [count, noun] = pair else { continue };
        if noun.trim_end_matches([',', '.', ':', ';']) != "operations" {
            continue;
        }
        if let Some(said) = NUMBERS.iter().position(|n| n == count)
            && said != OPERATIONS.len()
        {
            wrong.push(format!(
                "it says \"{count} operations\"; dixa_contract::OPERATIONS has {}",
                OPERATIONS.len()
            ));
        }
    }
    assert_none("README.md's first paragraph", &wrong);
}

#[test]
fn the_table_parser_reads_escaped_pipes_and_skips_code_blocks() {
    let markdown = "\
| Operation | Input |
|---|---|
| `add-message` | `inbound` \\| `outbound` |

```text
| not | a table |
|---|---|
```
";
    let found = tables(markdown);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 1);
    assert_eq!(
        found[0].rows,
        vec![(
            3,
            vec![
                "`add-message`".to_owned(),
                "`inbound` | `outbound`".to_owned()
            ]
        )]
    );
}

#[test]
fn every_wrong_row_is_reported() {
    let markdown = "\
| Operation | Dixa request | idempotentHint |
|---|---|---|
| `create-internal-note` | `POST /v1/conversations/{id}/notes` | true |
| `add-message` | `POST /v1/conversations/{conversationId}/messages` | false |
| `add-message` | `POST /v1/conversations/{conversationId}/messages` | false |
| `reboot-dixa` | `POST /v1/reboot` | false |
";
    let mut checked = BTreeSet::new();
    let wrong: Vec<String> = tables(markdown)
        .iter()
        .flat_map(|table| check_table(table, &mut checked))
        .collect();
    let has = |needle: &str| wrong.iter().any(|line| line.contains(needle));
    // The wrong path and the wrong hint of one row, both.
    assert!(
        has("README.md:3: `create-internal-note`, column `Dixa request`"),
        "{wrong:#?}"
    );
    assert!(
        has("README.md:3: `create-internal-note`, column `idempotentHint`"),
        "{wrong:#?}"
    );
    assert!(
        has("`reboot-dixa` is no operation's Operation"),
        "{wrong:#?}"
    );
    assert!(has("`add-message` is listed 2 times"), "{wrong:#?}");
    assert!(has("`tag-conversation` is listed 0 times"), "{wrong:#?}");
    // Every operation but the two listed missing, one twice, one unknown
    // row, two wrong cells.
    let missing = OPERATIONS.len() - 2;
    assert_eq!(wrong.len(), missing + 1 + 1 + 2, "{wrong:#?}");
}
