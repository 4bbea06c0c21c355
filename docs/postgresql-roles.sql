-- The panel's own PostgreSQL role (see README, "PostgreSQL").
--
-- Run as the role that owns the panel's tables, i.e. the one `npm run db:migrate` runs as, after
-- migrating; run it again after an upgrade that adds tables. Change the name and the password.
-- The panel then runs with DATABASE_URL=postgresql://greenlight_app:…@host/db: it reads and writes
-- its tables, appends to the audit log and purges what is past retention (through
-- greenlight_purge_audit_events, which runs as the owner), and nothing more. It cannot delete or
-- edit audit events, move the chain head back, disable the triggers that guard them, or migrate.

CREATE ROLE greenlight_app LOGIN PASSWORD 'change-me';

GRANT USAGE ON SCHEMA public TO greenlight_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO greenlight_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO greenlight_app;

-- The audit log: read and append only. The chain head is updated on every append (it only moves
-- forward, to a stored event: a trigger sees to that).
REVOKE UPDATE, DELETE, TRUNCATE ON "AuditEvent", "AuditAnchor" FROM greenlight_app;
REVOKE DELETE, TRUNCATE ON "AuditChainHead" FROM greenlight_app;
GRANT EXECUTE ON FUNCTION greenlight_purge_audit_events(BIGINT, TIMESTAMP) TO greenlight_app;

-- Migrations are the owner's: the panel only reads the bookkeeping to see that none is pending.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "_prisma_migrations" FROM greenlight_app;
