-- The walks up the account tree of the credential check, as functions: a statement that holds
-- them as recursive CTEs pays for setting the CTEs up on every execution, even when, as for
-- users of top-level accounts who are not admins, they never run. PL/pgSQL keeps their plans.

-- Whether `start` or an account above it is suspended or closed.
CREATE FUNCTION accountd_chain_blocked(start text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (
        WITH RECURSIVE up(id, parent_id, blocked) AS (
            SELECT id, parent_id, suspended OR closed FROM accounts WHERE id = start
            UNION ALL
            SELECT a.id, a.parent_id, a.suspended OR a.closed FROM accounts a
            JOIN up ON a.id = up.parent_id)
        SELECT 1 FROM up WHERE blocked);
END $$;

-- Whether `wanted` is `start` or an account above it.
CREATE FUNCTION accountd_chain_has(start text, wanted text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (
        WITH RECURSIVE up(id, parent_id) AS (
            SELECT id, parent_id FROM accounts WHERE id = start
            UNION ALL
            SELECT a.id, a.parent_id FROM accounts a JOIN up ON a.id = up.parent_id)
        SELECT 1 FROM up WHERE id = wanted);
END $$;
