/**
 * An Ed25519 signing key from text: PEM, or base64 PKCS#8. At the bottom of the layers (it imports
 * nothing of ours), so the configuration can check AUDIT_CHECKPOINT_KEY at start-up without
 * importing the audit log.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

export interface Ed25519Key {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The key, or an error whose message completes "AUDIT_CHECKPOINT_KEY …" (e.g. "is a rsa key; …"). */
export function parseEd25519Key(text: string): Ed25519Key {
  const trimmed = text.trim();
  const privateKey = trimmed.startsWith("-----BEGIN")
    ? createPrivateKey(trimmed)
    : createPrivateKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "pkcs8" });
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new Error(`is a ${privateKey.asymmetricKeyType} key; an Ed25519 key is needed`);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
