-- A sample of a slot with no release on it (traffic before anything is live reaches a slot with no
-- process): kept for the record, left out of charts, alerts and availability.
ALTER TABLE "MetricSample" ADD COLUMN "vacant" BOOLEAN NOT NULL DEFAULT false;
