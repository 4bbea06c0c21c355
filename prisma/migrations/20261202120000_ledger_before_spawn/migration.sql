-- A local process is written into the ledger before it is spawned, under its token, and its pid is
-- filled in once the spawn returns: a panel killed in between leaves a row that names the process by
-- the token in its environment, so the next panel still finds it and stops it (server/targets/local).
ALTER TABLE "LocalProcess" DROP CONSTRAINT "LocalProcess_pkey";
ALTER TABLE "LocalProcess" ALTER COLUMN "pid" DROP NOT NULL;
ALTER TABLE "LocalProcess" ADD CONSTRAINT "LocalProcess_pkey" PRIMARY KEY ("token");
