//! Reading the file safely: how deep YAML nests (checked before the
//! parser sees it), parser errors without the input they quote, and the
//! small text rules (appids, `${VAR}` references) validation shares.

/// A field that failed validation, and why: `(field, reason)`; `mod.rs`
/// adds the file's path.
pub(super) type Invalid = (String, String);

/// How deep `text` nests, as far as a cheap scan can tell: open flow
/// brackets, block indentation levels and `- ` entries on one line. It
/// over-counts rather than under-counts (quoted text is skipped, block
/// scalars are not), which only matters far above any real config.
pub fn yaml_depth(text: &str) -> usize {
    let mut max = 0;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if flow == 0 {
            let indent = line.len() - trimmed.len();
            while indents.last().is_some_and(|&i| i > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
        }
        // `- - - x` nests one sequence per dash on a single line.
        let mut rest = trimmed;
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start();
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for c in rest.chars() {
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\''
                        if prev == ' '
                            || prev == '['
                            || prev == '{'
                            || prev == ','
                            || prev == ':' =>
                    {
                        quote = Some(c)
                    }
                    '#' if prev == ' ' => break,
                    '[' | '{' => flow += 1,
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
            max = max.max(indents.len() + dashes + flow);
        }
        max = max.max(indents.len() + dashes + flow);
    }
    max
}

/// The parser's message without any quoted input: serde quotes the
/// offending value (`invalid type: string "…"`), which is the secret when
/// `--config.file` names a secret file. Field and variant names in
/// backticks stay when they look like schema names (lowercase words).
pub(super) fn quiet_yaml_error(e: &serde_yaml_ng::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                out.push_str("(value omitted)");
            }
            '`' => {
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == '`' {
                        break;
                    }
                    inner.push(d);
                }
                if looks_like_a_name(&inner) {
                    out.push('`');
                    out.push_str(&inner);
                    out.push('`');
                } else {
                    out.push_str("(value omitted)");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A schema name (`max_calls_per_minute`, `miniprogram`), not a token or a
/// secret: lowercase letters and `_`, at most 40, and not a long run of
/// letters without `_` (random strings look like that).
fn looks_like_a_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && (s.contains('_') || s.len() <= 16)
}

pub fn is_appid(s: &str) -> bool {
    s.len() == 18 && s.starts_with("wx") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `${NAME}`. A value that is not exactly one reference is refused:
/// secrets do not belong in the config file.
pub(super) fn expand_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name = s
        .trim()
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or("must be an environment reference such as ${SHOP_SECRET}, or use secret_file: secrets do not belong in the config file")?;
    match env(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(format!("environment variable {name} is not set")),
    }
}
