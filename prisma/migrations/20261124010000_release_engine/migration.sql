-- Release engine: services, environments, releases, reconciled deployments, metrics, alerts, local target state.

-- CreateEnum
CREATE TYPE "Slot" AS ENUM ('blue', 'green');

-- CreateEnum
CREATE TYPE "TargetKind" AS ENUM ('local', 'ecs');

-- CreateEnum
CREATE TYPE "DeploymentStatus" AS ENUM ('preparing', 'deploying_green', 'smoke_testing', 'shifting', 'validating', 'succeeded', 'paused', 'rolling_back', 'rolled_back', 'aborted', 'failed');

-- CreateTable
CREATE TABLE "Service" (
    "id" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Service_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Environment" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "production" BOOLEAN NOT NULL DEFAULT false,
    "target" "TargetKind" NOT NULL DEFAULT 'local',
    "targetConfig" JSONB NOT NULL DEFAULT '{}',
    "policy" JSONB NOT NULL,
    "alertThresholds" JSONB NOT NULL,
    "rollbackHooks" JSONB NOT NULL DEFAULT '[]',
    "liveSlot" "Slot" NOT NULL DEFAULT 'blue',
    "liveReleaseId" TEXT,
    "trafficGenerator" BOOLEAN NOT NULL DEFAULT false,
    "trafficRate" INTEGER NOT NULL DEFAULT 20,
    "scaleDownSlot" "Slot",
    "scaleDownAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Environment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Release" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "artifact" TEXT NOT NULL,
    "commitSha" TEXT,
    "notes" TEXT NOT NULL DEFAULT '',
    "settings" JSONB NOT NULL DEFAULT '{}',
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Release_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Deployment" (
    "id" TEXT NOT NULL,
    "releaseId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "status" "DeploymentStatus" NOT NULL DEFAULT 'preparing',
    "statusDetail" TEXT,
    "activeEnvironmentId" TEXT,
    "targetSlot" "Slot" NOT NULL,
    "fromSlot" "Slot" NOT NULL,
    "fromReleaseId" TEXT,
    "policy" JSONB NOT NULL,
    "stepIndex" INTEGER NOT NULL DEFAULT 0,
    "stepReachedAt" TIMESTAMP(3),
    "phaseStartedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "pausedFrom" "DeploymentStatus",
    "pausedAt" TIMESTAMP(3),
    "smokeAttempt" INTEGER NOT NULL DEFAULT 0,
    "skipBake" BOOLEAN NOT NULL DEFAULT false,
    "baseline" JSONB,
    "breachAt" TIMESTAMP(3),
    "rollbackReason" JSONB,
    "rollbackCompletedAt" TIMESTAMP(3),
    "rollbackHooksRanAt" TIMESTAMP(3),
    "outcome" "DeploymentStatus",
    "failureReason" TEXT,
    "figures" JSONB,
    "emergency" BOOLEAN NOT NULL DEFAULT false,
    "startedById" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "version" INTEGER NOT NULL DEFAULT 0,
    "commandVersion" INTEGER NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentEvent" (
    "id" BIGSERIAL NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,

    CONSTRAINT "DeploymentEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SmokeCheckResult" (
    "id" BIGSERIAL NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "round" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "status" INTEGER,
    "latencyMs" INTEGER,
    "detail" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SmokeCheckResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GateResult" (
    "id" BIGSERIAL NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "stepIndex" INTEGER NOT NULL,
    "weight" INTEGER NOT NULL,
    "gate" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "observed" DOUBLE PRECISION,
    "threshold" DOUBLE PRECISION NOT NULL,
    "detail" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GateResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricSample" (
    "environmentId" TEXT NOT NULL,
    "slot" "Slot" NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "requests" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "p50" DOUBLE PRECISION,
    "p95" DOUBLE PRECISION,
    "p99" DOUBLE PRECISION,
    "weight" INTEGER NOT NULL,

    CONSTRAINT "MetricSample_pkey" PRIMARY KEY ("environmentId","slot","at")
);

-- CreateTable
CREATE TABLE "MetricRollup" (
    "environmentId" TEXT NOT NULL,
    "slot" "Slot" NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "requests" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "p50" DOUBLE PRECISION,
    "p95" DOUBLE PRECISION,
    "p99" DOUBLE PRECISION,
    "weight" INTEGER NOT NULL,

    CONSTRAINT "MetricRollup_pkey" PRIMARY KEY ("environmentId","slot","at")
);

-- CreateTable
CREATE TABLE "AvailabilityMinute" (
    "environmentId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "trafficSeconds" INTEGER NOT NULL,
    "okSeconds" INTEGER NOT NULL,

    CONSTRAINT "AvailabilityMinute_pkey" PRIMARY KEY ("environmentId","at")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "metric" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "message" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "resolvedAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LocalSlotProcess" (
    "environmentId" TEXT NOT NULL,
    "slot" "Slot" NOT NULL,
    "pid" INTEGER NOT NULL,
    "port" INTEGER NOT NULL,
    "releaseId" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LocalSlotProcess_pkey" PRIMARY KEY ("environmentId","slot")
);

-- CreateTable
CREATE TABLE "LocalProcess" (
    "pid" INTEGER NOT NULL,
    "token" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LocalProcess_pkey" PRIMARY KEY ("pid","token")
);

-- CreateTable
CREATE TABLE "LocalProxyState" (
    "environmentId" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "blueWeight" INTEGER NOT NULL,
    "greenWeight" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LocalProxyState_pkey" PRIMARY KEY ("environmentId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Service_slug_key" ON "Service"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "Environment_serviceId_name_key" ON "Environment"("serviceId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Environment_serviceId_position_key" ON "Environment"("serviceId", "position");

-- CreateIndex
CREATE UNIQUE INDEX "Release_serviceId_version_key" ON "Release"("serviceId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "Deployment_activeEnvironmentId_key" ON "Deployment"("activeEnvironmentId");

-- CreateIndex
CREATE INDEX "Deployment_status_idx" ON "Deployment"("status");

-- CreateIndex
CREATE INDEX "Deployment_environmentId_startedAt_idx" ON "Deployment"("environmentId", "startedAt");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentEvent_deploymentId_seq_key" ON "DeploymentEvent"("deploymentId", "seq");

-- CreateIndex
CREATE INDEX "SmokeCheckResult_deploymentId_round_attempt_idx" ON "SmokeCheckResult"("deploymentId", "round", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "GateResult_deploymentId_stepIndex_gate_key" ON "GateResult"("deploymentId", "stepIndex", "gate");

-- CreateIndex
CREATE INDEX "Alert_environmentId_startedAt_idx" ON "Alert"("environmentId", "startedAt");

-- AddForeignKey
ALTER TABLE "Environment" ADD CONSTRAINT "Environment_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Environment" ADD CONSTRAINT "Environment_liveReleaseId_fkey" FOREIGN KEY ("liveReleaseId") REFERENCES "Release"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Release" ADD CONSTRAINT "Release_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_releaseId_fkey" FOREIGN KEY ("releaseId") REFERENCES "Release"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_startedById_fkey" FOREIGN KEY ("startedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentEvent" ADD CONSTRAINT "DeploymentEvent_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SmokeCheckResult" ADD CONSTRAINT "SmokeCheckResult_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GateResult" ADD CONSTRAINT "GateResult_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The active-deployment guard must name the deployment's own environment.
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_activeEnvironmentId_matches" CHECK ("activeEnvironmentId" IS NULL OR "activeEnvironmentId" = "environmentId");
