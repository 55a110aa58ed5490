//! OAuth clients: a name and, for a confidential client, the hash of its secret.

use super::schema::oauth_clients::dsl;
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = super::schema::oauth_clients)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub created: i64,
}

impl ClientRow {
    pub fn confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
}

pub fn insert(conn: &mut DbConn, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(dsl::oauth_clients)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ClientRow>> {
    dsl::oauth_clients
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// A page of clients, oldest first; `filter` matches the name.
pub fn list(conn: &mut DbConn, page: &PageRequest) -> QueryResult<Vec<ClientRow>> {
    let mut q = dsl::oauth_clients.into_boxed();
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(dsl::name).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::oauth_clients.find(id)).execute(conn)
}
