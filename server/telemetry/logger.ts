/**
 * Structured JSON logs (pino): one line per event with timestamp, level, service, traceId, userId,
 * action, message and metadata. Secrets never reach a log line: values under keys that name a
 * password, token, secret, cookie or authorization header are replaced before serialisation.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import { currentTrace } from "./context.ts";

export type { Logger };

const SECRET_KEY = /pass(word)?|secret|token|cookie|authorization|credential|api[-_]?key|session/i;

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    out[key] = SECRET_KEY.test(key) ? "[redacted]" : redactSecrets(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level: string;
  service?: string;
  /** Extra destinations (the daily-rotated LOG_FILE, a test's capture). Standard output is always one. */
  streams?: DestinationStream[];
  stdout?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const destinations = [
    ...(options.stdout === false ? [] : [{ stream: pino.destination({ fd: 1, sync: false }) as DestinationStream }]),
  ];
  for (const stream of options.streams ?? []) destinations.push({ stream });
  return pino(
    {
      level: options.level,
      base: { service: options.service ?? "greenlight" },
      messageKey: "message",
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
      mixin: () => {
        const trace = currentTrace();
        return trace ? { traceId: trace.traceId, userId: trace.userId ?? null } : {};
      },
    },
    pino.multistream(destinations.map((d) => ({ ...d, level: "trace" as const }))),
  );
}

/** Opens LOG_FILE as a daily-rotated file (app.2026-11-24.1.log …), keeping two weeks. */
export async function openRotatingLogFile(file: string): Promise<DestinationStream> {
  const { default: pinoRoll } = await import("pino-roll");
  return pinoRoll({ file, frequency: "daily", dateFormat: "yyyy-MM-dd", mkdir: true, limit: { count: 14 } });
}

/** A logger that discards everything, for unit tests of code that logs. */
export const silentLogger: Logger = pino({ level: "silent" });
