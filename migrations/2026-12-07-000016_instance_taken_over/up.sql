-- When another instance first took over this one's leases after it stopped
-- renewing them (it died or stalled): the operator's `lease.taken_over`
-- notification is sent once per such instance (docs/contract/alerts.md),
-- and again only after it heartbeats once more (which clears this).
ALTER TABLE instances ADD COLUMN IF NOT EXISTS taken_over_at timestamptz;
