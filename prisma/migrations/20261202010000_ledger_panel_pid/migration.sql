-- Which panel process started each local process ("<pid>/<start time>", so a reused pid is not taken
-- for it), so a panel reaps only what a panel that is no longer running left behind, never what a
-- running panel is still starting (server/targets/local).
ALTER TABLE "LocalProcess" ADD COLUMN "panel" TEXT;
