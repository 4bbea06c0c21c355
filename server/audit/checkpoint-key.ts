/**
 * The key that signs audit checkpoints. It must never be in the database (whoever can rewrite the
 * database must not be able to sign a checkpoint of the rewrite): it comes from AUDIT_CHECKPOINT_KEY,
 * or is generated on first start into the data directory (readable by the owner only), with its
 * public half beside it for anyone who verifies checkpoints offline.
 */
import fs from "node:fs";
import path from "node:path";
import { generateCheckpointKey, parseCheckpointKey, type CheckpointKey } from "./checkpoint.ts";

export const CHECKPOINT_KEY_FILE = "audit-checkpoint-key.pem";
export const CHECKPOINT_PUBLIC_KEY_FILE = "audit-checkpoint-key.pub.pem";

export function loadOrCreateCheckpointKey(
  configured: string | undefined,
  dataDir: string,
): { key: CheckpointKey; created: boolean } {
  if (configured) return { key: parseCheckpointKey(configured), created: false };
  const file = path.join(dataDir, CHECKPOINT_KEY_FILE);
  if (fs.existsSync(file)) return { key: parseCheckpointKey(fs.readFileSync(file, "utf8")), created: false };
  fs.mkdirSync(dataDir, { recursive: true });
  const key = generateCheckpointKey();
  fs.writeFileSync(file, key.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  fs.writeFileSync(
    path.join(dataDir, CHECKPOINT_PUBLIC_KEY_FILE),
    key.publicKey.export({ type: "spki", format: "pem" }),
    { mode: 0o644 },
  );
  return { key, created: true };
}
