// The tables of both backends (the migrations under migrations/sqlite and
// migrations/postgres create the same columns with each backend's SQL).

diesel::table! {
    plans (id) {
        id -> Text,
        name -> Text,
        plan_data -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        email -> Nullable<Text>,
        email_lower -> Nullable<Text>,
        plan_id -> Text,
        parent_id -> Nullable<Text>,
        device_seats -> BigInt,
        used_devices -> BigInt,
        suspended -> Bool,
        closed -> Bool,
        created -> BigInt,
        activity -> BigInt,
        require_mfa -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        email_lower -> Text,
        username -> Nullable<Text>,
        username_lower -> Nullable<Text>,
        first -> Nullable<Text>,
        last -> Nullable<Text>,
        role -> Text,
        preferences -> Text,
        verified -> Bool,
        status -> Text,
        password_hash -> Nullable<Text>,
        token_version -> BigInt,
        created -> BigInt,
        activity -> BigInt,
        active -> Bool,
        external_id -> Nullable<Text>,
        modified -> BigInt,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires -> BigInt,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    seat_tokens (token_hash) {
        token_hash -> Text,
        seats -> BigInt,
        created -> BigInt,
        created_by -> Text,
        redeemed -> Nullable<BigInt>,
        redeemed_by -> Nullable<Text>,
    }
}

diesel::table! {
    codes (id) {
        id -> Text,
        secret_hash -> Text,
        kind -> Text,
        user_id -> Text,
        expires -> BigInt,
        attempts -> Integer,
        created -> BigInt,
        payload -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        secret_hash -> Text,
        family -> Text,
        user_id -> Text,
        token_version -> BigInt,
        expires -> BigInt,
        rotated -> Bool,
        created -> BigInt,
    }
}

diesel::table! {
    personal_tokens (id) {
        id -> Text,
        secret_hash -> Text,
        user_id -> Text,
        token_version -> BigInt,
        description -> Text,
        created -> BigInt,
        last_used -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    groups (account_id, id) {
        account_id -> Text,
        id -> Text,
        labels -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    group_labels (account_id, group_id, name) {
        account_id -> Text,
        group_id -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    memberships (account_id, group_id, user_id) {
        account_id -> Text,
        group_id -> Text,
        user_id -> Text,
        roles -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> BigInt,
        locked_until -> BigInt,
    }
}

diesel::table! {
    audit (id) {
        id -> Text,
        created -> BigInt,
        actor_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
        account_path -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(accounts -> plans (plan_id));
diesel::joinable!(devices -> accounts (account_id));
diesel::joinable!(users -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(
    plans,
    accounts,
    users,
    revoked_tokens,
    devices,
    seat_tokens,
    refresh_tokens,
    sessions
);

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created -> BigInt,
        activates_at -> BigInt,
        retires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created -> BigInt,
        last_used -> BigInt,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        mfa -> Bool,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        created -> BigInt,
    }
}

diesel::table! {
    mfa_totp (user_id) {
        user_id -> Text,
        secret -> Text,
        confirmed -> Bool,
        last_step -> BigInt,
        created -> BigInt,
    }
}

diesel::table! {
    mfa_recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        tx -> BigInt,
        id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        occurred_at -> BigInt,
        account_id -> Nullable<Text>,
        account_path -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        account_id -> Nullable<Text>,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<BigInt>,
        failing_since -> Nullable<BigInt>,
        created -> BigInt,
    }
}

diesel::table! {
    dispatch (id) {
        id -> Integer,
        tx -> BigInt,
        seq -> BigInt,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<BigInt>,
        payload -> Nullable<Text>,
        created -> BigInt,
    }
}
