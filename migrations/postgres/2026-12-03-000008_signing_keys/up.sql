-- Keys that sign access tokens (JWT_ALG EdDSA or ES256), shared by every instance.
-- private_key: PKCS#8 DER in base64, or "enc1:" + base64(nonce || ciphertext) when encrypted
-- with KEY_ENCRYPTION_KEY. public_jwk: the JWK published at /.well-known/jwks.json.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retires_at BIGINT
);
