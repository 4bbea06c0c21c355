-- Prometheus as an environment's metric source (issue 13, item 4): its URL, bearer token and the
-- PromQL series selectors the gates read.
CREATE TABLE "PrometheusSource" (
    "environmentId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "bearerToken" TEXT,
    "requestsQuery" TEXT NOT NULL,
    "errorsQuery" TEXT NOT NULL,
    "latencyQuery" TEXT NOT NULL,
    "outageLimitSeconds" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PrometheusSource_pkey" PRIMARY KEY ("environmentId")
);

ALTER TABLE "PrometheusSource" ADD CONSTRAINT "PrometheusSource_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Since when the metric source has not answered a deployment's gates (they fail past the limit).
ALTER TABLE "Deployment" ADD COLUMN "metricsOutageSince" TIMESTAMP(3);
