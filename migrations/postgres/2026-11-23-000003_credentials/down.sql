DROP TABLE memberships;
DROP TABLE group_labels;
DROP TABLE groups;
DROP TABLE personal_tokens;
DROP TABLE refresh_tokens;
DROP TABLE codes;
