-- CreateTable
CREATE TABLE "ReconcilerInstance" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ReconcilerInstance_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ReconcilerInstance_heartbeatAt_idx" ON "ReconcilerInstance"("heartbeatAt");
