//! `docs/WIT.md` is generated from `wit/connector.wit`, so the reference cannot
//! drift from the interface: this test regenerates it and fails when the
//! committed file was out of date (commit the regenerated file then).

use std::fmt::Write as _;
use std::path::Path;

use wit_parser::{Docs, Resolve, Type, TypeDefKind, WorldItem, WorldKey};

/// Docs on one line, for a table cell.
fn docs(docs: &Docs) -> String {
    let text = docs.contents.as_deref().unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Docs as Markdown paragraphs and lists, for a section.
fn block(docs: &Docs) -> String {
    docs.contents.as_deref().unwrap_or("").trim().to_owned()
}

/// A type in code font; `<` would otherwise read as HTML in a table.
fn code(resolve: &Resolve, ty: &Type) -> String {
    format!("`{}`", type_name(resolve, ty))
}

fn type_name(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => {
            let def = &resolve.types[*id];
            if let Some(name) = &def.name {
                return name.clone();
            }
            match &def.kind {
                TypeDefKind::Option(t) => format!("option<{}>", type_name(resolve, t)),
                TypeDefKind::List(t) => format!("list<{}>", type_name(resolve, t)),
                TypeDefKind::Result(r) => format!(
                    "result<{}, {}>",
                    r.ok.as_ref().map_or("_".into(), |t| type_name(resolve, t)),
                    r.err.as_ref().map_or("_".into(), |t| type_name(resolve, t))
                ),
                TypeDefKind::Tuple(t) => format!(
                    "tuple<{}>",
                    t.types
                        .iter()
                        .map(|t| type_name(resolve, t))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                TypeDefKind::Type(t) => type_name(resolve, t),
                other => other.as_str().into(),
            }
        }
    }
}

fn reference() -> String {
    let mut resolve = Resolve::new();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (package, _) = resolve.push_dir(&wit).unwrap();
    let package = &resolve.packages[package];
    let mut md = format!(
        "# WIT reference: `{}`\n\nGenerated from [`wit/connector.wit`](../wit/connector.wit) by \
         `tests/tests/all/wit_reference.rs`; do not edit by hand.\n\n{}\n",
        package.name,
        block(&package.docs)
    );
    for (name, id) in &package.interfaces {
        let interface = &resolve.interfaces[*id];
        let _ = write!(
            md,
            "\n## Interface `{name}`\n\n{}\n",
            block(&interface.docs)
        );
        for (type_name_, type_id) in &interface.types {
            let def = &resolve.types[*type_id];
            match &def.kind {
                TypeDefKind::Record(record) => {
                    let _ = write!(
                        md,
                        "\n### record `{type_name_}`\n\n{}\n\n| field | type | meaning |\n|---|---|---|\n",
                        block(&def.docs)
                    );
                    for field in &record.fields {
                        let _ = writeln!(
                            md,
                            "| `{}` | {} | {} |",
                            field.name,
                            code(&resolve, &field.ty),
                            docs(&field.docs)
                        );
                    }
                }
                TypeDefKind::Enum(e) => {
                    let _ = write!(
                        md,
                        "\n### enum `{type_name_}`\n\n{}\n\n| case | meaning |\n|---|---|\n",
                        block(&def.docs)
                    );
                    for case in &e.cases {
                        let _ = writeln!(md, "| `{}` | {} |", case.name, docs(&case.docs));
                    }
                }
                TypeDefKind::Variant(v) => {
                    let _ = write!(
                        md,
                        "\n### variant `{type_name_}`\n\n{}\n\n| case | payload | meaning |\n|---|---|---|\n",
                        block(&def.docs)
                    );
                    for case in &v.cases {
                        let payload = case
                            .ty
                            .as_ref()
                            .map_or("—".into(), |t| type_name(&resolve, t));
                        let _ =
                            writeln!(md, "| `{}` | {payload} | {} |", case.name, docs(&case.docs));
                    }
                }
                // `use` of a type from another interface.
                TypeDefKind::Type(_) => {}
                other => panic!(
                    "the generator does not render {} `{type_name_}` yet",
                    other.as_str()
                ),
            }
        }
        for (function_name, function) in &interface.functions {
            let params = function
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name, type_name(&resolve, &p.ty)))
                .collect::<Vec<_>>()
                .join(", ");
            let result = function
                .result
                .as_ref()
                .map_or(String::new(), |t| format!(" -> {}", type_name(&resolve, t)));
            let _ = write!(
                md,
                "\n### func `{function_name}`\n\n`{function_name}: func({params}){result}`\n\n{}\n",
                block(&function.docs)
            );
        }
    }
    for (name, id) in &package.worlds {
        let world = &resolve.worlds[*id];
        let _ = write!(
            md,
            "\n## World `{name}`\n\n{}\n\n| direction | item | meaning |\n|---|---|---|\n",
            block(&world.docs)
        );
        for (direction, items) in [("import", &world.imports), ("export", &world.exports)] {
            for (key, item) in items {
                // Interfaces pulled in only as dependencies of the declared
                // ones carry no docs of their own; the table lists the declared.
                let WorldItem::Interface {
                    id,
                    docs: item_docs,
                    ..
                } = item
                else {
                    continue;
                };
                if item_docs.contents.is_none() {
                    continue;
                }
                let item_name = match key {
                    WorldKey::Interface(_) => resolve.id_of(*id).unwrap_or_default(),
                    WorldKey::Name(name) => name.clone(),
                };
                let _ = writeln!(md, "| {direction} | `{item_name}` | {} |", docs(item_docs));
            }
        }
    }
    md
}

#[test]
fn wit_reference_is_generated_from_the_wit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/WIT.md");
    let generated = reference();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        std::fs::write(&path, &generated).unwrap();
        panic!("docs/WIT.md was out of date with wit/; it has been regenerated: commit it");
    }
}

#[test]
fn the_table_of_operations_is_the_wit_interface() {
    let mut resolve = Resolve::new();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (package, _) = resolve.push_dir(&wit).unwrap();
    let package = &resolve.packages[package];
    let conversations = &resolve.interfaces[package.interfaces["conversations"]];
    let in_wit: Vec<(&str, String)> = conversations
        .functions
        .iter()
        .map(|(name, function)| (name.as_str(), docs(&function.docs)))
        .collect();
    let in_table: Vec<(&str, String)> = dixa_contract::OPERATIONS
        .iter()
        .map(|operation| (operation.name, operation.description.to_owned()))
        .collect();
    assert_eq!(
        in_table, in_wit,
        "dixa_contract::OPERATIONS must list the WIT's functions, in order, with their docs"
    );
}
