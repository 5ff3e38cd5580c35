//! The source tree keeps the shape ARCHITECTURE.md states: modules in
//! layers, each importing only from the layers below it, no import circle
//! between any two files, and no function over the length a reader can
//! hold in view. Read from `src/` as text, so it needs no tooling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, lowest layer first: a module may import from
/// itself and from the modules before it, never from one after it.
/// ARCHITECTURE.md lists the same order.
const LAYERS: &[&str] = &[
    "clock",
    "dates",
    "secret",
    "families",
    "self_metrics",
    "api",
    "web",
    "config",
    "wechat",
    "collectors",
    "state",
    "expose",
    "poll",
    "backfill",
    "simulator",
    "cli",
];

/// Functions may be this long at most (lines, signature to closing brace),
/// outside tables and tests.
const MAX_FN_LINES: usize = 80;

struct Source {
    /// `poll::poller` for `src/poll/poller.rs`, `poll` for `src/poll/mod.rs`.
    module: String,
    path: PathBuf,
    /// The text with comments and string/char literals blanked out.
    code: String,
    raw: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn sources() -> Vec<Source> {
    let mut out = Vec::new();
    let mut stack = vec![src_dir()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("src/ is readable") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src_dir()).expect("under src/");
                let mut parts: Vec<String> = rel
                    .iter()
                    .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
                    .collect();
                if parts.last().is_some_and(|l| l == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] || parts == ["main"] {
                    continue;
                }
                let raw = std::fs::read_to_string(&p).expect("a source file");
                out.push(Source {
                    module: parts.join("::"),
                    path: p,
                    code: blank_comments_and_literals(&raw),
                    raw,
                });
            }
        }
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// Replaces comments and the contents of string and char literals with
/// spaces (newlines kept), so that paths in them are not read as imports.
fn blank_comments_and_literals(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let keep = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && matches!(c.get(i + 1), Some('#') | Some('"'))
            && !ident_before(&c, i)
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            out.push('"');
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                out.push(keep(c[j]));
                j += 1;
            }
            out.push('"');
            i = j;
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}'), or a lifetime.
            let close = if c.get(i + 1) == Some(&'\\') {
                (i + 2..c.len().min(i + 12)).find(|&j| c[j] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    out.push_str("' ");
                    out.extend(std::iter::repeat(' ').take(j - i - 2));
                    out.push('\'');
                    i = j + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn ident_before(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// Every path a file names: `use` trees expanded, `crate::`/`super::`
/// paths written inline, and child modules named bare, each as segments
/// from the crate root.
fn referenced_paths(src: &Source) -> Vec<Vec<String>> {
    let here: Vec<String> = src.module.split("::").map(String::from).collect();
    let code = &src.code;
    let inline = inline_modules(code);
    // `super` inside `mod tests { .. }` is the file's own module.
    let depth_at = |at: usize| inline.iter().filter(|(a, b)| *a <= at && at < *b).count();
    let mut out = Vec::new();
    for at in starts_of(code, "use ") {
        let Some(end) = code[at..].find(';') else {
            break;
        };
        for p in expand_use(&squeeze(&code[at + 4..at + end])) {
            out.extend(absolute(&p, &here, depth_at(at)));
        }
    }
    for prefix in ["crate::", "super::"] {
        for at in starts_of(code, prefix) {
            let rest: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let p: Vec<String> = rest
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            out.extend(absolute(&p, &here, depth_at(at)));
        }
    }
    for child in declared_children(code) {
        for _ in starts_of(code, &format!("{child}::")) {
            let mut p = here.to_vec();
            p.push(child.clone());
            out.push(p);
        }
    }
    out
}

/// Where `pat` starts a word (not inside an identifier or a longer path).
fn starts_of(code: &str, pat: &str) -> Vec<usize> {
    let b = code.as_bytes();
    code.match_indices(pat)
        .map(|(i, _)| i)
        .filter(|&i| {
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':')
        })
        .collect()
}

/// The byte ranges of inline `mod name { .. }` blocks.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    for at in starts_of(code, "mod ") {
        let rest = &code[at + 4..];
        let name_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(0);
        let after = rest[name_len..].trim_start();
        if name_len == 0 || !after.starts_with('{') {
            continue;
        }
        let open = code.len() - after.len();
        let mut depth = 0;
        for (j, &ch) in b.iter().enumerate().skip(open) {
            match ch {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push((open, j));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn absolute(p: &[String], here: &[String], inline_depth: usize) -> Option<Vec<String>> {
    let mut rest = p;
    let base: Vec<String> = match rest.first().map(String::as_str) {
        Some("crate") => {
            rest = &rest[1..];
            Vec::new()
        }
        Some("super") | Some("self") => {
            // Inline modules are levels of their own, resolving to the file.
            let mut cur: Vec<Option<&String>> = here.iter().map(Some).collect();
            cur.extend(std::iter::repeat(None).take(inline_depth));
            if rest[0] == "self" {
                rest = &rest[1..];
            }
            while rest.first().is_some_and(|s| s == "super") {
                cur.pop();
                rest = &rest[1..];
            }
            cur.into_iter().flatten().cloned().collect()
        }
        _ => return None,
    };
    Some(base.into_iter().chain(rest.iter().cloned()).collect())
}

/// The modules a file declares (`mod x;`, `pub mod x;`), not inline ones.
fn declared_children(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// A use tree on one line, with no space but the one in `x as y`.
fn squeeze(t: &str) -> String {
    let one = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for (i, ch) in one.char_indices() {
        let prev = one[..i].chars().last();
        let next = one[i + ch.len_utf8()..].chars().next();
        let glue = |c: Option<char>| matches!(c, Some(':' | '{' | '}' | ','));
        if ch == ' ' && (glue(prev) || glue(next)) {
            continue;
        }
        out.push(ch);
    }
    out
}

/// `crate::a::{b, c::{d, e}}` → `crate::a::b`, `crate::a::c::d`, `crate::a::c::e`.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], t: &str, out: &mut Vec<Vec<String>>) {
        let t = t.trim_start_matches("::");
        if let Some(open) = t.find('{') {
            let head: Vec<String> = t[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let mut p = prefix.to_vec();
            p.extend(head);
            let inner = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&p, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&p, &inner[start..], out);
        } else if !t.is_empty() {
            let mut p = prefix.to_vec();
            let t = t.split(" as ").next().unwrap_or(t);
            p.extend(t.split("::").filter(|s| !s.is_empty()).map(String::from));
            if p.last().is_some_and(|l| l == "self") {
                p.pop();
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

/// The file-level module a path lands in: its longest prefix that is one.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let srcs = sources();
    let modules: BTreeSet<String> = srcs.iter().map(|s| s.module.clone()).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &srcs {
        let e = g.entry(s.module.clone()).or_default();
        for p in referenced_paths(s) {
            if let Some(m) = resolve(&p, &modules) {
                if m != s.module {
                    e.insert(m);
                }
            }
        }
    }
    g
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

#[test]
fn every_module_is_in_a_layer() {
    for s in sources() {
        assert!(
            LAYERS.contains(&top(&s.module)),
            "{} ({}) is in no layer: add it to LAYERS here and to ARCHITECTURE.md",
            s.module,
            s.path.display()
        );
    }
}

#[test]
fn nothing_imports_upward() {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == top(m));
    let mut upward = Vec::new();
    for (from, tos) in import_graph() {
        for to in tos {
            if let (Some(a), Some(b)) = (rank(&from), rank(&to)) {
                if b > a {
                    upward.push(format!("{from} -> {to}"));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports running up the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_circles() {
    let g = import_graph();
    // Tarjan's strongly connected components: a component of more than
    // one file is a circle.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        circles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.circles.push(comp);
            }
        }
    }
    let mut t = T {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    let shown: Vec<String> = t.circles.iter().map(|c| c.join(" <-> ")).collect();
    ratchet("import circles", &shown, KNOWN_CIRCLES);
}

/// Offenders left from before the check existed, each to be removed from
/// its list when fixed: a new offender fails, and so does a listed one
/// that is gone (the list only shrinks).
fn ratchet(what: &str, found: &[String], known: &[&str]) {
    let new: Vec<&String> = found
        .iter()
        .filter(|f| !known.iter().any(|k| f.starts_with(k)))
        .collect();
    let gone: Vec<&&str> = known
        .iter()
        .filter(|k| !found.iter().any(|f| f.starts_with(**k)))
        .collect();
    assert!(
        new.is_empty(),
        "{what}:\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        gone.is_empty(),
        "{what} fixed: remove from the known list: {gone:?}"
    );
}

/// Circles not untangled yet (file-level components, sorted, joined by ` <-> `).
const KNOWN_CIRCLES: &[&str] = &[];

/// Functions not split yet, as `path:line name` without the line number:
/// `src/x.rs name`.
const KNOWN_LONG: &[&str] = &[];

/// Functions longer than [`MAX_FN_LINES`], outside `#[cfg(test)]` modules
/// and `static`/`const` tables.
fn long_functions() -> Vec<String> {
    let mut out = Vec::new();
    for s in sources() {
        let lines: Vec<&str> = s.code.lines().collect();
        let raw: Vec<&str> = s.raw.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i].trim_start();
            if raw[i].trim_start().starts_with("#[cfg(test)]")
                && lines.get(i + 1).is_some_and(|n| {
                    n.trim_start().starts_with("mod ")
                        || n.trim_start().starts_with("pub(crate) mod ")
                })
            {
                i = block_end(&lines, i + 1) + 1;
                continue;
            }
            if let Some(name) = fn_name(l) {
                let end = block_end(&lines, i);
                let n = end - i + 1;
                if n > MAX_FN_LINES {
                    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                    let path = s.path.strip_prefix(root).unwrap_or(&s.path);
                    out.push(format!("{}:{} {name}: {n} lines", path.display(), i + 1));
                }
            }
            i += 1;
        }
    }
    out
}

fn fn_name(l: &str) -> Option<&str> {
    let mut rest = l;
    for kw in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(kw).unwrap_or(rest);
    }
    for kw in ["const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(kw).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

/// The line of the brace that closes the block opened at or after `start`
/// (a declaration ending in `;` first closes at once).
fn block_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i64;
    let mut opened = false;
    // `[u8; 32]` in a signature is not the `;` of a declaration.
    let mut brackets = 0i64;
    for (j, l) in lines.iter().enumerate().skip(start) {
        for ch in l.chars() {
            match ch {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                '[' => brackets += 1,
                ']' => brackets -= 1,
                ';' if !opened && depth == 0 && brackets == 0 => return j,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return j;
        }
    }
    lines.len().saturating_sub(1)
}

#[test]
fn no_function_is_too_long_to_read() {
    // Compared without line numbers, which move with every edit.
    let long: Vec<String> = long_functions()
        .iter()
        .map(|l| {
            let (path, rest) = l.split_once(':').unwrap_or((l, ""));
            let rest = rest.split_once(' ').map_or(rest, |(_, r)| r);
            format!("{path} {rest}")
        })
        .collect();
    ratchet(
        &format!("functions over {MAX_FN_LINES} lines (split them)"),
        &long,
        KNOWN_LONG,
    );
}

#[test]
fn the_checker_sees_what_it_should() {
    // A planted circle, an upward import and a long function, so that the
    // checks above cannot pass by seeing nothing.
    let code = blank_comments_and_literals(
        "use crate::poll::{poller::Poller, self};\n// use crate::cli;\nlet s = \"crate::cli\";\nuse super::x as y;\n",
    );
    let src = Source {
        module: "expose::http".into(),
        path: PathBuf::new(),
        code,
        raw: String::new(),
    };
    let paths: BTreeSet<String> = referenced_paths(&src)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert!(paths.contains("poll::poller::Poller"), "{paths:?}");
    assert!(paths.contains("poll"), "{paths:?}");
    assert!(paths.contains("expose::x"), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.starts_with("cli")),
        "comments and strings are not imports: {paths:?}"
    );
    let g = import_graph();
    assert!(g.len() > 40, "the graph has every file: {}", g.len());
    assert!(
        g.get("poll::poller")
            .is_some_and(|t| t.contains("collectors")),
        "the poller imports the catalogue"
    );
    let lines: Vec<&str> = "fn f() {\n"
        .lines()
        .chain(std::iter::repeat("    x();").take(90))
        .chain(["}"])
        .collect();
    assert_eq!(block_end(&lines, 0), 91);
    let sig: Vec<&str> = vec!["fn g(seen: [u8; 32]) {", "    x();", "}"];
    assert_eq!(
        block_end(&sig, 0),
        2,
        "an array type does not end the signature"
    );
    assert_eq!(fn_name("pub(crate) async fn poll_api("), Some("poll_api"));
}
