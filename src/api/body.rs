//! Request bodies: size-limited, JSON only, unknown fields refused, every error a 400/413/415
//! with the contract's body (never actix's plain-text defaults).

use crate::domain::is_plain_text;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct Json<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A serde error as `field.path: message`.
pub fn describe_json_error(e: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let msg = inner.to_string();
    // Drop serde_json's " at line 1 column 9" suffix: the field name says where.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let field_in = |prefix: &str| -> Option<String> {
        let rest = msg.strip_prefix(prefix)?;
        let name = rest.split('`').next()?;
        Some(if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        })
    };
    // For an unknown field the path already ends with its name.
    if msg.starts_with("unknown field `") {
        return format!("{path}: unknown field");
    }
    if let Some(f) = field_in("missing field `") {
        return format!("{f}: is required");
    }
    if inner.is_syntax() || inner.is_eof() {
        return format!("body: malformed JSON ({msg})");
    }
    if path == "." {
        format!("body: {msg}")
    } else {
        format!("{path}: {msg}")
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // An empty body means "no fields", so `/user/get` and `/user/logout` work without one.
    let bytes: &[u8] = if is_blank(bytes) { b"{}" } else { bytes };
    // No text field may hold NUL (PostgreSQL cannot store it; no name or email needs it).
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        return Err(ApiError::invalid(
            "body: text must not contain NUL characters",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::invalid(describe_json_error(e)))?;
    // Read once more as JSON, to look at every text in it (the body is small: 64 KiB at most).
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(e.to_string()))?;
    let mut errors = vec![];
    plain_texts(&json, "", &mut errors);
    super::no_errors(errors)?;
    Ok(value)
}

/// Fields whose text is the caller's own to shape: free-form preferences and secrets.
const ANY_TEXT: [&str; 4] = ["preferences", "password", "currentPassword", "newPassword"];

/// A problem for every text (value or name) that holds a control or invisible format character.
fn plain_texts(v: &serde_json::Value, path: &str, errors: &mut Vec<String>) {
    let field = |path: &str| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.to_string()
        }
    };
    match v {
        serde_json::Value::String(s) if !is_plain_text(s) => errors.push(format!(
            "{}: must not contain control or invisible format characters",
            field(path)
        )),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                plain_texts(item, &format!("{}[{i}]", field(path)), errors);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let inner = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if !is_plain_text(k) {
                    errors.push(format!(
                        "{}: names must not contain control or invisible format characters",
                        field(path)
                    ));
                } else if !ANY_TEXT.contains(&k.as_str()) {
                    plain_texts(item, &inner, errors);
                }
            }
        }
        _ => {}
    }
}

pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::Bytes, ApiError> {
    web::Bytes::from_request(req, payload).await.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::invalid("body: could not be read")
        }
    })
}

/// What every body extractor does: read the body (64 KiB at most), then make `T` of it.
fn with_body<T: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    make: fn(&HttpRequest, web::Bytes) -> Result<T, ApiError>,
) -> Pin<Box<dyn Future<Output = Result<T, ApiError>>>> {
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let bytes = read_body(&req, &mut payload).await?;
        make(&req, bytes)
    })
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        with_body(req, payload, |req, bytes| {
            if !is_blank(&bytes) && !is_json(req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&bytes).map(Json)
        })
    }
}

/// The body of a route that takes none: empty, whitespace or `{}`. Anything else is a 400 (each
/// field named as unknown), so an irreversible call never runs on a body it did not understand.
pub struct NoBody;

impl FromRequest for NoBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        with_body(req, payload, |_, bytes| {
            if is_blank(&bytes) {
                return Ok(NoBody);
            }
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Object(map)) => no_unknown(&map).map(|_| NoBody),
                _ => Err(ApiError::invalid("body: this route takes no body")),
            }
        })
    }
}

/// The body of a curl-style write route: a JSON object, or `application/x-www-form-urlencoded`
/// fields. Read it with `Fields::parse` into a struct of `Field`s, one per name it may come under.
pub struct Fields(pub serde_json::Map<String, serde_json::Value>);

fn is_form(req: &HttpRequest) -> bool {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

impl FromRequest for Fields {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        with_body(req, payload, |req, bytes| {
            if is_blank(&bytes) {
                return Ok(Fields(Default::default()));
            }
            if is_form(req) {
                let pairs = form_pairs(&bytes)?;
                let mut map = serde_json::Map::new();
                let mut errors = vec![];
                for (k, v) in pairs {
                    if k.contains('\0') || v.contains('\0') {
                        errors.push(format!("{k}: must not contain NUL characters"));
                    } else if !is_plain_text(&k)
                        || (!ANY_TEXT.contains(&k.as_str()) && !is_plain_text(&v))
                    {
                        errors.push(format!(
                            "{k}: must not contain control or invisible format characters"
                        ));
                    }
                    if map
                        .insert(k.clone(), serde_json::Value::String(v))
                        .is_some()
                    {
                        errors.push(format!("{k}: given more than once"));
                    }
                }
                super::no_errors(errors)?;
                return Ok(Fields(map));
            }
            if !is_json(req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            match parse_json::<serde_json::Value>(&bytes)? {
                // Read again as an object whose names must be unique (as every typed body's
                // are): a name given twice would otherwise keep its last value.
                serde_json::Value::Object(_) => Ok(Fields(parse_json::<UniqueNames>(&bytes)?.0)),
                _ => Err(ApiError::invalid("body: must be a JSON object")),
            }
        })
    }
}

/// A JSON object whose names are unique.
struct UniqueNames(serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for UniqueNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = UniqueNames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<UniqueNames, A::Error> {
                let mut map = serde_json::Map::new();
                while let Some((k, v)) = a.next_entry::<String, serde_json::Value>()? {
                    if map.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate field `{k}`")));
                    }
                    map.insert(k, v);
                }
                Ok(UniqueNames(map))
            }
        }
        d.deserialize_map(Names)
    }
}

/// The pairs of a form body, percent-decoded (`+` is a space). A value that does not decode
/// to UTF-8 is a 400, never replaced by U+FFFD.
fn form_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |part: &[u8]| -> Option<String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = part.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    let mut pairs = vec![];
    for part in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = part.splitn(2, |b| *b == b'=');
        let (k, v) = (kv.next().unwrap_or_default(), kv.next().unwrap_or_default());
        let key =
            decode(k).ok_or_else(|| ApiError::invalid("body: a field name is not valid UTF-8"))?;
        let value = decode(v).ok_or_else(|| {
            ApiError::invalid(format!("{key}: not valid UTF-8 (or a bad %-escape)"))
        })?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

impl Fields {
    /// The body as `T`, a struct of `Field`s (one per name, aliases included) that also
    /// gathers the fields it does not know: reading it never fails, so every problem is told at
    /// once by `T`'s own check.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_json::from_value(serde_json::Value::Object(self.0))
            .map_err(|e| ApiError::invalid(format!("body: {e}")))
    }
}

/// One field of a curl-style body, read leniently: absent, `null`, a value of its type
/// (`Lenient`), or a value that is not (with what was expected).
#[derive(Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
    Bad(&'static str),
}

/// How a field's type is read from JSON or form text, and what a wrong value is told.
pub trait Lenient: Sized {
    const EXPECTED: &'static str;
    fn from_json(v: serde_json::Value) -> Option<Self>;
}

impl Lenient for String {
    const EXPECTED: &'static str = "must be a string";
    fn from_json(v: serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl Lenient for i64 {
    const EXPECTED: &'static str = "must be a whole number";
    fn from_json(v: serde_json::Value) -> Option<Self> {
        match &v {
            serde_json::Value::Number(x) => x.as_i64(),
            serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }
}

/// `true`/`false`, also as `1`/`0` and as strings, as curl scripts send them.
impl Lenient for bool {
    const EXPECTED: &'static str = "must be true, false, 1 or 0";
    fn from_json(v: serde_json::Value) -> Option<Self> {
        match &v {
            serde_json::Value::Bool(b) => Some(*b),
            serde_json::Value::Number(x) => match x.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            serde_json::Value::String(s) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<'de, T: Lenient> serde::Deserialize<'de> for Field<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Field::Null,
            v => T::from_json(v).map_or(Field::Bad(T::EXPECTED), Field::Value),
        })
    }
}

/// The value of a field that may come under several names, in order: more than one present
/// (`null` included) is a problem, and the first that is not `null` is the value (a wrong one
/// is a problem too).
pub fn one_of<T>(errors: &mut Vec<String>, names: Vec<(&str, Field<T>)>) -> Option<T> {
    named_one_of(errors, names).map(|(_, v)| v)
}

/// `one_of`, with the name the value came under (so a later problem with it names the field
/// the caller sent, not an alias).
pub fn named_one_of<'n, T>(
    errors: &mut Vec<String>,
    names: Vec<(&'n str, Field<T>)>,
) -> Option<(&'n str, T)> {
    let present: Vec<(&str, Field<T>)> = names
        .into_iter()
        .filter(|(_, f)| !matches!(f, Field::Absent))
        .collect();
    if present.len() > 1 {
        let others: Vec<&str> = present[1..].iter().map(|(n, _)| *n).collect();
        errors.push(format!(
            "{}: given more than once (also as {})",
            present[0].0,
            others.join(", ")
        ));
    }
    let (name, found) = present
        .into_iter()
        .find(|(_, f)| !matches!(f, Field::Null))?;
    match found {
        Field::Value(v) => Some((name, v)),
        Field::Bad(expected) => {
            errors.push(format!("{name}: {expected}"));
            None
        }
        Field::Absent | Field::Null => None,
    }
}

/// The fields a body does not know, each a problem.
pub fn no_unknown(unknown: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
    let mut errors = vec![];
    unknown_fields(unknown, &mut errors);
    super::no_errors(errors)
}

/// Add a problem for each field a body does not know, beside the body's other problems.
pub fn unknown_fields(
    unknown: &serde_json::Map<String, serde_json::Value>,
    errors: &mut Vec<String>,
) {
    errors.extend(unknown.keys().map(|k| format!("{k}: unknown field")));
}

/// With `#[serde(default)]`: `None` when the field is absent, `Some(None)` for an explicit
/// `null` (clear it), `Some(Some(v))` for a value.
pub fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
