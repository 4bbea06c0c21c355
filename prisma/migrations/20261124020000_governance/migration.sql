-- Governance: change requests and approval policy, checklists with CI evidence, maintenance windows,
-- emergencies and post-incident reviews, notifications, surveys, and audit retention anchors.

-- CreateEnum
CREATE TYPE "ChangeType" AS ENUM ('standard', 'user_facing', 'infrastructure', 'major', 'emergency');

-- CreateEnum
CREATE TYPE "ChangeRequestStatus" AS ENUM ('pending', 'approved', 'rejected', 'withdrawn', 'used');

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN "serviceId" TEXT,
ADD COLUMN "environmentId" TEXT;

-- AlterTable
ALTER TABLE "Deployment" ADD COLUMN "emergencyId" TEXT,
ADD COLUMN "changeRequestId" TEXT,
ADD COLUMN "governance" JSONB;

-- CreateTable
CREATE TABLE "ChangeTypePolicy" (
    "type" "ChangeType" NOT NULL,
    "requiredRoles" "Role"[],
    "requiresPerformanceAssessment" BOOLEAN NOT NULL DEFAULT false,
    "requiresWindow" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChangeTypePolicy_pkey" PRIMARY KEY ("type")
);

-- CreateTable
CREATE TABLE "ChangeRequest" (
    "id" TEXT NOT NULL,
    "releaseId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "type" "ChangeType" NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "performanceAssessment" TEXT,
    "requestedById" TEXT NOT NULL,
    "status" "ChangeRequestStatus" NOT NULL DEFAULT 'pending',
    "revision" INTEGER NOT NULL DEFAULT 1,
    "rejectionReason" TEXT,
    "deploymentId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChangeRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Approval" (
    "id" TEXT NOT NULL,
    "changeRequestId" TEXT NOT NULL,
    "approverId" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "decision" TEXT NOT NULL,
    "reason" TEXT,
    "revision" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChecklistTemplateItem" (
    "id" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "required" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "ChecklistTemplateItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChecklistItem" (
    "id" TEXT NOT NULL,
    "releaseId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "required" BOOLEAN NOT NULL,
    "done" BOOLEAN NOT NULL DEFAULT false,
    "note" TEXT,
    "link" TEXT,
    "completedById" TEXT,
    "completedAt" TIMESTAMP(3),
    "evidence" JSONB,

    CONSTRAINT "ChecklistItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceApiToken" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ServiceApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MaintenanceWindowRule" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "rrule" TEXT NOT NULL,
    "startTime" TEXT NOT NULL,
    "durationMinutes" INTEGER NOT NULL,
    "serviceId" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MaintenanceWindowRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationSubscription" (
    "userId" TEXT NOT NULL,
    "topic" TEXT NOT NULL,

    CONSTRAINT "NotificationSubscription_pkey" PRIMARY KEY ("userId","topic")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "link" TEXT,
    "dedupeKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMP(3),

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScheduledNotice" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "dueAt" TIMESTAMP(3) NOT NULL,
    "payload" JSONB NOT NULL,
    "claimedBy" TEXT,
    "claimedAt" TIMESTAMP(3),
    "sentAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScheduledNotice_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EmergencyRequest" (
    "id" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "serviceId" TEXT,
    "environmentId" TEXT,
    "reason" TEXT NOT NULL,
    "impact" TEXT NOT NULL,
    "plannedActions" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'requested',
    "decidedById" TEXT,
    "decidedAt" TIMESTAMP(3),
    "decisionNote" TEXT,
    "expiresAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EmergencyRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PostIncidentReview" (
    "id" TEXT NOT NULL,
    "emergencyId" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "dueAt" TIMESTAMP(3) NOT NULL,
    "timeline" JSONB NOT NULL,
    "rootCause" TEXT NOT NULL DEFAULT '',
    "followUps" JSONB NOT NULL DEFAULT '[]',
    "status" TEXT NOT NULL DEFAULT 'open',
    "signedOffById" TEXT,
    "signedOffAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PostIncidentReview_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentSurvey" (
    "id" TEXT NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "rating" INTEGER NOT NULL,
    "comment" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeploymentSurvey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditAnchor" (
    "id" BIGSERIAL NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "purgedBefore" TIMESTAMP(3) NOT NULL,
    "purgedCount" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditAnchor_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditEvent_serviceId_at_idx" ON "AuditEvent"("serviceId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_environmentId_at_idx" ON "AuditEvent"("environmentId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "ChangeRequest_deploymentId_key" ON "ChangeRequest"("deploymentId");

-- CreateIndex
CREATE INDEX "ChangeRequest_environmentId_status_idx" ON "ChangeRequest"("environmentId", "status");

-- CreateIndex
CREATE INDEX "ChangeRequest_releaseId_idx" ON "ChangeRequest"("releaseId");

-- CreateIndex
CREATE UNIQUE INDEX "Approval_changeRequestId_approverId_revision_key" ON "Approval"("changeRequestId", "approverId", "revision");

-- CreateIndex
CREATE UNIQUE INDEX "ChecklistTemplateItem_environmentId_key_key" ON "ChecklistTemplateItem"("environmentId", "key");

-- CreateIndex
CREATE UNIQUE INDEX "ChecklistItem_releaseId_environmentId_key_key" ON "ChecklistItem"("releaseId", "environmentId", "key");

-- CreateIndex
CREATE UNIQUE INDEX "ServiceApiToken_tokenHash_key" ON "ServiceApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ServiceApiToken_serviceId_idx" ON "ServiceApiToken"("serviceId");

-- CreateIndex
CREATE UNIQUE INDEX "Notification_userId_dedupeKey_key" ON "Notification"("userId", "dedupeKey");

-- CreateIndex
CREATE INDEX "Notification_userId_readAt_idx" ON "Notification"("userId", "readAt");

-- CreateIndex
CREATE UNIQUE INDEX "ScheduledNotice_key_key" ON "ScheduledNotice"("key");

-- CreateIndex
CREATE INDEX "ScheduledNotice_sentAt_dueAt_idx" ON "ScheduledNotice"("sentAt", "dueAt");

-- CreateIndex
CREATE UNIQUE INDEX "PostIncidentReview_emergencyId_key" ON "PostIncidentReview"("emergencyId");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentSurvey_deploymentId_userId_key" ON "DeploymentSurvey"("deploymentId", "userId");

-- CreateIndex
CREATE INDEX "DeploymentSurvey_createdAt_idx" ON "DeploymentSurvey"("createdAt");

-- AddForeignKey
ALTER TABLE "ChangeRequest" ADD CONSTRAINT "ChangeRequest_requestedById_fkey" FOREIGN KEY ("requestedById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_approverId_fkey" FOREIGN KEY ("approverId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PostIncidentReview" ADD CONSTRAINT "PostIncidentReview_emergencyId_fkey" FOREIGN KEY ("emergencyId") REFERENCES "EmergencyRequest"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The default approval policy (administrators edit it): standard needs one approver; user-facing
-- also a business stakeholder; infrastructure also a security reviewer; major also an attached
-- performance impact assessment; emergencies are authorised by a CTO or on-call engineer instead.
-- Major and infrastructure changes in production may start only inside a maintenance window.
INSERT INTO "ChangeTypePolicy" ("type", "requiredRoles", "requiresPerformanceAssessment", "requiresWindow", "updatedAt") VALUES
  ('standard', ARRAY['approver']::"Role"[], false, false, CURRENT_TIMESTAMP),
  ('user_facing', ARRAY['approver', 'business_stakeholder']::"Role"[], false, false, CURRENT_TIMESTAMP),
  ('infrastructure', ARRAY['approver', 'security_reviewer']::"Role"[], false, true, CURRENT_TIMESTAMP),
  ('major', ARRAY['approver']::"Role"[], true, true, CURRENT_TIMESTAMP),
  ('emergency', ARRAY[]::"Role"[], false, false, CURRENT_TIMESTAMP);

-- The default maintenance window: monthly, second Sunday, 02:00–04:00 America/New_York.
INSERT INTO "MaintenanceWindowRule" ("id", "name", "timezone", "rrule", "startTime", "durationMinutes", "serviceId", "active", "updatedAt")
VALUES ('00000000-0000-4000-8000-000000000001', 'Monthly maintenance', 'America/New_York', 'FREQ=MONTHLY;BYDAY=+2SU', '02:00', 120, NULL, true, CURRENT_TIMESTAMP);
