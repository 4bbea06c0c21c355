-- The audit log's guards hold against the panel's own database role, not only against mistakes.
--
-- Until now the retention purge switched on `greenlight.audit_retention` for its transaction and
-- deleted; anyone holding the panel's credentials could do the same to any rows. Now:
--   * deleting audit events takes both the switch and the table owner's identity, and the only way
--     to have the owner's identity without its credentials is greenlight_purge_audit_events(), a
--     SECURITY DEFINER function that deletes a prefix of the chain whose events are all older than
--     two years by the database's own clock;
--   * the chain head only moves forward, and only to an event that exists.
-- With the panel running as a role of its own (README, "PostgreSQL": it gets no DELETE on the audit
-- tables and does not own them), it can append to the audit log and purge what is past retention,
-- and nothing else. On PGlite the panel is the owner (one process, one role): these guards stop
-- mistakes there, and the signed checkpoints outside the database catch a cut.

CREATE OR REPLACE FUNCTION "audit_event_is_append_only"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('greenlight.audit_retention', true) = 'on'
     AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'AuditEvent rows are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- Deletes events 1..through_seq (what is left of them after earlier purges) if every one of them is
-- older than older_than, and older_than is at least 730 days ago. Returns how many were deleted.
CREATE FUNCTION "greenlight_purge_audit_events"(through_seq BIGINT, older_than TIMESTAMP(3)) RETURNS BIGINT
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  latest_allowed TIMESTAMP(3) := (now() AT TIME ZONE 'UTC') - interval '730 days';
  too_recent BIGINT;
  deleted BIGINT;
BEGIN
  IF older_than IS NULL OR older_than > latest_allowed THEN
    RAISE EXCEPTION 'audit events are kept for 730 days: a purge may only remove events older than % (got %)', latest_allowed, older_than
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT min(seq) INTO too_recent FROM "AuditEvent" WHERE seq <= through_seq AND "at" >= older_than;
  IF too_recent IS NOT NULL THEN
    RAISE EXCEPTION 'event % is not older than %, so events up to % may not be purged', too_recent, older_than, through_seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('greenlight.audit_retention', 'on', true);
  DELETE FROM "AuditEvent" WHERE seq <= through_seq;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('greenlight.audit_retention', 'off', true);
  RETURN deleted;
END;
$$ LANGUAGE plpgsql;

-- Functions are executable by everyone unless told otherwise; this one is granted to the panel's role.
REVOKE EXECUTE ON FUNCTION "greenlight_purge_audit_events"(BIGINT, TIMESTAMP(3)) FROM PUBLIC;

-- The chain head records the newest event. It moves forward to an event that exists, never back:
-- moving it back would hide the newest events from verification.
CREATE FUNCTION "audit_chain_head_moves_forward"() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'The audit chain head is never removed (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.id <> OLD.id OR NEW.seq <= OLD.seq THEN
    RAISE EXCEPTION 'The audit chain head only moves forward (from % to % refused)', OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM "AuditEvent" WHERE seq = NEW.seq AND hash = NEW.hash) THEN
    RAISE EXCEPTION 'The audit chain head must name a stored event (% refused)', NEW.seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "AuditChainHead_moves_forward"
  BEFORE UPDATE OR DELETE ON "AuditChainHead"
  FOR EACH ROW EXECUTE FUNCTION "audit_chain_head_moves_forward"();

CREATE TRIGGER "AuditChainHead_no_truncate"
  BEFORE TRUNCATE ON "AuditChainHead"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_chain_head_moves_forward"();
