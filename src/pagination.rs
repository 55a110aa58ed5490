//! Keyset pages: `limit`, opaque `next`/`prev` cursors and a literal `filter`.
//! Every list is ordered by `(created, id)`, so page 10,000 costs what page 1 costs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;
const MAX_FILTER: usize = 256;

/// A position in a list: the sort key of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created, self.id))
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        if s.len() > 200 {
            return None;
        }
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
        let (created, id) = raw.split_once(':')?;
        let created = created.parse::<i64>().ok()?;
        crate::ids::is_valid_id(id).then(|| Cursor {
            created,
            id: id.to_string(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the start, or after the cursor (`next`).
    Forward(Option<Cursor>),
    /// Before the cursor (`prev`).
    Backward(Cursor),
}

#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: i64,
    pub direction: Direction,
    /// Lowercased, with LIKE's wildcards escaped, wrapped in `%`.
    pub filter: Option<String>,
}

/// Turn a user's substring into a LIKE pattern that matches it literally (escape char `\`).
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for ch in needle.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl PageRequest {
    pub fn first(limit: i64) -> PageRequest {
        PageRequest {
            limit,
            direction: Direction::Forward(None),
            filter: None,
        }
    }

    /// Read `limit`, `next`, `prev` and `filter` from optional raw values, one message per problem.
    pub fn parse(
        limit: Option<&str>,
        next: Option<&str>,
        prev: Option<&str>,
        filter: Option<&str>,
        errors: &mut Vec<String>,
    ) -> PageRequest {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "limit: must be a whole number from 1 to {MAX_LIMIT}"
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let cursor = |name: &str, v: &str, errors: &mut Vec<String>| {
            let c = Cursor::decode(v);
            if c.is_none() {
                errors.push(format!("{name}: not a valid cursor"));
            }
            c
        };
        let direction = match (next, prev) {
            (Some(_), Some(_)) => {
                errors.push("next: give either next or prev, not both".into());
                Direction::Forward(None)
            }
            (Some(n), None) => Direction::Forward(cursor("next", n, errors)),
            (None, Some(p)) => match cursor("prev", p, errors) {
                Some(c) => Direction::Backward(c),
                None => Direction::Forward(None),
            },
            (None, None) => Direction::Forward(None),
        };
        let filter = match filter {
            Some(f) if f.chars().count() > MAX_FILTER => {
                errors.push(format!("filter: must be at most {MAX_FILTER} characters"));
                None
            }
            Some("") | None => None,
            Some(f) => Some(like_pattern(f)),
        };
        PageRequest {
            limit,
            direction,
            filter,
        }
    }

    /// How many rows to ask the database for: one more than a page tells whether more follow.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cut the rows (in the query's order) into a page, in list order, and its cursors.
    pub fn cut<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> Cut<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let (next, prev) = match &self.direction {
            Direction::Forward(after) => {
                let next = if more { rows.last().map(&key) } else { None };
                let prev = if after.is_some() {
                    rows.first().map(&key)
                } else {
                    None
                };
                (next, prev)
            }
            Direction::Backward(_) => {
                // The query ran newest-first from the cursor; show the page in list order.
                rows.reverse();
                let prev = if more { rows.first().map(&key) } else { None };
                (rows.last().map(&key), prev)
            }
        };
        Cut {
            rows,
            next: next.map(|c| c.encode()),
            prev: prev.map(|c| c.encode()),
        }
    }
}

/// One page of rows, and the opaque cursors before and after it (`None` at either end).
pub struct Cut<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// Apply a page's keyset condition, order and limit to a boxed query sorted by `(created, id)`.
/// The condition is a row-value comparison, `(created, id) > (?, ?)`, which both backends answer
/// with one index seek, so page 10,000 costs what page 1 costs.
#[macro_export]
macro_rules! keyset {
    ($query:expr, $created:path, $id:path, $page:expr) => {{
        use diesel::prelude::*;
        let row = || {
            format!(
                "({}, {})",
                <$created as diesel::Column>::NAME,
                <$id as diesel::Column>::NAME
            )
        };
        let after = |op: &str, c: &$crate::pagination::Cursor| {
            diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("{} {op} (", row()))
                .bind::<diesel::sql_types::BigInt, _>(c.created)
                .sql(", ")
                .bind::<diesel::sql_types::Text, _>(c.id.clone())
                .sql(")")
        };
        let q = $query;
        let q = match &$page.direction {
            $crate::pagination::Direction::Forward(None) => q.order(($created.asc(), $id.asc())),
            $crate::pagination::Direction::Forward(Some(c)) => {
                q.filter(after(">", c)).order(($created.asc(), $id.asc()))
            }
            $crate::pagination::Direction::Backward(c) => {
                q.filter(after("<", c)).order(($created.desc(), $id.desc()))
            }
        };
        q.limit($page.fetch())
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            created: 1_790_000_000,
            id: "a-b_c.d".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("12:bad id"),
            &URL_SAFE_NO_PAD.encode("x:id"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_matches_wildcards_literally() {
        assert_eq!(like_pattern("50%_a\\B"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn limit_bounds_and_conflicting_cursors_are_reported() {
        let mut errors = vec![];
        PageRequest::parse(Some("0"), None, None, None, &mut errors);
        PageRequest::parse(Some("1001"), None, None, None, &mut errors);
        PageRequest::parse(Some("x"), Some("a"), Some("b"), None, &mut errors);
        assert_eq!(errors.len(), 4, "{errors:?}");
        let mut ok = vec![];
        assert_eq!(
            PageRequest::parse(Some("1000"), None, None, None, &mut ok).limit,
            1000
        );
        assert!(ok.is_empty());
    }

    #[test]
    fn pages_carry_cursors_in_both_directions() {
        let key = |n: &i64| Cursor {
            created: *n,
            id: format!("id{n}"),
        };
        let fwd = PageRequest::first(2);
        let p = fwd.cut(vec![1, 2, 3], key);
        assert_eq!(p.rows, vec![1, 2]);
        assert!(p.prev.is_none());
        assert_eq!(Cursor::decode(p.next.as_deref().unwrap()), Some(key(&2)));

        let back = PageRequest {
            limit: 2,
            direction: Direction::Backward(key(&5)),
            filter: None,
        };
        let p = back.cut(vec![4, 3, 2], key);
        assert_eq!(p.rows, vec![3, 4]);
        assert_eq!(Cursor::decode(p.prev.as_deref().unwrap()), Some(key(&3)));
        assert_eq!(Cursor::decode(p.next.as_deref().unwrap()), Some(key(&4)));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoding_any_string_never_panics(s in any::<String>()) {
            let _ = Cursor::decode(&s);
        }

        #[test]
        fn valid_cursors_round_trip(created in any::<i64>(), id in "[A-Za-z0-9._-]{1,64}") {
            let c = Cursor { created, id };
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }

        #[test]
        fn page_parameters_never_panic(limit in ".{0,12}", next in ".{0,40}", filter in ".{0,300}") {
            let mut errors = vec![];
            let _ = PageRequest::parse(Some(&limit), Some(&next), None, Some(&filter), &mut errors);
        }
    }
}
