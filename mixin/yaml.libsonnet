// YAML as a person writes it: std.manifestYamlDoc quotes every string
// (and, before quote_keys, every key), which makes the rule files hard to
// read and to diff. This writes keys and values plain where the text reads
// back as the same string in YAML 1.1 and 1.2 (what promtool, the
// Prometheus Operator, PyYAML and yamllint parse), double-quoted (JSON
// escaping, valid YAML) where it would not, and multi-line text as a
// literal block. The layout is manifestYamlDoc's with
// indent_array_in_object=true, so the rendered files only lose quotes.
local chars(s) = std.stringChars(s);
local has(set, c) = std.length(std.findSubstr(c, set)) > 0;
local all(pred, xs) = std.foldl(function(acc, x) acc && pred(x), xs, true);
local any(pred, xs) = std.foldl(function(acc, x) acc || pred(x), xs, false);

local control(c) = std.codepoint(c) < 32 || std.codepoint(c) == 127;

// Words YAML 1.1 reads as booleans or null (any case), and the merge and
// value keys.
local reserved = ['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~', '<<', '='];

// A duration (5m, 1h30m) starts with a digit but is no number, date or
// sexagesimal in any YAML version; anything else that starts with a digit
// might be one, so it is quoted.
local duration(s) =
  all(function(c) has('0123456789smhdwy', c), chars(s))
  && has('smhdwy', s[std.length(s) - 1]);

local plain(s) =
  local n = std.length(s);
  n > 0
  && !any(control, chars(s))
  && !has('-?:,[]{}#&*!|>\'"%@`+. ', s[0])
  && !has(' :', s[n - 1])
  && !has(s, ': ')
  && !has(s, ' #')
  && !std.member(reserved, std.asciiLower(s))
  && (!has('0123456789', s[0]) || duration(s));

// The lines of multi-line text, without the empty one after a final newline.
local bodyLines(s) =
  local lines = std.split(s, '\n');
  if std.endsWith(s, '\n') then lines[0:std.length(lines) - 1] else lines;

// Multi-line text as a literal block: only when the block reads back as
// the very string (one trailing newline at most, no leading space on the
// first line, no trailing spaces, which yamllint refuses).
local blockable(s) =
  local body = bodyLines(s);
  !std.endsWith(s, '\n\n')
  && !std.startsWith(s, ' ')
  && !any(function(c) c != '\n' && control(c), chars(s))
  && all(function(l) !std.endsWith(l, ' '), body)
  && std.length(body) > 0;

local block(s, indent) =
  (if std.endsWith(s, '\n') then '|' else '|-')
  + std.join('', ['\n' + (if l == '' then '' else indent + '  ' + l) for l in bodyLines(s)]);

local string(s, indent) =
  if has(s, '\n') && blockable(s) then block(s, indent)
  else if plain(s) then s
  else std.escapeStringJson(s);

local key(k) = if plain(k) then k else std.escapeStringJson(k);

local nonEmpty(v) = (std.isArray(v) || std.isObject(v)) && std.length(v) > 0;

local aux(v, indent) =
  if v == true then 'true'
  else if v == false then 'false'
  else if v == null then 'null'
  else if std.isNumber(v) then std.toString(v)
  else if std.isString(v) then string(v, indent)
  else if std.isArray(v) then
    if std.length(v) == 0 then '[]'
    else std.join('\n' + indent, [
      local inner = if nonEmpty(x) then indent + '  ' else indent;
      '-' + (if std.isArray(x) && std.length(x) > 0 then '\n' + inner else ' ') + aux(x, inner)
      for x in v
    ])
  else if std.isObject(v) then
    if std.length(v) == 0 then '{}'
    else std.join('\n' + indent, [
      local x = v[k];
      local inner = if nonEmpty(x) then indent + '  ' else indent;
      key(k) + ':' + (if nonEmpty(x) then '\n' + inner else ' ') + aux(x, inner)
      for k in std.objectFields(v)
    ])
  else error 'yaml: cannot render a function';

{
  // The document without a final newline, as manifestYamlDoc (jsonnet -m
  // adds one when it writes the file).
  manifest(value):: aux(value, ''),
}
