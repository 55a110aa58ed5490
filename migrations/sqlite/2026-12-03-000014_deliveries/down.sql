DROP TABLE deliveries;
DROP TABLE dispatch;
