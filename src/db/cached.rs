//! Hand-written statements that Diesel keeps prepared. Diesel never caches `sql_query` or
//! `sql()` fragments, so a recursive query on the hot path would be parsed and planned again on
//! every request; a `Static` statement is keyed by its own type instead.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Text};
use diesel::{QueryResult, RunQueryDsl};
use std::marker::PhantomData;

/// The text of a statement: `PIECES` with one text bind between each two of them.
pub trait StaticSql: 'static {
    const PIECES: &'static [&'static str];
    /// PostgreSQL's own text, where it has one: its pieces, and which of the binds go between
    /// them (by index), in order.
    const PG: Option<(&'static [&'static str], &'static [usize])> = None;
    type SqlType;
}

/// Which text a backend takes.
pub trait Dialect {
    fn is_pg(&self) -> bool;
}

impl Dialect for super::Db {
    fn is_pg(&self) -> bool {
        matches!(self, super::Db::Pg(_))
    }
}

/// The backend of the pipelined connections (`super::pipelined`).
impl Dialect for diesel::pg::Pg {
    fn is_pg(&self) -> bool {
        true
    }
}

pub struct Static<Q> {
    binds: Vec<String>,
    _q: PhantomData<Q>,
}

impl<Q: StaticSql> Static<Q> {
    pub fn new(binds: Vec<String>) -> Self {
        debug_assert_eq!(binds.len() + 1, Q::PIECES.len());
        Static {
            binds,
            _q: PhantomData,
        }
    }
}

impl<Q: StaticSql> QueryId for Static<Q> {
    type QueryId = Q;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: StaticSql, DB> QueryFragment<DB> for Static<Q>
where
    DB: Backend + HasSqlType<Text> + Dialect,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if let (Some((pieces, binds)), true) = (Q::PG, out.backend().is_pg()) {
            for (i, piece) in pieces.iter().enumerate() {
                out.push_sql(piece);
                if let Some(&b) = binds.get(i) {
                    out.push_bind_param::<Text, String>(&self.binds[b])?;
                }
            }
            return Ok(());
        }
        for (i, piece) in Q::PIECES.iter().enumerate() {
            out.push_sql(piece);
            if let Some(bind) = self.binds.get(i) {
                out.push_bind_param::<Text, String>(bind)?;
            }
        }
        Ok(())
    }
}

impl<Q: StaticSql> Query for Static<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Static<Q> {}
