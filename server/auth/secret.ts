/**
 * On the embedded default the panel makes its own session-signing secret on first start and keeps it
 * in the data directory (readable by the owner only), so sessions survive restarts. With
 * DATABASE_URL the secret must be configured, because every instance must share it (config.ts).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export function loadOrCreateSecret(dataDir: string): { secret: string; created: boolean } {
  const file = path.join(dataDir, "nextauth-secret");
  if (fs.existsSync(file)) return { secret: fs.readFileSync(file, "utf8").trim(), created: false };
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return { secret, created: true };
}
