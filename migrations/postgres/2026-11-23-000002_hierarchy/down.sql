DROP TABLE seat_tokens;
DROP TABLE devices;
