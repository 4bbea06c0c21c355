-- AlterTable
ALTER TABLE "MetricSample" ADD COLUMN "seconds" INTEGER NOT NULL DEFAULT 1;
