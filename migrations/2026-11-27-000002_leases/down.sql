DROP TABLE connection_leases;
DROP TABLE instances;
