-- API tokens for pipelines (issue 13): scopes and an expiry per token. Tokens made before scopes
-- existed could only post checklist evidence; they keep exactly that scope and never expire.
-- (A list column is nullable, as Prisma declares lists; the panel always writes one.)
ALTER TABLE "ServiceApiToken" ADD COLUMN "scopes" TEXT[];
UPDATE "ServiceApiToken" SET "scopes" = ARRAY['evidence:write']::TEXT[];
ALTER TABLE "ServiceApiToken" ADD COLUMN "expiresAt" TIMESTAMP(3);

-- When the release's commit was made: lead time for changes runs from it to live in production.
ALTER TABLE "Release" ADD COLUMN "commitAt" TIMESTAMP(3);
