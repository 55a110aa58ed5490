//! Groups of an account, their labels and their members.

use super::schema::{group_labels, groups, memberships};
use super::DbConn;
use crate::pagination::PageRequest;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

#[derive(Queryable, Insertable, Clone, Debug)]
#[diesel(table_name = groups)]
pub struct Group {
    pub account_id: String,
    pub id: String,
    pub labels: String,
    pub created: i64,
}

#[derive(Queryable, Insertable, Clone, Debug)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub account_id: String,
    pub group_id: String,
    pub user_id: String,
    pub roles: String,
    pub created: i64,
}

pub fn insert(conn: &mut DbConn, group: &Group, labels: &[(String, String)]) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values(group)
        .execute(conn)?;
    for (name, value) in labels {
        diesel::insert_into(group_labels::table)
            .values((
                group_labels::account_id.eq(&group.account_id),
                group_labels::group_id.eq(&group.id),
                group_labels::name.eq(name),
                group_labels::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<Option<Group>> {
    groups::table
        .find((account_id, id))
        .get_result(conn)
        .optional()
}

/// Delete a group with its labels and memberships.
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<bool> {
    diesel::delete(
        memberships::table
            .filter(memberships::account_id.eq(account_id))
            .filter(memberships::group_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(
        group_labels::table
            .filter(group_labels::account_id.eq(account_id))
            .filter(group_labels::group_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(groups::table.find((account_id, id)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Whether the account has any group.
pub fn any_in(conn: &mut DbConn, account_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        groups::table.filter(groups::account_id.eq(account_id)),
    ))
    .get_result(conn)
}

pub fn delete_all(conn: &mut DbConn, account_id: &str) -> QueryResult<()> {
    diesel::delete(memberships::table.filter(memberships::account_id.eq(account_id)))
        .execute(conn)?;
    diesel::delete(group_labels::table.filter(group_labels::account_id.eq(account_id)))
        .execute(conn)?;
    diesel::delete(groups::table.filter(groups::account_id.eq(account_id))).execute(conn)?;
    Ok(())
}

/// Groups of an account; with `member`, only those that user is in; every `(name, value)`
/// label must match. One query with a correlated EXISTS per condition.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    member: Option<&str>,
    labels: &[(String, String)],
    page: &PageRequest,
) -> QueryResult<Vec<Group>> {
    let mut q = groups::table
        .filter(groups::account_id.eq(account_id.to_string()))
        .into_boxed();
    // Correlated EXISTS as SQL fragments (Diesel's DSL does not correlate boxed subqueries);
    // the values are still bound parameters.
    if let Some(user) = member {
        q = q.filter(
            sql::<Bool>(
                "EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = groups.account_id \
                 AND m.group_id = groups.id AND m.user_id = ",
            )
            .bind::<Text, _>(user.to_string())
            .sql(")"),
        );
    }
    for (name, value) in labels {
        q = q.filter(
            sql::<Bool>(
                "EXISTS (SELECT 1 FROM group_labels l WHERE l.account_id = groups.account_id \
                 AND l.group_id = groups.id AND l.name = ",
            )
            .bind::<Text, _>(name.clone())
            .sql(" AND l.value = ")
            .bind::<Text, _>(value.clone())
            .sql(")"),
        );
    }
    if let Some(f) = &page.filter {
        q = q.filter(super::lower(groups::id).like(f.clone()).escape('\\'));
    }
    crate::keyset!(q, groups::created, groups::id, page).load(conn)
}

pub fn membership(
    conn: &mut DbConn,
    account_id: &str,
    group_id: &str,
    user_id: &str,
) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((account_id, group_id, user_id))
        .get_result(conn)
        .optional()
}

/// Set a member's roles (an empty list removes the member).
pub fn set_membership(conn: &mut DbConn, m: &Membership, remove: bool) -> QueryResult<()> {
    diesel::delete(memberships::table.find((&m.account_id, &m.group_id, &m.user_id)))
        .execute(conn)?;
    if !remove {
        diesel::insert_into(memberships::table)
            .values(m)
            .execute(conn)?;
    }
    Ok(())
}

pub fn members(
    conn: &mut DbConn,
    account_id: &str,
    group_id: &str,
    page: &PageRequest,
) -> QueryResult<Vec<Membership>> {
    let q = memberships::table
        .filter(memberships::account_id.eq(account_id.to_string()))
        .filter(memberships::group_id.eq(group_id.to_string()))
        .into_boxed();
    crate::keyset!(q, memberships::created, memberships::user_id, page).load(conn)
}
