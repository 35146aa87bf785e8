DROP TRIGGER IF EXISTS connections_announce ON connections;
DROP FUNCTION IF EXISTS connections_announce();
