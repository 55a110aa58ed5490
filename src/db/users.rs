//! User rows.

use super::accounts::{in_subtree_sql, AccountColumns};
use super::models::{Account, User};
use super::schema::users::{self, dsl};
use super::DbConn;
use crate::domain::{Role, UserStatus};
use crate::pagination::PageRequest;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// What one presented credential needs to know about its user, in one prepared statement:
/// the user, whether the token id is revoked, whether its login session still exists, and
/// whether an account at or above the user's is suspended or closed. A request about one
/// account also gets that account, and whether it lies in the user's subtree, in the same
/// statement, so that a read of it is one statement in all.
pub struct CredentialCheck {
    pub user: User,
    pub revoked: bool,
    pub session_alive: bool,
    pub blocked: bool,
    /// The account asked about, if it exists; with whether the user's account is it or one of
    /// its ancestors (worked out only for admins: no other role needs it).
    pub account: Option<(Account, bool)>,
}

struct CredentialSql;

type UserColumns = diesel::dsl::SqlTypeOf<<users::table as diesel::Table>::AllColumns>;
/// The credential statement's row, with the user's columns as `U`.
type CredentialSqlType<U> = (
    U,
    diesel::sql_types::Bool,
    diesel::sql_types::Bool,
    diesel::sql_types::Bool,
    diesel::sql_types::Nullable<AccountColumns>,
    diesel::sql_types::Bool,
);

// The statement's text, as macros so that both backends' texts are made of the same parts.
// After the walks: the user's columns, then whether the token id is revoked.
macro_rules! credential_head {
    () => {
        "SELECT u.id, u.account_id, u.email, u.email_lower, u.username, u.username_lower, \
         u.first, u.last, u.role, u.preferences, u.verified, u.status, u.password_hash, \
         u.token_version, u.created, u.activity, u.active, u.external_id, u.modified, \
         EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = "
    };
}
// Between the session's two binds.
macro_rules! credential_session {
    () => {
        " = '' OR EXISTS (SELECT 1 FROM refresh_tokens WHERE family = "
    };
}
// Blocked above (`$blocked`, a boolean on the user's parent account), the account asked about,
// and whether it is in an admin's subtree (`$has`, a boolean on it).
macro_rules! credential_rest {
    ($blocked:literal, $has:literal) => {
        concat!(
            ")), CASE WHEN ua.suspended OR ua.closed THEN TRUE \
             WHEN ua.parent_id IS NULL THEN FALSE ELSE ",
            $blocked,
            " END, \
             t.id, t.name, t.email, t.email_lower, t.plan_id, t.parent_id, t.device_seats, \
             t.used_devices, t.suspended, t.closed, t.created, t.activity, t.require_mfa, \
             CASE WHEN u.role = 'admin' AND t.id IS NOT NULL THEN ",
            $has,
            " ELSE FALSE END "
        )
    };
}
// The walks on PostgreSQL (see the migration that makes these functions).
macro_rules! credential_rest_pg {
    () => {
        credential_rest!(
            "accountd_chain_blocked(ua.parent_id)",
            "accountd_chain_has(t.id, u.account_id)"
        )
    };
}
macro_rules! credential_from {
    () => {
        "FROM users u JOIN accounts ua ON ua.id = u.account_id LEFT JOIN accounts t ON t.id = "
    };
}

// The walk above the user's account starts only when that account is open and has a parent:
// most users sit in top-level accounts, and a recursive walk is the dearest part of the check.
impl super::cached::StaticSql for CredentialSql {
    const PIECES: &'static [&'static str] = &[
        "WITH RECURSIVE up(id, parent_id, blocked) AS (\
         SELECT a.id, a.parent_id, (a.suspended OR a.closed) FROM accounts a \
         JOIN accounts own ON a.id = own.parent_id \
         JOIN users u ON own.id = u.account_id WHERE u.id = ",
        " UNION ALL SELECT a.id, a.parent_id, (a.suspended OR a.closed) FROM accounts a \
         JOIN up ON a.id = up.parent_id), \
         target_up(id, parent_id) AS (SELECT id, parent_id FROM accounts WHERE id = ",
        concat!(
            " UNION ALL SELECT a.id, a.parent_id FROM accounts a \
             JOIN target_up ON a.id = target_up.parent_id) ",
            credential_head!()
        ),
        "), (",
        credential_session!(),
        concat!(
            credential_rest!(
                "EXISTS (SELECT 1 FROM up WHERE blocked)",
                "EXISTS (SELECT 1 FROM target_up WHERE target_up.id = u.account_id)"
            ),
            credential_from!()
        ),
        " WHERE u.id = ",
        "",
    ];
    // The walks are functions here (see their migration): as CTEs they cost a third of the
    // statement on PostgreSQL even where they never run. Binds: jti, session twice, account,
    // user.
    const PG: Option<(&'static [&'static str], &'static [usize])> = Some((
        &[
            credential_head!(),
            "), (",
            credential_session!(),
            concat!(credential_rest_pg!(), credential_from!()),
            " WHERE u.id = ",
            "",
        ],
        &[2, 3, 4, 5, 6],
    ));
    type SqlType = CredentialSqlType<UserColumns>;
}

type CredentialRow = (User, bool, bool, bool, Option<Account>, bool);

/// The statement's binds: a credential without a token id or session (a personal access
/// token) and a request about no account bind the empty string, which no row has.
fn credential_query(c: &Check) -> super::cached::Static<CredentialSql> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let (jti, session, account) = (text(&c.jti), text(&c.session), text(&c.account));
    let binds = [
        c.user_id.clone(),
        account.clone(),
        jti,
        session.clone(),
        session,
        account,
        c.user_id.clone(),
    ];
    super::cached::Static::new(binds.to_vec())
}

fn credential_check(row: CredentialRow) -> CredentialCheck {
    let (user, revoked, session_alive, blocked, account, in_subtree) = row;
    CredentialCheck {
        user,
        revoked,
        session_alive,
        blocked,
        account: account.map(|a| (a, in_subtree)),
    }
}

/// What the database knows of one presented credential (see `CredentialCheck`).
pub fn for_credential(conn: &mut DbConn, check: &Check) -> QueryResult<Option<CredentialCheck>> {
    let row: Option<CredentialRow> = credential_query(check).get_result(conn).optional()?;
    Ok(row.map(credential_check))
}

/// One presented credential, as the credential statement reads it.
pub struct Check {
    pub user_id: String,
    /// An access token's id (none for a personal access token).
    pub jti: Option<String>,
    /// An access token's login session, if it has one.
    pub session: Option<String>,
    /// The account the request is about, if any.
    pub account: Option<String>,
}

/// The credential statement for many checks at once (PostgreSQL, on a worker's own connection,
/// `super::pipelined`): one row per check, in their order; a user that does not exist gives a
/// row of nulls.
struct CredentialBatchSql {
    users: Vec<String>,
    jtis: Vec<String>,
    sessions: Vec<String>,
    accounts: Vec<String>,
}

impl diesel::query_builder::QueryId for CredentialBatchSql {
    type QueryId = CredentialBatchSql;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for CredentialBatchSql {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        type Texts = diesel::sql_types::Array<Text>;
        out.push_sql(concat!(
            credential_head!(),
            "r.jti), (r.session",
            credential_session!(),
            "r.session",
            credential_rest_pg!(),
            "FROM unnest("
        ));
        out.push_bind_param::<Texts, _>(&self.users)?;
        out.push_sql(", ");
        out.push_bind_param::<Texts, _>(&self.jtis)?;
        out.push_sql(", ");
        out.push_bind_param::<Texts, _>(&self.sessions)?;
        out.push_sql(", ");
        out.push_bind_param::<Texts, _>(&self.accounts)?;
        out.push_sql(
            ") WITH ORDINALITY AS r(user_id, jti, session, account, i) \
             LEFT JOIN users u ON u.id = r.user_id \
             LEFT JOIN accounts ua ON ua.id = u.account_id \
             LEFT JOIN accounts t ON t.id = r.account ORDER BY r.i",
        );
        Ok(())
    }
}

impl diesel::query_builder::Query for CredentialBatchSql {
    type SqlType = CredentialSqlType<diesel::sql_types::Nullable<UserColumns>>;
}

/// Many checks in one statement, one answer per check in their order.
pub async fn for_credentials(
    conn: &diesel_async::AsyncPgConnection,
    checks: &[Check],
) -> QueryResult<Vec<Option<CredentialCheck>>> {
    let column = |f: fn(&Check) -> Option<&String>| {
        checks
            .iter()
            .map(|c| f(c).cloned().unwrap_or_default())
            .collect()
    };
    let query = CredentialBatchSql {
        users: column(|c| Some(&c.user_id)),
        jtis: column(|c| c.jti.as_ref()),
        sessions: column(|c| c.session.as_ref()),
        accounts: column(|c| c.account.as_ref()),
    };
    type Row = (Option<User>, bool, bool, bool, Option<Account>, bool);
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(query, &mut &*conn).await?;
    if rows.len() != checks.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "credential batch: one row per check expected".into(),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(user, revoked, alive, blocked, account, inside)| {
            user.map(|user| credential_check((user, revoked, alive, blocked, account, inside)))
        })
        .collect())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<User> {
    dsl::users.find(id).get_result(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    get(conn, id).optional()
}

pub fn by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    dsl::users
        .filter(dsl::email_lower.eq(email.to_lowercase()))
        .get_result(conn)
        .optional()
}

/// Login accepts an email or a username.
pub fn by_login(conn: &mut DbConn, name: &str) -> QueryResult<Option<User>> {
    let lower = name.to_lowercase();
    dsl::users
        .filter(
            dsl::email_lower
                .eq(&lower)
                .or(dsl::username_lower.eq(&lower)),
        )
        .get_result(conn)
        .optional()
}

pub fn insert(conn: &mut DbConn, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user.clone())
        .execute(conn)
        .map(|_| ())
}

/// Filters of a user list; `None` means "any".
#[derive(Default)]
pub struct UserFilter {
    pub id: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub account_id: Option<String>,
    /// The users of this account and of every descendant.
    pub subtree: Option<String>,
}

pub fn list(conn: &mut DbConn, f: &UserFilter, page: &PageRequest) -> QueryResult<Vec<User>> {
    let mut q = dsl::users.into_boxed();
    if let Some(id) = &f.id {
        q = q.filter(dsl::id.eq(id.clone()));
    }
    if let Some(e) = &f.email {
        q = q.filter(dsl::email_lower.eq(e.to_lowercase()));
    }
    if let Some(r) = &f.role {
        q = q.filter(dsl::role.eq(r.as_str()));
    }
    if let Some(a) = &f.account_id {
        q = q.filter(dsl::account_id.eq(a.clone()));
    }
    if let Some(root) = &f.subtree {
        q = q.filter(in_subtree_sql("users.account_id", root));
    }
    if let Some(p) = &page.filter {
        q = q.filter(
            dsl::email_lower
                .like(p.clone())
                .escape('\\')
                .or(dsl::username_lower.like(p.clone()).escape('\\'))
                .or(super::lower(sql::<Text>("COALESCE(users.first, '')"))
                    .like(p.clone())
                    .escape('\\'))
                .or(super::lower(sql::<Text>("COALESCE(users.last, '')"))
                    .like(p.clone())
                    .escape('\\')),
        );
    }
    crate::keyset!(q, dsl::created, dsl::id, page).load(conn)
}

/// Users with admin power over the account itself (admins and owners placed in it).
pub fn count_admins(conn: &mut DbConn, account_id: &str) -> QueryResult<i64> {
    dsl::users
        .filter(dsl::account_id.eq(account_id))
        .filter(dsl::role.eq_any([Role::Admin.as_str(), Role::Owner.as_str()]))
        // A deactivated admin administers nothing.
        .filter(dsl::active.eq(true))
        .count()
        .get_result(conn)
}

pub fn count_owners(conn: &mut DbConn) -> QueryResult<i64> {
    dsl::users
        .filter(dsl::role.eq(Role::Owner.as_str()))
        .filter(dsl::active.eq(true))
        .count()
        .get_result(conn)
}

pub fn count_in_account(conn: &mut DbConn, account_id: &str) -> QueryResult<i64> {
    dsl::users
        .filter(dsl::account_id.eq(account_id))
        .count()
        .get_result(conn)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::users.find(id)).execute(conn)
}

/// Fields `/user/update` may change; `None` leaves a field as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_lower: Option<String>,
    pub username: Option<String>,
    pub username_lower: Option<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub preferences: Option<String>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
}

impl UserChanges {
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.username.is_none()
            && self.first.is_none()
            && self.last.is_none()
            && self.preferences.is_none()
            && self.external_id.is_none()
    }
}

pub fn update(conn: &mut DbConn, id: &str, changes: &UserChanges) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set((changes, dsl::modified.eq(super::models::now())))
        .execute(conn)
        .map(|_| ())
}

/// Deactivate (ending every credential: tokens carry the version) or activate a user.
pub fn set_active(conn: &mut DbConn, id: &str, active: bool) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set((
            dsl::active.eq(active),
            dsl::token_version.eq(dsl::token_version + 1),
            dsl::modified.eq(super::models::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Change the role and end every credential issued for the old one.
pub fn set_role(conn: &mut DbConn, id: &str, role: Role) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set((
            dsl::role.eq(role.as_str()),
            dsl::token_version.eq(dsl::token_version + 1),
            dsl::modified.eq(super::models::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Set the password hash and end every credential issued before.
pub fn set_password(conn: &mut DbConn, id: &str, hash: &str) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set((
            dsl::password_hash.eq(hash),
            dsl::token_version.eq(dsl::token_version + 1),
        ))
        .execute(conn)
        .map(|_| ())
}

/// End every credential of the user ("log out everywhere").
pub fn bump_token_version(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set(dsl::token_version.eq(dsl::token_version + 1))
        .execute(conn)
        .map(|_| ())
}

/// Record a login, if the row still has the password, role and token version that were
/// checked; false otherwise.
pub fn touch_if_unchanged(conn: &mut DbConn, user: &User, now: i64) -> QueryResult<bool> {
    let Some(hash) = &user.password_hash else {
        return Ok(false);
    };
    diesel::update(
        dsl::users
            .find(&user.id)
            .filter(dsl::token_version.eq(user.token_version))
            .filter(dsl::password_hash.eq(hash))
            .filter(dsl::role.eq(user.role.as_str()))
            .filter(dsl::account_id.eq(&user.account_id)),
    )
    .set(dsl::activity.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn delete_all_in_account(conn: &mut DbConn, account_id: &str) -> QueryResult<usize> {
    diesel::delete(dsl::users.filter(dsl::account_id.eq(account_id))).execute(conn)
}

pub fn count_owners_in_account(conn: &mut DbConn, account_id: &str) -> QueryResult<i64> {
    dsl::users
        .filter(dsl::account_id.eq(account_id))
        .filter(dsl::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
}

/// Owners placed in the account or any account below it.
pub fn count_owners_in_subtree(conn: &mut DbConn, root: &str) -> QueryResult<i64> {
    dsl::users
        .filter(in_subtree_sql("users.account_id", root))
        .filter(dsl::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
}

pub fn set_verified(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set(dsl::verified.eq(true))
        .execute(conn)
        .map(|_| ())
}

/// The user proved its address and has a password: active and verified.
pub fn activate(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(dsl::users.find(id))
        .set((
            dsl::verified.eq(true),
            dsl::status.eq(UserStatus::Active.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}
