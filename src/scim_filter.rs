//! SCIM 2.0 filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).
//!
//! Syntax only: attribute names are not checked against a schema, so the caller maps the
//! ones it knows to columns and refuses the rest.

use std::fmt;
use std::iter::Peekable;
use std::str::CharIndices;

/// Refused before tokenizing, so one request bounds the work it can cause.
const MAX_LEN: usize = 4096;
/// Each `(` and `[` recurses once; the bound keeps hostile input far from the stack limit.
const MAX_DEPTH: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        attr: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: the inner filter's attributes are relative to `attr`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// An attribute path, normalized: lowercase attribute name and optional lowercase sub-attribute,
/// URN prefix (if any) stripped but remembered.
///
/// The URN is kept as written, without its final `:`; compare it with `eq_ignore_ascii_case`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

/// A PATCH `path`: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, with optional URN
/// prefix.
///
/// `name.givenName` keeps its sub-attribute in `attr.sub`; `emails[type eq "work"].value` is
/// `attr` = `emails`, the bracketed `filter`, and `sub` = `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Why a filter or path was refused; `detail` is meant for a SCIM error's `detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub detail: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for FilterError {}

type Result<T, E = FilterError> = std::result::Result<T, E>;

/// A `FilterError` whose detail is formatted like `format!`.
macro_rules! error {
    ($($arg:tt)*) => { FilterError { detail: format!($($arg)*) } };
}

/// Returns `Err(error!(...))`.
macro_rules! fail {
    ($($arg:tt)*) => { return Err(error!($($arg)*)) };
}

/// Parses a filter such as the `filter` query parameter of `GET /Users`.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input, "filter")?;
    let filter = p.parse_or()?;
    p.finish().map(|()| filter)
}

/// Parses the `path` of a PATCH operation.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(input, "path")?;
    let (attr, at) = match p.next() {
        Some((Tok::Word(w), at)) => (parse_attr_path(&w, at)?, at),
        t => fail!("expected an attribute name, found {}", describe(t.as_ref())),
    };
    let (mut filter, mut sub) = (None, None);
    if p.peek() == Some(&Tok::Punct('[')) {
        filter = Some(p.value_filter(&attr, at)?);
        if let Some((Tok::Word(w), at)) = p.toks.get(p.pos) {
            if let Some(name) = w.strip_prefix('.') {
                sub = Some(check_name(name, w, *at)?);
                p.pos += 1;
            }
        }
    }
    p.finish()?;
    Ok(PatchPath { attr, filter, sub })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// One of `( ) [ ]`.
    Punct(char),
    Str(String),
    /// Anything else up to whitespace, a bracket or a quote: attribute, operator or literal.
    Word(String),
}

/// A token and its byte offset in the input, for error messages.
type Token = (Tok, usize);

fn tokenize(input: &str) -> Result<Vec<Token>> {
    let is_delim = |c: char| c.is_whitespace() || "()[]\"".contains(c);
    let mut toks = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let tok = match c {
            '(' | ')' | '[' | ']' => Tok::Punct(c),
            '"' => Tok::Str(read_string(&mut chars, at)?),
            c if c.is_whitespace() => continue,
            _ => {
                let end = input[at..].find(is_delim).map_or(input.len(), |i| at + i);
                while chars.next_if(|&(i, _)| i < end).is_some() {}
                Tok::Word(input[at..end].to_string())
            }
        };
        toks.push((tok, at));
    }
    Ok(toks)
}

/// Reads a JSON string after its opening quote at `start`.
fn read_string(chars: &mut Peekable<CharIndices>, start: usize) -> Result<String> {
    let unterminated = || error!("unterminated string starting at offset {start}");
    let mut out = String::new();
    loop {
        let (at, c) = chars.next().ok_or_else(unterminated)?;
        if c == '"' {
            return Ok(out);
        }
        if (c as u32) < 0x20 {
            fail!("unescaped control character at offset {at}");
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (_, e) = chars.next().ok_or_else(unterminated)?;
        out.push(match e {
            '"' | '\\' | '/' => e,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => read_unicode_escape(chars, at)?,
            _ => fail!("invalid escape '\\{e}' at offset {at}"),
        });
    }
}

/// Reads the `XXXX` of `\uXXXX`, joining a UTF-16 surrogate pair into one char.
fn read_unicode_escape(chars: &mut Peekable<CharIndices>, at: usize) -> Result<char> {
    let bad = || error!("invalid \\u escape at offset {at}");
    let hex4 = |chars: &mut Peekable<CharIndices>| {
        (0..4).try_fold(0, |n, _| Some(n * 16 + chars.next()?.1.to_digit(16)?))
    };
    let mut code = hex4(chars).ok_or_else(bad)?;
    if (0xD800..0xDC00).contains(&code) {
        // A high surrogate counts only with the `\u` low surrogate after it.
        let pair =
            chars.next().map(|c| c.1) == Some('\\') && chars.next().map(|c| c.1) == Some('u');
        let low = if pair { hex4(chars) } else { None }.ok_or_else(bad)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(bad());
        }
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    char::from_u32(code).ok_or_else(bad)
}

#[derive(Default)]
struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Inside `[...]`, where RFC 7644 allows no further value filter.
    in_value_path: bool,
    what: &'static str,
}

impl Parser {
    fn new(input: &str, what: &'static str) -> Result<Self> {
        if input.len() > MAX_LEN {
            fail!("{what} is longer than {MAX_LEN} bytes");
        }
        let toks = tokenize(input)?;
        if toks.is_empty() {
            fail!("{what} is empty");
        }
        Ok(Parser {
            toks,
            what,
            ..Parser::default()
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<Token> {
        self.pos += 1;
        self.toks.get(self.pos - 1).cloned()
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword));
        self.pos += usize::from(hit);
        hit
    }

    fn finish(&self) -> Result<()> {
        let Some(t) = self.toks.get(self.pos) else {
            return Ok(());
        };
        let found = describe(Some(t));
        Err(match (&t.0, self.what) {
            (Tok::Punct(')' | ']'), _) => error!("unbalanced {found}"),
            (_, "filter") => error!("expected 'and' or 'or', found {found}"),
            _ => error!("unexpected {found} after the path"),
        })
    }

    /// `or` binds loosest, so every (sub)filter starts here.
    fn parse_or(&mut self) -> Result<Filter> {
        let mut left = self.parse_and()?;
        while self.eat_keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.parse_and()?));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Filter> {
        let mut left = self.parse_unary()?;
        while self.eat_keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.parse_unary()?));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Filter> {
        let t = self.next();
        let found = describe(t.as_ref());
        match &t {
            Some((Tok::Punct('('), at)) => self.nested(*at, ')'),
            // An attribute may itself be called `not`: it is one when an operator follows.
            Some((Tok::Word(w), at)) if w.eq_ignore_ascii_case("not") && !self.operator_next() => {
                match self.next() {
                    Some((Tok::Punct('('), open)) => {
                        Ok(Filter::Not(Box::new(self.nested(open, ')')?)))
                    }
                    _ => fail!("'not' at offset {at} needs a filter in parentheses"),
                }
            }
            Some((Tok::Word(w), at)) => {
                let attr = parse_attr_path(w, *at)?;
                if self.peek() == Some(&Tok::Punct('[')) {
                    let filter = Box::new(self.value_filter(&attr, *at)?);
                    return Ok(Filter::ValuePath { attr, filter });
                }
                self.attr_exp(attr, w)
            }
            _ => fail!("expected an attribute or '(', found {found}"),
        }
    }

    fn operator_next(&self) -> bool {
        let Some(Tok::Word(w)) = self.peek() else {
            return false;
        };
        w.eq_ignore_ascii_case("pr") || compare_op(w).is_some()
    }

    /// Parses the filter after the `(` or `[` at offset `open`, then its `close`.
    fn nested(&mut self, open: usize, close: char) -> Result<Filter> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let what = self.what;
            fail!("{what} nests deeper than {MAX_DEPTH} levels at offset {open}");
        }
        let filter = self.parse_or()?;
        let t = self.next();
        let found = describe(t.as_ref());
        match t {
            Some((Tok::Punct(c), _)) if c == close => {}
            None if close == ')' => fail!("'(' at offset {open} is not closed"),
            None => fail!("'[' at offset {open} is not closed"),
            _ => fail!("expected 'and', 'or' or '{close}', found {found}"),
        }
        self.depth -= 1;
        Ok(filter)
    }

    /// Parses the `[filter]` after `attr` (named at offset `at`), returning the inner filter.
    fn value_filter(&mut self, attr: &AttrPath, at: usize) -> Result<Filter> {
        if self.in_value_path {
            fail!("value filters cannot be nested (offset {at})");
        }
        if attr.sub.is_some() {
            // RFC 7643 §2.4: sub-attributes are never complex, so there is nothing to select.
            fail!("only a complex attribute takes '[' (offset {at})");
        }
        let open = self.next().map_or(at, |(_, open)| open);
        self.in_value_path = true;
        let filter = self.nested(open, ']')?;
        self.in_value_path = false;
        Ok(filter)
    }

    /// `attr pr` or `attr op value`; `name` is the attribute as written, for messages.
    fn attr_exp(&mut self, attr: AttrPath, name: &str) -> Result<Filter> {
        let t = self.next();
        let found = describe(t.as_ref());
        let Some((Tok::Word(word), at)) = t else {
            let name = shorten(name);
            fail!("expected an operator after '{name}', found {found}");
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(attr));
        }
        let Some(op) = compare_op(&word) else {
            fail!("unknown operator {found}; use eq ne co sw ew gt ge lt le pr");
        };
        let v = self.next();
        let found = describe(v.as_ref());
        let value = match v.map(|(t, _)| t) {
            Some(Tok::Str(s)) => Some(Value::Str(s)),
            Some(Tok::Word(w)) => parse_literal(&w),
            _ => fail!("expected a value after '{word}', found {found}"),
        };
        let Some(value) = value else {
            fail!("invalid value {found}; use a quoted string, true, false, null or a number");
        };
        let ordered = !matches!(op, CompareOp::Eq | CompareOp::Ne);
        if ordered && matches!(value, Value::Bool(_) | Value::Null) {
            // RFC 7644 §3.4.2.2: booleans (and null) have no order and no substrings.
            let op = word.to_ascii_lowercase();
            fail!("'{op}' at offset {at} does not apply to true, false or null");
        }
        Ok(Filter::Compare { attr, op, value })
    }
}

fn compare_op(word: &str) -> Option<CompareOp> {
    use CompareOp::*;
    let names = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
    let i = names.iter().position(|op| op.eq_ignore_ascii_case(word))?;
    Some([Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le][i])
}

/// `[URN ":"] ATTRNAME ["." ATTRNAME]`; the URN ends at the last `:`, since it holds `.` itself.
fn parse_attr_path(word: &str, at: usize) -> Result<AttrPath> {
    let (mut urn, mut rest) = (None, word);
    let has_urn = word
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    if has_urn {
        let i = word.rfind(':').unwrap_or(0);
        let urn_char = |c: char| c.is_ascii_alphanumeric() || ":-._".contains(c);
        if i <= 4 || !word[..i].chars().all(urn_char) {
            let urn = shorten(&word[..i]);
            fail!("'{urn}' at offset {at} is not a valid schema URN");
        }
        (urn, rest) = (Some(word[..i].to_string()), &word[i + 1..]);
    }
    let (attr, sub) = match rest.split_once('.') {
        Some((attr, sub)) => (attr, Some(sub)),
        None => (rest, None),
    };
    Ok(AttrPath {
        urn,
        attr: check_name(attr, word, at)?,
        sub: sub.map(|s| check_name(s, word, at)).transpose()?,
    })
}

/// RFC 7644's ATTRNAME = ALPHA *("-" / "_" / DIGIT / ALPHA), or `$ref`; returned lowercased.
fn check_name(name: &str, word: &str, at: usize) -> Result<String> {
    let mut chars = name.chars();
    let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.eq_ignore_ascii_case("$ref") || (starts_alpha && chars.all(name_char)) {
        return Ok(name.to_ascii_lowercase());
    }
    let word = shorten(word);
    fail!("'{word}' at offset {at} is not a valid attribute name")
}

fn parse_literal(word: &str) -> Option<Value> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => parse_number(word).map(Value::Num),
    }
}

/// JSON's number grammar, stricter than `f64::from_str` (no `inf`, `.5`, `1.`, `+1` or `01`).
fn parse_number(s: &str) -> Option<f64> {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let json = b.iter().all(|c| b"0123456789.eE+-".contains(c))
        && digit_at(0)
        && !(b[0] == b'0' && digit_at(1))
        && (0..b.len()).all(|i| b[i] != b'.' || digit_at(i + 1));
    s.parse().ok().filter(|n: &f64| json && n.is_finite())
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "the end of the input".to_string(),
        Some((Tok::Str(_), at)) => format!("a string at offset {at}"),
        Some((Tok::Word(w), at)) => format!("'{}' at offset {at}", shorten(w)),
        Some((Tok::Punct(c), at)) => format!("'{c}' at offset {at}"),
    }
}

/// Keeps error details readable when the input is long garbage.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn or_empty<T>(o: &Option<T>, f: impl Fn(&T) -> String) -> String {
        o.as_ref().map_or(String::new(), f)
    }

    fn name(a: &AttrPath) -> String {
        let urn = or_empty(&a.urn, |u| format!("{u}:"));
        format!("{urn}{}{}", a.attr, or_empty(&a.sub, |s| format!(".{s}")))
    }

    /// Renders a filter as an s-expression, so an expectation fits on one line.
    fn show(f: &Filter) -> String {
        match f {
            Filter::Compare { attr, op, value } => {
                let op = format!("{op:?}").to_lowercase();
                let value = match value {
                    Value::Str(s) => format!("{s:?}"),
                    Value::Num(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".to_string(),
                };
                format!("({op} {} {value})", name(attr))
            }
            Filter::Present(a) => format!("(pr {})", name(a)),
            Filter::And(a, b) => format!("(and {} {})", show(a), show(b)),
            Filter::Or(a, b) => format!("(or {} {})", show(a), show(b)),
            Filter::Not(a) => format!("(not {})", show(a)),
            Filter::ValuePath { attr, filter } => format!("{}[{}]", name(attr), show(filter)),
        }
    }

    /// Renders a path as `attr[filter].sub`.
    fn show_path(p: &PatchPath) -> String {
        let filter = or_empty(&p.filter, |f| format!("[{}]", show(f)));
        format!(
            "{}{filter}{}",
            name(&p.attr),
            or_empty(&p.sub, |s| format!(".{s}"))
        )
    }

    /// Checks each `input => expected` row of `table` (a row may break after `=>`): the rendering
    /// of what `input` parses to, or `error: ` and a part of the error detail.
    fn check<T: fmt::Debug>(parse: fn(&str) -> Result<T>, render: fn(&T) -> String, table: &str) {
        let table = table.replace("=>\n", "=>");
        for row in table.lines().filter(|l| !l.trim().is_empty()) {
            let (input, want) = row.split_once("=>").expect(row);
            let (input, want) = (input.trim(), want.trim());
            match (parse(input), want.strip_prefix("error: ")) {
                (Ok(got), None) => assert_eq!(render(&got), want, "{input}"),
                (Err(e), Some(want)) => assert!(e.detail.contains(want), "{input}: {}", e.detail),
                (got, _) => panic!("{input}: got {got:?}, want {want}"),
            }
        }
    }

    fn filters(table: &str) {
        check(parse_filter, show, table);
    }

    fn paths(table: &str) {
        check(parse_path, show_path, table);
    }

    fn attr(urn: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        let (urn, attr, sub) = (urn.map(Into::into), attr.into(), sub.map(Into::into));
        AttrPath { urn, attr, sub }
    }

    fn eq(name: &str, value: Value) -> Box<Filter> {
        let (attr, op) = (attr(None, name, None), CompareOp::Eq);
        Box::new(Filter::Compare { attr, op, value })
    }

    #[test]
    fn okta_and_entra_lookups_parse_to_the_expected_tree() {
        let okta = parse_filter(r#"userName eq "ada@example.com""#);
        assert_eq!(
            okta,
            Ok(*eq("username", Value::Str("ada@example.com".into())))
        );
        let entra = parse_filter(r#"externalId eq "abc""#);
        assert_eq!(entra, Ok(*eq("externalid", Value::Str("abc".into()))));
        let entra = parse_filter(r#"userName eq "x" and active eq true"#);
        let (user, active) = (eq("username", Value::Str("x".into())), Value::Bool(true));
        assert_eq!(entra, Ok(Filter::And(user, eq("active", active))));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let [a, b, c] = [1.0, 2.0, 3.0].map(Value::Num);
        let want = Filter::Or(eq("a", a), Box::new(Filter::And(eq("b", b), eq("c", c))));
        assert_eq!(parse_filter("a eq 1 or b eq 2 and c eq 3"), Ok(want));
    }

    #[test]
    fn operators_precedence_parentheses_and_not() {
        filters(
            r#"
            a eq "x" => (eq a "x")
            a ne "x" => (ne a "x")
            a co "x" => (co a "x")
            a sw "x" => (sw a "x")
            a ew "x" => (ew a "x")
            meta.lastModified gt "2011-05-13T04:42:34Z" =>
                (gt meta.lastmodified "2011-05-13T04:42:34Z")
            a ge 1 => (ge a 1)
            a lt 1 => (lt a 1)
            a le 1 => (le a 1)
            displayName pr => (pr displayname)
            a pr and b pr or c pr => (or (and (pr a) (pr b)) (pr c))
            a pr and b pr and c pr => (and (and (pr a) (pr b)) (pr c))
            a pr or b pr or c pr => (or (or (pr a) (pr b)) (pr c))
            (a pr or b pr) and c pr => (and (or (pr a) (pr b)) (pr c))
            ((a pr or (b pr)) and ((c pr))) => (and (or (pr a) (pr b)) (pr c))
            not (a eq "b") => (not (eq a "b"))
            not(a eq "b") => (not (eq a "b"))
            not (a pr) and b pr or c pr => (or (and (not (pr a)) (pr b)) (pr c))
            a pr or not (b pr) and c pr => (or (pr a) (and (not (pr b)) (pr c)))
            not (not (a pr or b pr)) => (not (not (or (pr a) (pr b))))
            not eq "x" and and pr => (and (eq not "x") (pr and))
            not a pr => error: 'not' at offset 0 needs a filter in parentheses
            "#,
        );
    }

    #[test]
    fn names_operators_keywords_and_literals_are_case_insensitive() {
        filters(
            r#"
            userName EQ "x" => (eq username "x")
            USERNAME eq "Ada" => (eq username "Ada")
            NOT (Emails.VALUE Co "@X") AND a PR OR b Eq TRUE =>
                (or (and (not (co emails.value "@X")) (pr a)) (eq b true))
            active eq False or manager eq NULL => (or (eq active false) (eq manager null))
            "#,
        );
    }

    #[test]
    fn urn_prefix_is_stripped_but_remembered() {
        let core = "urn:ietf:params:scim:schemas:core:2.0:User";
        let f = parse_filter(&format!("{core}:userName pr"));
        assert_eq!(f, Ok(Filter::Present(attr(Some(core), "username", None))));
        filters(
            r#"
            URN:ietf:params:scim:schemas:core:2.0:User:name.givenName pr =>
                (pr URN:ietf:params:scim:schemas:core:2.0:User:name.givenname)
            urn:acme:x-1.2_3:emails[type pr] => urn:acme:x-1.2_3:emails[(pr type)]
            urn:userName pr => error: 'urn' at offset 0 is not a valid schema URN
            urn:x!y:a pr => error: 'urn:x!y' at offset 0 is not a valid schema URN
            urn:a:1b pr => error: 'urn:a:1b' at offset 0 is not a valid attribute name
            "#,
        );
    }

    #[test]
    fn strings_follow_json_escapes() {
        filters(
            r#"
            a eq "say \"hi\"" => (eq a "say \"hi\"")
            a eq "back\\slash\/" => (eq a "back\\slash/")
            a eq "caf\u00e9 caf\u00E9 ünï" => (eq a "café café ünï")
            a eq "\ud83d\ude00" => (eq a "😀")
            a eq "\b\f\n\r\t" => (eq a "\u{8}\u{c}\n\r\t")
            a eq "(not) [and] or" => (eq a "(not) [and] or")
            a eq "" => (eq a "")
            a eq "unterminated => error: unterminated string starting at offset 5
            a eq "ends in \ => error: unterminated string starting at offset 5
            a eq "\x" => error: invalid escape '\x' at offset 6
            a eq "\u12" => error: invalid \u escape at offset 6
            a eq "\u12g4" => error: invalid \u escape at offset 6
            a eq "\ud83d" => error: invalid \u escape at offset 6
            a eq "\ud83d\u0041" => error: invalid \u escape at offset 6
            a eq "\ude00" => error: invalid \u escape at offset 6
            "#,
        );
        let tab = parse_filter("a eq \"a\tb\"").unwrap_err();
        assert_eq!(tab.detail, "unescaped control character at offset 7");
    }

    #[test]
    fn numbers_follow_json_and_only_eq_and_ne_take_booleans_and_null() {
        filters(
            "
            n gt 0 => (gt n 0)
            n ge -7 => (ge n -7)
            n lt 3.25 => (lt n 3.25)
            n le -2.5E-1 => (le n -0.25)
            n ne 1e+3 => (ne n 1000)
            active ne true => (ne active true)
            manager eq null => (eq manager null)
            ",
        );
        for bad in "01 -01 1. .5 +1 1e 1e+ --1 1x 1e999 inf NaN".split(' ') {
            let row = format!("n eq {bad} => error: invalid value '{bad}' at offset 5");
            filters(&row);
        }
        for op in "gt ge lt le co sw ew".split(' ') {
            let want = format!("error: '{op}' at offset 2 does not apply to true, false or null");
            filters(&format!("a {op} true => {want}\n a {op} NULL => {want}"));
        }
    }

    #[test]
    fn value_filters_select_within_a_complex_attribute() {
        filters(
            r#"
            emails[type eq "work" and value co "@example.com"] =>
                emails[(and (eq type "work") (co value "@example.com"))]
            userType eq "Employee" and emails[type eq "work"] =>
                (and (eq usertype "Employee") emails[(eq type "work")])
            emails[type eq "work"] or ims[value co "@foo.com"] =>
                (or emails[(eq type "work")] ims[(co value "@foo.com")])
            Members[not (value eq "1") or (display pr)] =>
                members[(or (not (eq value "1")) (pr display))]
            emails [ type pr ] => emails[(pr type)]
            emails[type eq "work" and x[y pr]] => error: value filters cannot be nested (offset 26)
            name.givenName[x pr] => error: only a complex attribute takes '[' (offset 0)
            emails[type eq "work"].value eq "x" =>
                error: expected 'and' or 'or', found '.value' at offset 22
            emails[] => error: expected an attribute or '(', found ']' at offset 7
            emails[type eq "work" => error: '[' at offset 6 is not closed
            emails[type eq "work") => error: expected 'and', 'or' or ']', found ')' at offset 21
            "#,
        );
    }

    #[test]
    fn attribute_names_are_checked_for_syntax_only() {
        filters("x-custom_attr2 pr => (pr x-custom_attr2)\n members.$REF pr => (pr members.$ref)");
        for bad in "1abc _a -a a.b.c a. .a a..b a$b é a:b $reff".split(' ') {
            let row = format!("{bad} pr => error: '{bad}' at offset 0 is not a valid attribute");
            filters(&row);
        }
    }

    #[test]
    fn malformed_filters_are_refused_with_a_clear_detail() {
        filters(
            r#"
             => error: filter is empty
            "x" eq userName => error: expected an attribute or '(', found a string at offset 0
            1 eq 1 => error: '1' at offset 0 is not a valid attribute name
            userName like "x" =>
                error: unknown operator 'like' at offset 9; use eq ne co sw ew gt ge lt le pr
            userName == "x" => error: unknown operator '=='
            userName => error: expected an operator after 'userName', found the end of the input
            userName "x" => error: expected an operator after 'userName', found a string at offset 9
            userName eq => error: expected a value after 'eq', found the end of the input
            userName eq ) => error: expected a value after 'eq', found ')' at offset 12
            a eq "x" and => error: expected an attribute or '(', found the end of the input
            a eq "x" or or b pr => error: unknown operator 'b'
            (a pr => error: '(' at offset 0 is not closed
            ((a pr) => error: '(' at offset 0 is not closed
            a pr) => error: unbalanced ')' at offset 4
            a pr] => error: unbalanced ']' at offset 4
            (a pr] => error: expected 'and', 'or' or ')', found ']' at offset 5
            () => error: expected an attribute or '(', found ')' at offset 1
            a eq "x" garbage => error: expected 'and' or 'or', found 'garbage' at offset 9
            a eq "x" "y" => error: expected 'and' or 'or', found a string at offset 9
            (a pr) (b pr) => error: expected 'and' or 'or', found '(' at offset 7
            title pr "x" => error: expected 'and' or 'or', found a string at offset 9
            "#,
        );
        let blank = parse_filter(" \t\n ").unwrap_err();
        assert_eq!(blank.to_string(), "filter is empty");
    }

    #[test]
    fn size_and_nesting_are_bounded_without_overflowing_the_stack() {
        let fits = format!(r#"a eq "{}""#, "x".repeat(MAX_LEN - 7));
        assert!(fits.len() == MAX_LEN && parse_filter(&fits).is_ok());
        let nest = |n: usize, s: &str| format!("{}a pr{}", s.repeat(n), ")".repeat(n));
        assert!(parse_filter(&nest(MAX_DEPTH, "(")).is_ok());
        assert!(parse_filter(&nest(MAX_DEPTH, "not (")).is_ok());
        let too_long = "filter is longer than 4096 bytes";
        let too_deep = "filter nests deeper than 50 levels at offset";
        let cases = [
            (format!("{fits} "), too_long),
            ("(".repeat(100_000), too_long),
            (
                nest(MAX_DEPTH + 1, "("),
                "filter nests deeper than 50 levels at offset 50",
            ),
            (nest(MAX_DEPTH + 1, "not ("), too_deep),
            ("(".repeat(4000), too_deep),
            (format!("emails[{}", nest(MAX_DEPTH, "(")), too_deep),
        ];
        for (input, want) in cases {
            let detail = parse_filter(&input).unwrap_err().detail;
            assert!(detail.starts_with(want), "{detail}");
        }
    }

    #[test]
    fn hostile_garbage_is_refused_without_panicking() {
        for s in "(|[|\"|\\u|a eq |é(|urn:|and or not |)|x".split('|') {
            assert!(parse_filter(&s.repeat(10_000 / s.len())).is_err(), "{s}");
            assert!(parse_path(&s.repeat(10_000 / s.len())).is_err(), "{s}");
            assert!(parse_filter(&s.repeat(4000 / s.len())).is_err(), "{s}");
        }
        let long = parse_filter(&format!("{} pr", "1".repeat(3000)))
            .unwrap_err()
            .detail;
        assert!(long.len() < 100, "details stay short: {long}");
        // Pseudo-random strings over the filter alphabet: any result but a panic will do.
        let alphabet: Vec<char> = "ab.:[]()\"\\u0eqnotrp $-_1é ".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            let input: String = (0..seed % 40)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            let _ = (parse_filter(&input), parse_path(&input));
        }
        let rich = r#"urn:a:b:emails[type eq "\u00e9" and not (value co "@x")] or a.b ge -1.5e2"#;
        assert!(parse_filter(rich).is_ok());
        for (i, _) in rich.char_indices() {
            let _ = (parse_filter(&rich[..i]), parse_path(&rich[..i]));
        }
    }

    #[test]
    fn patch_paths_name_an_attribute_or_select_values() {
        let name = parse_path("name.givenName").unwrap();
        assert_eq!(name.attr, attr(None, "name", Some("givenname")));
        assert_eq!((name.filter, name.sub), (None, None));
        let work = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(work.attr, attr(None, "emails", None));
        assert_eq!(work.filter, Some(*eq("type", Value::Str("work".into()))));
        assert_eq!(work.sub.as_deref(), Some("value"));
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let enterprise = parse_path(&format!("{urn}:employeeNumber")).unwrap();
        assert_eq!(enterprise.attr, attr(Some(urn), "employeenumber", None));
        paths(
            r#"
            displayName => displayname
            members[value eq "2819c223"] => members[(eq value "2819c223")]
            Emails[Type EQ "work" and primary eq true].Value =>
                emails[(and (eq type "work") (eq primary true))].value
            urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].display =>
                urn:ietf:params:scim:schemas:core:2.0:User:emails[(eq type "work")].display
            members.$ref => members.$ref
            "#,
        );
    }

    #[test]
    fn malformed_patch_paths_are_refused() {
        paths(
            r#"
             => error: path is empty
            "emails" => error: expected an attribute name, found a string at offset 0
            (emails) => error: expected an attribute name, found '(' at offset 0
            emails value => error: unexpected 'value' at offset 7 after the path
            emails eq 1 => error: unexpected 'eq' at offset 7 after the path
            emails[type eq "work"]value => error: unexpected 'value' at offset 22 after the path
            emails[type eq "work"].value.x =>
                error: '.value.x' at offset 22 is not a valid attribute name
            emails[type eq "work"]. => error: '.' at offset 22 is not a valid attribute name
            emails[type eq "work" => error: '[' at offset 6 is not closed
            emails[type eq "work"]] => error: unbalanced ']' at offset 22
            emails[type eq "work"][x pr] => error: unexpected '[' at offset 22 after the path
            name.givenName[x pr] => error: only a complex attribute takes '['
            emails[type[x pr]] => error: value filters cannot be nested
            "#,
        );
        let long = parse_path(&"a".repeat(5000)).unwrap_err();
        assert_eq!(long.to_string(), "path is longer than 4096 bytes");
    }
}
