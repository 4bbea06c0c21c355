-- The local target's data plane: one process per panel database that serves every environment's
-- proxy, recorder and traffic generator (server/targets/local/data-plane/).
CREATE TABLE "LocalDataPlane" (
    "id" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "port" INTEGER NOT NULL,
    "token" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LocalDataPlane_pkey" PRIMARY KEY ("id")
);

-- The data plane is in the process ledger too, with no environment.
ALTER TABLE "LocalProcess" ALTER COLUMN "environmentId" DROP NOT NULL;

-- The judge: failed measurements per step (failure limits), when the release first got traffic
-- (for "onset to rollback" and "blast radius"), and each gate result's explanation.
ALTER TABLE "Deployment" ADD COLUMN "gateFailures" JSONB;
ALTER TABLE "Deployment" ADD COLUMN "trafficStartedAt" TIMESTAMP(3);
ALTER TABLE "GateResult" ADD COLUMN "explanation" JSONB;
