//! SCIM filters as SQL: every attribute a filter may name maps to a column with an index
//! within the tenant's account (`users_by_*`, the global unique email and username indexes);
//! anything else is refused before a query runs.

use super::groups::Group;
use super::models::User;
use super::schema::groups::dsl as g;
use super::schema::users::dsl as u;
use super::{Db, DbConn};
use crate::scim_filter::{AttrPath, CompareOp, Filter, Value};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

type Cond<T> = Box<dyn BoxableExpression<T, Db, SqlType = Bool>>;

/// Why a filter cannot run (the SCIM `invalidFilter` detail).
pub struct Refused(pub String);

fn refused<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

/// How a text value matches: LIKE patterns for `co`, `sw`, `ew` (escaped, with `\`).
fn like(op: CompareOp, v: &str) -> Option<String> {
    let mut esc = String::with_capacity(v.len() + 2);
    for ch in v.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            esc.push('\\');
        }
        esc.push(ch);
    }
    match op {
        CompareOp::Co => Some(format!("%{esc}%")),
        CompareOp::Sw => Some(format!("{esc}%")),
        CompareOp::Ew => Some(format!("%{esc}")),
        _ => None,
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

/// `expr op value` on a text expression (`expr` is SQL text naming columns only). Case-folded
/// columns compare with the value lowercased. Plain comparisons, so that an index answers `eq`
/// and `sw`; an absent attribute is never equal (`ne` takes it).
fn text_cond<T: 'static>(
    expr: &str,
    op: CompareOp,
    v: &Value,
    fold: bool,
) -> Result<Cond<T>, Refused> {
    let Value::Str(s) = v else {
        return refused(format!("{expr}: compare with a string"));
    };
    let s = if fold { s.to_lowercase() } else { s.clone() };
    Ok(match (op, like(op, &s)) {
        // `IS NOT NULL AND`: never NULL, so that `not (...)` takes the absent ones.
        (_, Some(pattern)) => Box::new(
            sql::<Bool>(&format!("({expr} IS NOT NULL AND {expr} LIKE "))
                .bind::<Text, _>(pattern)
                .sql(" ESCAPE '\\')"),
        ),
        (CompareOp::Ne, None) => Box::new(
            sql::<Bool>(&format!("({expr} IS NULL OR {expr} <> "))
                .bind::<Text, _>(s)
                .sql(")"),
        ),
        (op, None) => Box::new(
            sql::<Bool>(&format!("({expr} IS NOT NULL AND {expr} {} ", sql_op(op)))
                .bind::<Text, _>(s)
                .sql(")"),
        ),
    })
}

fn bool_cond<T: 'static>(column: &str, op: CompareOp, v: &Value) -> Result<Cond<T>, Refused> {
    let b = match v {
        Value::Bool(b) => *b,
        Value::Str(s) if s.eq_ignore_ascii_case("true") => true,
        Value::Str(s) if s.eq_ignore_ascii_case("false") => false,
        _ => return refused(format!("{column}: compare with true or false")),
    };
    let op = match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        _ => return refused(format!("{column}: only eq and ne compare booleans")),
    };
    Ok(Box::new(
        sql::<Bool>(&format!("{column} {op} ")).bind::<Bool, _>(b),
    ))
}

fn time_cond<T: 'static>(column: &str, op: CompareOp, v: &Value) -> Result<Cond<T>, Refused> {
    let Value::Str(s) = v else {
        return refused(format!("{column}: compare with a date-time"));
    };
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(s) else {
        return refused(format!("{s:?} is not an RFC 3339 date-time"));
    };
    if like(op, "").is_some() {
        return refused("date-times compare with eq ne gt ge lt le");
    }
    let micros = at.timestamp_micros();
    Ok(Box::new(
        sql::<Bool>(&format!("{column} {} ", sql_op(op))).bind::<BigInt, _>(micros),
    ))
}

/// The canonical name of an attribute path: `username`, `emails.value`, `name.givenname`, ...
fn name_of(a: &AttrPath) -> String {
    match &a.sub {
        Some(sub) => format!("{}.{}", a.attr, sub),
        None => a.attr.clone(),
    }
}

/// A user filter as a condition on `users`.
pub fn user_cond(f: &Filter) -> Result<Cond<super::schema::users::table>, Refused> {
    Ok(match f {
        Filter::And(a, b) => Box::new(user_cond(a)?.and(user_cond(b)?)),
        Filter::Or(a, b) => Box::new(user_cond(a)?.or(user_cond(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(user_cond(a)?)),
        Filter::ValuePath { attr, filter } if attr.attr == "emails" => {
            // `emails[type eq "work" and value co "@x"]`: one email, of type work, primary.
            user_email_cond(filter)?
        }
        Filter::ValuePath { attr, .. } => {
            return refused(format!("{}: cannot filter in it", attr.attr))
        }
        Filter::Present(a) => {
            let column = match name_of(a).as_str() {
                "id" | "username" | "emails" | "emails.value" | "active" | "meta.created"
                | "meta.lastmodified" | "name" => "users.id",
                "externalid" => "users.external_id",
                "name.givenname" => "users.first",
                "name.familyname" => "users.last",
                other => return refused(format!("{other}: not a filterable attribute")),
            };
            Box::new(sql::<Bool>(&format!("{column} IS NOT NULL")))
        }
        Filter::Compare { attr, op, value } => {
            let (op, value) = (*op, value);
            match name_of(attr).as_str() {
                "username" if op == CompareOp::Eq => {
                    // Answered from the unique indexes: the username, or the email of a user
                    // without one (userName is then the email).
                    let Value::Str(s) = value else {
                        return refused("userName: compare with a string");
                    };
                    let v = s.to_lowercase();
                    Box::new(
                        u::username_lower
                            .is_not_null()
                            .and(u::username_lower.eq(v.clone()))
                            .or(u::username_lower.is_null().and(u::email_lower.eq(v)))
                            .assume_not_null(),
                    )
                }
                "username" => text_cond(
                    "COALESCE(users.username_lower, users.email_lower)",
                    op,
                    value,
                    true,
                )?,
                "emails" | "emails.value" => text_cond("users.email_lower", op, value, true)?,
                "externalid" => text_cond("users.external_id", op, value, false)?,
                "id" => text_cond("users.id", op, value, false)?,
                "name.givenname" => text_cond("lower(COALESCE(users.first, ''))", op, value, true)?,
                "name.familyname" => text_cond("lower(COALESCE(users.last, ''))", op, value, true)?,
                "active" => bool_cond("users.active", op, value)?,
                "meta.lastmodified" => time_cond("users.modified", op, value)?,
                "meta.created" => time_cond("users.created", op, value)?,
                other => return refused(format!("{other}: not a filterable attribute")),
            }
        }
    })
}

/// Inside `emails[...]`: `value`, `type` (always work) and `primary` (always true).
fn user_email_cond(f: &Filter) -> Result<Cond<super::schema::users::table>, Refused> {
    Ok(match f {
        Filter::And(a, b) => Box::new(user_email_cond(a)?.and(user_email_cond(b)?)),
        Filter::Or(a, b) => Box::new(user_email_cond(a)?.or(user_email_cond(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(user_email_cond(a)?)),
        Filter::Compare { attr, op, value } if attr.attr == "value" => {
            text_cond("users.email_lower", *op, value, true)?
        }
        Filter::Compare { attr, op, value } if attr.attr == "type" => {
            let holds = *op == CompareOp::Eq && *value == Value::Str("work".into());
            Box::new(sql::<Bool>(if holds { "TRUE" } else { "FALSE" }))
        }
        Filter::Compare { attr, op, value } if attr.attr == "primary" => {
            let holds = *op == CompareOp::Eq && *value == Value::Bool(true);
            Box::new(sql::<Bool>(if holds { "TRUE" } else { "FALSE" }))
        }
        Filter::Present(_) => Box::new(sql::<Bool>("TRUE")),
        _ => return refused("emails[...]: filter on value, type or primary"),
    })
}

/// A group filter as a condition on `groups`.
pub fn group_cond(f: &Filter) -> Result<Cond<super::schema::groups::table>, Refused> {
    Ok(match f {
        Filter::And(a, b) => Box::new(group_cond(a)?.and(group_cond(b)?)),
        Filter::Or(a, b) => Box::new(group_cond(a)?.or(group_cond(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(group_cond(a)?)),
        Filter::Present(a) => match name_of(a).as_str() {
            "id" | "displayname" | "meta.created" | "meta.lastmodified" => {
                Box::new(sql::<Bool>("TRUE"))
            }
            "members" | "members.value" => Box::new(sql::<Bool>(
                "EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = groups.account_id \
                 AND m.group_id = groups.id)",
            )),
            other => return refused(format!("{other}: not a filterable attribute")),
        },
        Filter::Compare { attr, op, value } => match name_of(attr).as_str() {
            "id" | "displayname" => text_cond("groups.id", *op, value, false)?,
            "meta.created" | "meta.lastmodified" => time_cond("groups.created", *op, value)?,
            "members" | "members.value" if *op == CompareOp::Eq => {
                let Value::Str(s) = value else {
                    return refused("members: compare with a user id");
                };
                Box::new(
                    sql::<Bool>(
                        "EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = \
                         groups.account_id AND m.group_id = groups.id AND m.user_id = ",
                    )
                    .bind::<Text, _>(s.clone())
                    .sql(")"),
                )
            }
            other => return refused(format!("{other}: not a filterable attribute")),
        },
        Filter::ValuePath { attr, filter } if attr.attr == "members" => {
            let inner = Filter::Compare {
                attr: AttrPath {
                    urn: None,
                    attr: "members".into(),
                    sub: None,
                },
                op: CompareOp::Eq,
                value: match filter.as_ref() {
                    Filter::Compare {
                        attr,
                        op: CompareOp::Eq,
                        value,
                    } if attr.attr == "value" => value.clone(),
                    _ => return refused("members[...]: only value eq \"id\""),
                },
            };
            group_cond(&inner)?
        }
        Filter::ValuePath { attr, .. } => {
            return refused(format!("{}: cannot filter in it", attr.attr))
        }
    })
}

/// Where a page starts: after a user (cursor paging) or at an offset (index paging).
pub enum From {
    After(Option<crate::pagination::Cursor>),
    Offset(i64),
}

/// A page of the account's users that match, in (created, id) order, and how many match.
pub fn users(
    conn: &mut DbConn,
    account: &str,
    filter: Option<&Filter>,
    from: &From,
    count: i64,
    with_total: bool,
) -> Result<(Vec<User>, i64), ListError> {
    let cond = || -> Result<Cond<super::schema::users::table>, Refused> {
        match filter {
            Some(f) => user_cond(f),
            None => Ok(Box::new(sql::<Bool>("TRUE"))),
        }
    };
    let total = if with_total {
        u::users
            .filter(u::account_id.eq(account))
            .filter(cond()?)
            .count()
            .get_result(conn)?
    } else {
        -1
    };
    let mut q = u::users
        .filter(u::account_id.eq(account))
        .filter(cond()?)
        .order((u::created.asc(), u::id.asc()))
        .limit(count)
        .into_boxed();
    q = match from {
        From::After(Some(c)) => q.filter(
            sql::<Bool>("(users.created, users.id) > (")
                .bind::<BigInt, _>(c.created)
                .sql(", ")
                .bind::<Text, _>(c.id.clone())
                .sql(")"),
        ),
        From::After(None) => q,
        From::Offset(n) => q.offset(*n),
    };
    Ok((q.load(conn)?, total))
}

/// A page of the account's groups that match, by id, and how many match.
pub fn groups(
    conn: &mut DbConn,
    account: &str,
    filter: Option<&Filter>,
    offset: i64,
    count: i64,
) -> Result<(Vec<Group>, i64), ListError> {
    let cond = || -> Result<Cond<super::schema::groups::table>, Refused> {
        match filter {
            Some(f) => group_cond(f),
            None => Ok(Box::new(sql::<Bool>("TRUE"))),
        }
    };
    let total = g::groups
        .filter(g::account_id.eq(account))
        .filter(cond()?)
        .count()
        .get_result(conn)?;
    let rows = g::groups
        .filter(g::account_id.eq(account))
        .filter(cond()?)
        .order(g::id.asc())
        .offset(offset)
        .limit(count)
        .load(conn)?;
    Ok((rows, total))
}

/// A list that could not run: a filter refused, or the database.
pub enum ListError {
    Refused(String),
    Db(diesel::result::Error),
}

impl std::convert::From<Refused> for ListError {
    fn from(r: Refused) -> Self {
        ListError::Refused(r.0)
    }
}

impl std::convert::From<diesel::result::Error> for ListError {
    fn from(e: diesel::result::Error) -> Self {
        ListError::Db(e)
    }
}

/// The user ids among `ids` that are members of the group.
pub fn member_ids(conn: &mut DbConn, account: &str, group: &str) -> QueryResult<Vec<String>> {
    use super::schema::memberships::dsl as m;
    m::memberships
        .filter(m::account_id.eq(account))
        .filter(m::group_id.eq(group))
        .order(m::user_id.asc())
        .select(m::user_id)
        .load(conn)
}
