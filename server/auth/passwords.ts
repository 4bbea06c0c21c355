import { randomInt } from "node:crypto";
import bcrypt from "bcryptjs";

/** The lowest bcrypt cost fit for real accounts (OWASP's floor); lower costs are for test suites. */
export const MIN_PRODUCTION_BCRYPT_COST = 10;

/** `cost` is the configured BCRYPT_COST; the hash records it, so verifying needs no setting. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

// Unambiguous characters only: these passwords are read off a console and typed by people.
const ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** A random password of about 95 bits, grouped for reading: `xxxx-xxxx-xxxx-xxxx`. */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = "";
    for (let i = 0; i < 4; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join("-");
}

/** Rules for passwords people choose themselves. */
export const MIN_PASSWORD_LENGTH = 12;
