"""Seed a bench database in bulk with SQL (no bcrypt per row: every user gets one precomputed hash).

usage: seed.py DATABASE_URL HASH USERS TREE SMALL_TREE
Creates account bench-bulk with USERS users, a 4-ary tree of TREE accounts under bench-tree,
and one of SMALL_TREE accounts under bench-small. Prints nothing; fails loudly.
"""
import subprocess
import sys

url, hash_, users, tree, small = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sqlite = url.startswith("sqlite://")

def series(n):
    if sqlite:
        return f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) AS n"
    return f"generate_series(1, {n}) AS n(i)"

def account(id_, name):
    return (f"INSERT INTO accounts (id, name, email, email_lower, plan_id, parent_id, device_seats, used_devices, "
            f"suspended, closed, created, activity) VALUES ('{id_}', '{name}', NULL, NULL, 'default', NULL, 0, 0, "
            f"FALSE, FALSE, 1, 1);")

def tree_sql(root, prefix, n):
    return (f"INSERT INTO accounts (id, name, email, email_lower, plan_id, parent_id, device_seats, used_devices, "
            f"suspended, closed, created, activity) SELECT '{prefix}' || i, 'Node ' || i, NULL, NULL, 'default', "
            f"CASE WHEN i <= 4 THEN '{root}' ELSE '{prefix}' || ((i - 1) / 4) END, 0, 0, FALSE, FALSE, 1000 + i, 1000 + i "
            f"FROM {series(n)};")

sql = "\n".join([
    account("bench-bulk", "Bulk"),
    "INSERT INTO users (id, account_id, email, email_lower, username, username_lower, first, last, role, preferences, "
    "verified, status, password_hash, token_version, created, activity) "
    f"SELECT 'bu-' || i, 'bench-bulk', 'bu' || i || '@bench.test', 'bu' || i || '@bench.test', NULL, NULL, 'Bulk', "
    f"'User ' || i, 'user', '{{}}', TRUE, 'active', '{hash_}', 0, 1000 + i, 1000 + i FROM {series(users)};",
    account("bench-tree", "Tree"),
    tree_sql("bench-tree", "t-", tree),
    account("bench-small", "Small tree"),
    tree_sql("bench-small", "s-", small),
])

if sqlite:
    import sqlite3
    db = sqlite3.connect(url[len("sqlite://"):])
    db.executescript("BEGIN;\n" + sql + "\nCOMMIT;")
    db.close()
else:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", "BEGIN;\n" + sql + "\nCOMMIT; ANALYZE;"], check=True)
