DROP TRIGGER IF EXISTS webhook_changed_announce ON lever_webhooks;
DROP TRIGGER IF EXISTS connection_removed_announce ON connections;
DROP TRIGGER IF EXISTS connection_changed_announce ON connections;
DROP FUNCTION IF EXISTS connection_changed_announce();
