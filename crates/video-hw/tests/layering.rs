//! The layering rule of `docs/architecture.md` ("Layering"), held against the source tree.
//!
//! The library's modules are read from `src/lib.rs` down through every `mod x;` (whatever its
//! `cfg`), each file is tokenised (comments and literals dropped), and every `use` tree and
//! every `crate::` / `super::` / `$crate::` path in code is resolved to the unit it names. A
//! path is refused when the arrow from the file's unit to that unit is not in [`ARROWS`], or
//! when it reaches an item through a `lib.rs` re-export (library files import from the
//! defining module). Test-only code (`#[cfg(test)]` items and modules) tests a layer from
//! above and is not held to the arrows. The CLI and Python binding crates may use only the
//! public API: no path into a backend room (`video_hw::backend::software::...`) and no `#[doc(hidden)]` item.
//!
//! Std only: no parser dependency, so the rule stays cheap to run in every `cargo test`.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The allowed arrows: a unit may import itself and the units listed. `backend/*` stands for
/// every backend room (a folder under `src/backend/`); rooms are siblings and never import
/// each other.
const ARROWS: &[(&str, &[&str])] = &[
    ("api", &[]),
    ("bitstream", &["api"]),
    ("metrics", &["api"]),
    ("pattern", &["api"]),
    ("transform", &["api", "metrics"]),
    (
        "backend",
        &["api", "bitstream", "transform", "metrics", "backend/*"],
    ),
    (
        "backend/*",
        &["api", "bitstream", "transform", "metrics", "backend"],
    ),
    ("container", &["api", "bitstream", "metrics"]),
    (
        "session",
        &[
            "api",
            "bitstream",
            "transform",
            "metrics",
            "pattern",
            "backend",
            "container",
        ],
    ),
    (
        "pipeline",
        &[
            "api",
            "bitstream",
            "transform",
            "metrics",
            "backend",
            "container",
            "session",
        ],
    ),
    ("diagnostics", &["api", "backend", "backend/*"]),
];

/// One refused path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    path: String,
    why: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}",
            self.file, self.line, self.path, self.why
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(&'static str),
    /// Any other punctuation character.
    Other(char),
    /// A literal (string, char, number): its value never matters here.
    Lit,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits Rust source into identifiers and punctuation, dropping comments and literals.
fn tokenize(src: &str) -> Vec<Token> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let push = |out: &mut Vec<Token>, tok, line| out.push(Token { tok, line });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&b, i) {
            line += b[i..end].iter().filter(|c| **c == '\n').count();
            push(&mut out, Tok::Lit, line);
            i = end;
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            i += if c == 'b' { 2 } else { 1 };
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    line += 1;
                }
                i += 1;
            }
            push(&mut out, Tok::Lit, line);
            i += 1;
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            let start = if c == 'b' { i + 1 } else { i };
            let after = b.get(start + 1).copied();
            if after == Some('\\') {
                i = start + 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                push(&mut out, Tok::Lit, line);
            } else if b.get(start + 2) == Some(&'\'') {
                i = start + 3;
                push(&mut out, Tok::Lit, line);
            } else {
                // A lifetime or label: skip the quote, the name follows as an identifier.
                i = start + 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let s = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[s..i].iter().collect();
            let word = word.strip_prefix("r#").map(str::to_owned).unwrap_or(word);
            push(&mut out, Tok::Ident(word), line);
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                if b[i] == '.' && b.get(i + 1) == Some(&'.') {
                    break;
                }
                i += 1;
            }
            push(&mut out, Tok::Lit, line);
        } else if c == ':' && next == Some(':') {
            push(&mut out, Tok::Punct("::"), line);
            i += 2;
        } else {
            let tok = match c {
                '{' => Tok::Punct("{"),
                '}' => Tok::Punct("}"),
                '(' => Tok::Punct("("),
                ')' => Tok::Punct(")"),
                '[' => Tok::Punct("["),
                ']' => Tok::Punct("]"),
                ';' => Tok::Punct(";"),
                ',' => Tok::Punct(","),
                '#' => Tok::Punct("#"),
                '*' => Tok::Punct("*"),
                '$' => Tok::Punct("$"),
                '!' => Tok::Punct("!"),
                other => Tok::Other(other),
            };
            push(&mut out, tok, line);
            i += 1;
        }
    }
    out
}

/// Where a raw string literal starting at `i` ends (`r"..."`, `r#"..."#`, `br"..."`).
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') || (i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')) {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

fn is(t: &Token, p: &str) -> bool {
    matches!(&t.tok, Tok::Punct(q) if *q == p)
}

fn ident(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Ident(s) => Some(s),
        _ => None,
    }
}

/// The index after the bracket group that opens at `i`.
fn skip_group(toks: &[Token], i: usize) -> usize {
    let mut depth = 0i32;
    let mut j = i;
    while j < toks.len() {
        match &toks[j].tok {
            Tok::Punct("{" | "(" | "[") => depth += 1,
            Tok::Punct("}" | ")" | "]") => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// The index after the item that starts at `i`: up to a `;` at depth 0, or through the first
/// brace group at depth 0.
fn skip_item(toks: &[Token], i: usize) -> usize {
    let mut j = i;
    while j < toks.len() {
        match &toks[j].tok {
            Tok::Punct(";") => return j + 1,
            Tok::Punct("{") => return skip_group(toks, j),
            Tok::Punct("(" | "[") => j = skip_group(toks, j),
            Tok::Punct("}") => return j,
            _ => j += 1,
        }
    }
    j
}

/// Whether the attribute tokens (inside `#[...]`) gate on `test` (`cfg(test)`,
/// `cfg(all(test, ...))`), not on `not(test)`.
fn is_test_cfg(attr: &[Token]) -> bool {
    let names: Vec<&str> = attr.iter().filter_map(ident).collect();
    names.first() == Some(&"cfg") && names.contains(&"test") && !names.contains(&"not")
}

/// Whether the attribute is `doc(hidden)`.
fn is_doc_hidden(attr: &[Token]) -> bool {
    let names: Vec<&str> = attr.iter().filter_map(ident).collect();
    names == ["doc", "hidden"]
}

/// A path found in code, with the line it starts on.
#[derive(Debug, Clone)]
struct FoundPath {
    segs: Vec<String>,
    line: usize,
}

/// Flattens the use tree starting at `i` (after `use`) with `prefix` into `out`; returns the
/// index after it.
fn use_tree(
    toks: &[Token],
    mut i: usize,
    prefix: &[String],
    line: usize,
    out: &mut Vec<FoundPath>,
) -> usize {
    let mut segs = prefix.to_vec();
    if i < toks.len() && is(&toks[i], "::") {
        i += 1;
    }
    while i < toks.len() {
        if is(&toks[i], "$") {
            i += 1;
            continue;
        }
        if let Some(name) = ident(&toks[i]) {
            segs.push(name.to_owned());
            i += 1;
            if i < toks.len() && is(&toks[i], "::") {
                i += 1;
                continue;
            }
            if i < toks.len() && ident(&toks[i]) == Some("as") {
                i += 2;
            }
            out.push(FoundPath { segs, line });
            return i;
        }
        if is(&toks[i], "*") {
            out.push(FoundPath { segs, line });
            return i + 1;
        }
        if is(&toks[i], "{") {
            i += 1;
            while i < toks.len() && !is(&toks[i], "}") {
                i = use_tree(toks, i, &segs, toks[i].line, out);
                if i < toks.len() && is(&toks[i], ",") {
                    i += 1;
                }
            }
            return i + 1;
        }
        return i + 1;
    }
    i
}

/// What one file holds: paths in its code (per inline module) and the child modules it
/// declares.
struct Scan {
    /// (module path of the inline module it is in, relative to the file's; path).
    paths: Vec<(Vec<String>, FoundPath)>,
    /// (name, test-only) of each `mod name;`.
    children: Vec<(String, bool)>,
    /// Names of `#[doc(hidden)]` items.
    hidden: Vec<String>,
}

/// Scans a file's tokens. `head` names the roots whose paths are collected in code (`crate`
/// and `super` in the library, `video_hw` in the CLI).
fn scan(toks: &[Token], heads: &[&str]) -> Scan {
    let mut scan = Scan {
        paths: Vec::new(),
        children: Vec::new(),
        hidden: Vec::new(),
    };
    // Inline modules open now: (name, brace depth at which it closes).
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let mut test_attr = false;
    let mut hidden_attr = false;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if is(t, "#") {
            let mut j = i + 1;
            if j < toks.len() && is(&toks[j], "!") {
                j += 1;
            }
            if j < toks.len() && is(&toks[j], "[") {
                let end = skip_group(toks, j);
                let attr = &toks[j + 1..end.saturating_sub(1)];
                test_attr |= is_test_cfg(attr) && !is(&toks[i + 1], "!");
                hidden_attr |= is_doc_hidden(attr);
                i = end;
                continue;
            }
        }
        if test_attr {
            test_attr = false;
            hidden_attr = false;
            // `#[cfg(test)] mod name;` declares a test-only child file.
            let mut j = i;
            while j < toks.len() && matches!(ident(&toks[j]), Some("pub" | "crate")) {
                j += 1;
                if j < toks.len() && is(&toks[j], "(") {
                    j = skip_group(toks, j);
                }
            }
            if ident(&toks[j]) == Some("mod")
                && let Some(name) = toks.get(j + 1).and_then(ident)
                && toks.get(j + 2).is_some_and(|t| is(t, ";"))
            {
                scan.children.push((name.to_owned(), true));
            }
            i = skip_item(toks, i);
            continue;
        }
        if hidden_attr
            && let Some(kw) = ident(t)
            && matches!(
                kw,
                "fn" | "struct" | "enum" | "mod" | "const" | "static" | "trait" | "type" | "union"
            )
            && let Some(name) = toks.get(i + 1).and_then(ident)
        {
            scan.hidden.push(name.to_owned());
            hidden_attr = false;
        }
        match &t.tok {
            Tok::Punct("{") => depth += 1,
            Tok::Punct("}") => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Tok::Punct(";") => hidden_attr = false,
            _ => {}
        }
        let here: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        match ident(t) {
            Some("mod") => {
                if let Some(name) = toks.get(i + 1).and_then(ident) {
                    if toks.get(i + 2).is_some_and(|t| is(t, ";")) {
                        scan.children.push((name.to_owned(), false));
                    } else if toks.get(i + 2).is_some_and(|t| is(t, "{")) {
                        inline.push((name.to_owned(), depth + 1));
                    }
                }
                i += 1;
            }
            Some("use") => {
                let mut found = Vec::new();
                i = use_tree(toks, i + 1, &[], t.line, &mut found);
                scan.paths
                    .extend(found.into_iter().map(|p| (here.clone(), p)));
            }
            Some(head)
                if heads.contains(&head)
                    && toks.get(i + 1).is_some_and(|n| is(n, "::"))
                    && (i == 0 || ident(&toks[i - 1]) != Some("in"))
                    && (i == 0 || !is(&toks[i - 1], "::")) =>
            {
                let mut segs = vec![head.to_owned()];
                let mut j = i + 1;
                while j + 1 < toks.len() && is(&toks[j], "::") {
                    match ident(&toks[j + 1]) {
                        Some(name) => segs.push(name.to_owned()),
                        None => break,
                    }
                    j += 2;
                }
                scan.paths
                    .push((here.clone(), FoundPath { segs, line: t.line }));
                i = j;
            }
            _ => i += 1,
        }
    }
    scan
}

/// One library file reached from `lib.rs`.
struct ModFile {
    /// Module path from the crate root (`["backend", "nvidia", "decoder"]`).
    module: Vec<String>,
    file: PathBuf,
    test_only: bool,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The library's files, from `lib.rs` through every `mod x;`.
fn library_files(src: &Path) -> Vec<(ModFile, Scan)> {
    let mut out = Vec::new();
    let mut todo = vec![ModFile {
        module: Vec::new(),
        file: src.join("lib.rs"),
        test_only: false,
    }];
    while let Some(m) = todo.pop() {
        let text = fs::read_to_string(&m.file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", m.file.display()));
        let s = scan(&tokenize(&text), &["crate", "super"]);
        let dir = match m.file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "mod.rs") => m.file.parent().map(Path::to_path_buf),
            _ => m.file.with_extension("").into(),
        }
        .expect("a source file has a folder");
        for (name, test) in &s.children {
            let flat = dir.join(format!("{name}.rs"));
            let file = if flat.exists() {
                flat
            } else {
                dir.join(name).join("mod.rs")
            };
            let mut module = m.module.clone();
            module.push(name.clone());
            todo.push(ModFile {
                module,
                file,
                test_only: m.test_only || *test,
            });
        }
        out.push((m, s));
    }
    out
}

/// The unit a module path belongs to: its top-level module, or `backend/<room>` inside a
/// backend room (a folder under `src/backend/`).
fn unit_of(module: &[String], rooms: &BTreeSet<String>) -> Option<String> {
    let top = module.first()?;
    if top == "backend"
        && let Some(room) = module.get(1)
        && rooms.contains(room)
    {
        return Some(format!("backend/{room}"));
    }
    Some(top.clone())
}

fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let key = if from.starts_with("backend/") {
        "backend/*"
    } else {
        from
    };
    let Some((_, targets)) = ARROWS.iter().find(|(f, _)| *f == key) else {
        return false;
    };
    targets
        .iter()
        .any(|t| *t == to || (*t == "backend/*" && to.starts_with("backend/")))
}

/// Every refused path of the library under `src`.
fn library_violations(src: &Path) -> Vec<Violation> {
    let files = library_files(src);
    let rooms: BTreeSet<String> = fs::read_dir(src.join("backend"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let top: BTreeSet<String> = files
        .iter()
        .filter(|(m, _)| m.module.len() == 1)
        .map(|(m, _)| m.module[0].clone())
        .collect();
    let mut out = Vec::new();
    for (m, s) in &files {
        if m.test_only || m.module.is_empty() {
            continue;
        }
        let from = unit_of(&m.module, &rooms).expect("a module below the root");
        let rel = m
            .file
            .strip_prefix(crate_dir())
            .unwrap_or(&m.file)
            .display()
            .to_string();
        for (inline, p) in &s.paths {
            let mut here = m.module.clone();
            here.extend(inline.iter().cloned());
            let Some(abs) = resolve(&here, &p.segs) else {
                continue;
            };
            let shown = p.segs.join("::");
            let violation = |why: String| Violation {
                file: rel.clone(),
                line: p.line,
                path: shown.clone(),
                why,
            };
            match abs.first() {
                None => out.push(violation(
                    "imports the crate root: import from the defining module".into(),
                )),
                Some(first) if !top.contains(first) => out.push(violation(format!(
                    "`{first}` is reached through a lib.rs re-export: import it from the module that defines it"
                ))),
                Some(_) => {
                    let to = unit_of(&abs, &rooms).expect("a module below the root");
                    if !allowed(&from, &to) {
                        out.push(violation(format!(
                            "forbidden arrow {from} -> {to} (docs/architecture.md, Layering)"
                        )));
                    }
                }
            }
        }
    }
    out.sort();
    // One line per file, line and reason: `use a::{B, C}` names the arrow once.
    out.dedup_by(|b, a| a.file == b.file && a.line == b.line && a.why == b.why);
    out
}

/// The absolute module path `segs` names from module `here`; `None` for paths that do not
/// start at the crate root or go up (`std::...`, a child module's name).
fn resolve(here: &[String], segs: &[String]) -> Option<Vec<String>> {
    let first = segs.first()?;
    match first.as_str() {
        "crate" => Some(segs[1..].to_vec()),
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            let base = here.len().checked_sub(ups)?;
            let mut abs = here[..base].to_vec();
            abs.extend(segs[ups..].iter().cloned());
            Some(abs)
        }
        _ => None,
    }
    .map(|abs| abs.into_iter().filter(|s| s != "self").collect())
}

/// Every refused path of the crate `name` (the CLI, the Python binding) under `cli_src`, given
/// the names of the library's `#[doc(hidden)]` items and its backend rooms.
fn cli_violations(
    name: &str,
    cli_src: &Path,
    hidden: &BTreeSet<String>,
    rooms: &BTreeSet<String>,
) -> Vec<Violation> {
    let mut files = Vec::new();
    let mut dirs = vec![cli_src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let root = cli_src.parent().unwrap_or(cli_src);
    let mut out = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).unwrap_or_default();
        let s = scan(&tokenize(&text), &["video_hw"]);
        let rel = format!("../{name}/{}", f.strip_prefix(root).unwrap_or(&f).display());
        for (_, p) in &s.paths {
            if p.segs.first().map(String::as_str) != Some("video_hw") {
                continue;
            }
            let why = if p.segs.get(1).is_some_and(|s| s == "backend")
                && p.segs.get(2).is_some_and(|r| rooms.contains(r))
            {
                Some("the CLI reaches into a backend room: use the public API".to_owned())
            } else {
                p.segs.iter().find(|s| hidden.contains(*s)).map(|h| {
                    format!("the CLI uses `{h}`, which is #[doc(hidden)]: use the public API")
                })
            };
            if let Some(why) = why {
                out.push(Violation {
                    file: rel.clone(),
                    line: p.line,
                    path: p.segs.join("::"),
                    why,
                });
            }
        }
    }
    out.sort();
    out
}

fn report(what: &str, v: &[Violation]) -> String {
    let lines: Vec<String> = v.iter().map(ToString::to_string).collect();
    format!(
        "{} {what} cross the layering rule (docs/architecture.md, section Layering):\n  {}",
        v.len(),
        lines.join("\n  ")
    )
}

#[test]
fn library_imports_follow_the_layering_arrows() {
    let src = crate_dir().join("src");
    // The walk reaches modules behind any cfg (Apple-only, test-only) and nested folders.
    let files = library_files(&src);
    for must in [
        "backend/videotoolbox/apple/decode.rs",
        "session/decode.rs",
        "container/mp4_demux/movie.rs",
    ] {
        assert!(
            files.iter().any(|(m, _)| m.file.ends_with(must)),
            "the layering check did not reach src/{must}"
        );
    }
    let v = library_violations(&src);
    assert!(v.is_empty(), "{}", report("library paths", &v));
}

#[test]
fn cli_and_python_binding_use_only_the_public_api() {
    let src = crate_dir().join("src");
    let hidden: BTreeSet<String> = library_files(&src)
        .into_iter()
        .flat_map(|(_, s)| s.hidden)
        .collect();
    let rooms: BTreeSet<String> = fs::read_dir(src.join("backend"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    for name in ["video-hw-cli", "video-hw-py"] {
        let v = cli_violations(
            name,
            &crate_dir().join("..").join(name).join("src"),
            &hidden,
            &rooms,
        );
        assert!(v.is_empty(), "{}", report(&format!("{name} paths"), &v));
    }
}

#[test]
fn the_check_refuses_upward_sideways_and_lib_rs_imports_but_not_test_code() {
    let root = std::env::temp_dir().join(format!("video-hw-layering-{}", std::process::id()));
    let src = root.join("src");
    let files = [
        (
            "lib.rs",
            "pub mod api;\npub mod backend;\npub mod metrics;\nmod session;\npub use api::Thing;\n",
        ),
        ("api.rs", "pub struct Thing;\n"),
        ("session.rs", "pub struct Worker;\n"),
        ("backend/mod.rs", "mod a;\nmod b;\nuse crate::api::Thing;\n"),
        ("backend/a/mod.rs", "use crate::backend::b::Helper;\n"),
        (
            "backend/b/mod.rs",
            "pub struct Helper;\n/// [`crate::session::Worker`] in a doc link is no import.\nfn f() -> super::super::api::Thing { super::super::api::Thing }\n",
        ),
        (
            "metrics/mod.rs",
            "use crate::session::Worker;\nfn f() -> crate::Thing {\n    let s = \"crate::session::Worker\";\n    crate::api::Thing\n}\n#[cfg(test)]\nmod tests {\n    use crate::session::Worker;\n}\n",
        ),
    ];
    for (path, text) in files {
        let p = src.join(path);
        fs::create_dir_all(p.parent().expect("a folder")).expect("temp folder");
        fs::write(&p, text).expect("temp file");
    }
    let found: Vec<(String, usize, String)> = library_violations(&src)
        .into_iter()
        .map(|v| {
            let file = v.file.rsplit("src/").next().unwrap_or_default().to_owned();
            (file, v.line, v.why)
        })
        .collect();
    let _ = fs::remove_dir_all(&root);
    let expected = [
        (
            "backend/a/mod.rs",
            1,
            "forbidden arrow backend/a -> backend/b",
        ),
        ("metrics/mod.rs", 1, "forbidden arrow metrics -> session"),
        (
            "metrics/mod.rs",
            2,
            "`Thing` is reached through a lib.rs re-export",
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((file, line, why), (f, l, w)) in found.iter().zip(expected) {
        assert_eq!((file.as_str(), *line), (f, l), "{found:#?}");
        assert!(why.starts_with(w), "{why}");
    }
}
