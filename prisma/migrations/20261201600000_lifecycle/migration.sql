-- The smoke attempt whose checks ran (their results are an observation the next pass decides from;
-- with no checks in the policy there are no result rows to show they ran).
ALTER TABLE "Deployment" ADD COLUMN "smokeRanAttempt" INTEGER NOT NULL DEFAULT 0;
