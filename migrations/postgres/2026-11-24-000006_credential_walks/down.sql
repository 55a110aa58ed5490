DROP FUNCTION accountd_chain_has(text, text);
DROP FUNCTION accountd_chain_blocked(text);
