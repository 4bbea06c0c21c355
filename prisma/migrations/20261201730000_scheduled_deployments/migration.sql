-- Major and infrastructure changes scheduled into a maintenance window (server/governance/scheduled-deployments.ts).
CREATE TYPE "ScheduledDeploymentStatus" AS ENUM ('scheduled', 'started', 'not_started', 'cancelled');

CREATE TABLE "ScheduledDeployment" (
    "id" TEXT NOT NULL,
    "changeRequestId" TEXT NOT NULL,
    "releaseId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "windowRuleId" TEXT NOT NULL,
    "windowName" TEXT NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "windowEnd" TIMESTAMP(3) NOT NULL,
    "status" "ScheduledDeploymentStatus" NOT NULL DEFAULT 'scheduled',
    "scheduledById" TEXT NOT NULL,
    "reason" TEXT,
    "deploymentId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settledAt" TIMESTAMP(3),

    CONSTRAINT "ScheduledDeployment_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "ScheduledDeployment_status_windowStart_idx" ON "ScheduledDeployment"("status", "windowStart");
CREATE INDEX "ScheduledDeployment_changeRequestId_idx" ON "ScheduledDeployment"("changeRequestId");
