//! The layer rule of `src/lib.rs`'s "# Layout", checked on the source: each room imports only
//! from the rooms beneath it. A `crate::…` path in a file's code (comments and its test module
//! left out) names the room it reaches into.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

/// The rooms each room may import from (besides itself). `None`: no rule (the wiring, and the
/// rooms beside the layers).
fn allowed(room: &str) -> Option<&'static [&'static str]> {
    Some(match room {
        "domain" => &[],
        "audit" => &["domain"],
        "verification" => &["domain", "audit"],
        "contract" => &["domain", "audit", "verification"],
        // Interfaces: the layers beneath, the settings, never each other's internals.
        "grpc" => &["domain", "audit", "verification", "contract", "config"],
        "console" => &[
            "domain",
            "audit",
            "verification",
            "contract",
            "config",
            "words",
            "chart",
            "telemetry",
            "terminal",
        ],
        "roster" => &["domain", "contract", "words", "chart", "synthetic"],
        _ => return None,
    })
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: without comments, and without its test module (by the convention of this
/// crate, `#[cfg(test)]` items come last) or a whole file of tests.
fn code(path: &Path, text: &str) -> String {
    if path
        .file_stem()
        .is_some_and(|s| s == "tests" || s == "tests_support")
    {
        return String::new();
    }
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
    before_tests
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rooms of the crate that `code` imports: `crate::room::…` and each `room` of a
/// `use crate::{room::…, …}` group.
fn imports(code: &str) -> BTreeSet<String> {
    let mut rooms = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        rooms.insert(name);
                    }
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            rooms.insert(name);
        }
    }
    rooms.remove("self");
    rooms
}

#[test]
fn no_room_imports_from_a_room_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut broken = Vec::new();
    for path in &all {
        let relative = path.strip_prefix(&src).unwrap();
        let room = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let Some(allowed) = allowed(&room) else {
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        for used in imports(&code(path, &text)) {
            if used != room && !allowed.contains(&used.as_str()) {
                broken.push(format!("{} imports crate::{used}", relative.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports that run up:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_service_code_imports_the_load_generator() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    for path in all {
        let relative = path.strip_prefix(&src).unwrap();
        let room = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        if ["loadgen", "cli", "main.rs", "lib.rs"].contains(&room.as_ref()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !imports(&code(&path, &text)).contains("loadgen"),
            "{} imports the load generator",
            relative.display()
        );
    }
}

#[test]
fn the_scan_finds_imports_in_groups_and_paths_and_not_in_comments() {
    let code = code(
        Path::new("x.rs"),
        "use crate::{\n    audit::{self, X},\n    domain::gate,\n};\n// crate::cli in a comment\n\
         fn f() { crate::grpc::pb::X::default(); }\n#[cfg(test)]\nmod tests { use crate::cli; }",
    );
    assert_eq!(
        imports(&code).into_iter().collect::<Vec<_>>(),
        ["audit", "domain", "grpc"]
    );
}
