-- The auditors' view: indexes for its filters, statistics for its planner, and anchors that cannot be
-- edited.

-- Newest-first pages of one service's, one environment's or one person's events, also within a time
-- range (turned into a range of sequence numbers, see server/audit/query.ts). An actor is matched by
-- id ("AuditEvent_actorId_at_idx") or by e-mail (here).

-- CreateIndex
CREATE INDEX "AuditEvent_serviceId_seq_idx" ON "AuditEvent"("serviceId", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_environmentId_seq_idx" ON "AuditEvent"("environmentId", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_actorEmail_seq_idx" ON "AuditEvent"("actorEmail", "seq");

-- An environment belongs to one service: without this the planner multiplies the two filters'
-- selectivities, expects a handful of rows where there are thousands, and picks a slow plan.
-- (Extended statistics are not part of schema.prisma; the schema test does not look at them.)
CREATE STATISTICS "AuditEvent_serviceId_environmentId_stat" (dependencies) ON "serviceId", "environmentId" FROM "AuditEvent";

-- Retention anchors are where verification starts: like the events, they are never changed or
-- removed (the retention job only adds them).
CREATE FUNCTION "audit_anchor_is_append_only"() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'AuditAnchor rows are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "AuditAnchor_append_only"
  BEFORE UPDATE OR DELETE ON "AuditAnchor"
  FOR EACH ROW EXECUTE FUNCTION "audit_anchor_is_append_only"();

CREATE TRIGGER "AuditAnchor_no_truncate"
  BEFORE TRUNCATE ON "AuditAnchor"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_anchor_is_append_only"();
