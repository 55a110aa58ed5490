//! The account tree: children, every descendant in depth-first order, and the nested view.
//! Each call reads the subtree with one recursive query and orders it in memory, so the cost
//! is that of the answer, never a query per node.

use super::access::visible_account;
use crate::auth::extractor::Caller;
use crate::auth::Role;
use crate::db::accounts as store;
use crate::db::models::Account;
use crate::db::DbConn;
use crate::error::ApiResult;
use serde_json::Value;
use std::collections::HashMap;

/// The deepest `descendants` answers (it nests JSON, so its depth is bounded).
pub const MAX_TREE_DEPTH: i64 = 100;

/// A plain user reads only its own account, never the accounts below it.
fn sees_below(caller: &Caller) -> bool {
    caller.role >= Role::Admin
}

/// The account itself, then its direct children.
pub fn children(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Vec<Account>> {
    let account = visible_account(conn, caller, id)?;
    let mut out = vec![];
    if sees_below(caller) {
        out = store::children(conn, &account.id)?;
    }
    out.insert(0, account);
    Ok(out)
}

/// The account itself, then every descendant, depth-first (siblings oldest first).
pub fn all_children(conn: &mut DbConn, caller: &Caller, id: &str) -> ApiResult<Vec<Account>> {
    let account = visible_account(conn, caller, id)?;
    if !sees_below(caller) {
        return Ok(vec![account]);
    }
    let rows = store::subtree(conn, &account.id, i64::MAX)?;
    Ok(depth_first(&account.id, rows))
}

/// The account with `children` nested, down to `max_depth` levels.
pub fn descendants(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    max_depth: i64,
) -> ApiResult<Value> {
    let account = visible_account(conn, caller, id)?;
    let depth = if sees_below(caller) { max_depth } else { 0 };
    let rows = store::subtree(conn, &account.id, depth)?;
    Ok(nest(&account.id, rows))
}

/// Order rows (in any order) depth-first from `root`, siblings oldest first (created, id),
/// without recursion.
pub fn depth_first(root: &str, rows: Vec<Account>) -> Vec<Account> {
    let order = {
        let mut by_parent: HashMap<&str, Vec<usize>> = HashMap::with_capacity(rows.len());
        let mut root_idx = None;
        for (i, a) in rows.iter().enumerate() {
            if a.id == root {
                root_idx = Some(i);
            } else if let Some(p) = &a.parent_id {
                by_parent.entry(p).or_default().push(i);
            }
        }
        let key = |i: &usize| (rows[*i].created, rows[*i].id.as_str());
        for kids in by_parent.values_mut() {
            kids.sort_unstable_by_key(key);
        }
        let mut order = Vec::with_capacity(rows.len());
        let mut stack: Vec<usize> = root_idx.into_iter().collect();
        while let Some(i) = stack.pop() {
            if let Some(kids) = by_parent.get(rows[i].id.as_str()) {
                // Reversed, so the oldest child is popped first.
                stack.extend(kids.iter().rev());
            }
            order.push(i);
        }
        order
    };
    let mut slots: Vec<Option<Account>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each row is visited once"))
        .collect()
}

/// Build the nested JSON bottom-up (children before parents), without recursion.
pub fn nest(root: &str, rows: Vec<Account>) -> Value {
    let ordered = depth_first(root, rows);
    let mut done: HashMap<String, Vec<Value>> = HashMap::new();
    let mut root_value = Value::Null;
    for account in ordered.into_iter().rev() {
        let mut node = serde_json::to_value(account.view()).expect("an account view is JSON");
        // Children arrive last-first; put them back in order.
        let mut kids = done.remove(&account.id).unwrap_or_default();
        kids.reverse();
        node["children"] = Value::Array(kids);
        match &account.parent_id {
            Some(p) if account.id != root => done.entry(p.clone()).or_default().push(node),
            _ => root_value = node,
        }
    }
    root_value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(id: &str, parent: Option<&str>, created: i64) -> Account {
        Account {
            id: id.into(),
            name: id.into(),
            email: None,
            email_lower: None,
            plan_id: "default".into(),
            parent_id: parent.map(Into::into),
            device_seats: 0,
            used_devices: 0,
            suspended: false,
            closed: false,
            created,
            activity: created,
        }
    }

    #[test]
    fn depth_first_visits_each_subtree_before_the_next_sibling() {
        // root -> a (-> a1, a2, a3), b (-> b1); rows in no order, a1 and a2 created together
        // (the id breaks the tie).
        let rows = vec![
            acc("a3", Some("a"), 5),
            acc("b1", Some("b"), 4),
            acc("b", Some("root"), 2),
            acc("a2", Some("a"), 3),
            acc("root", Some("up"), 0),
            acc("a1", Some("a"), 3),
            acc("a", Some("root"), 1),
        ];
        let ids: Vec<String> = depth_first("root", rows)
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["root", "a", "a1", "a2", "a3", "b", "b1"]);
    }

    #[test]
    fn nest_builds_the_tree_with_children_in_order() {
        let rows = vec![
            acc("root", None, 0),
            acc("a", Some("root"), 1),
            acc("b", Some("root"), 2),
            acc("a1", Some("a"), 3),
        ];
        let tree = nest("root", rows);
        assert_eq!(tree["id"], "root");
        assert_eq!(tree["children"][0]["id"], "a");
        assert_eq!(tree["children"][0]["children"][0]["id"], "a1");
        assert_eq!(tree["children"][1]["id"], "b");
        assert_eq!(tree["children"][1]["children"], serde_json::json!([]));
    }

    #[test]
    fn a_long_chain_needs_no_recursion() {
        let mut rows = vec![acc("n0", None, 0)];
        for i in 1..50_000 {
            rows.push(acc(&format!("n{i}"), Some(&format!("n{}", i - 1)), i));
        }
        let out = depth_first("n0", rows);
        assert_eq!(out.len(), 50_000);
        assert_eq!(out[49_999].id, "n49999");
    }
}
