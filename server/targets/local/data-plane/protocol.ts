/**
 * What the panel and its local data plane say to each other over the data plane's control port:
 * requests are checked here on the data plane's side (with messages naming the field), answers are
 * typed for the panel's client. Every request carries the data plane's token.
 */
import { z } from "zod";
import type { Slot, Weights } from "../../driver.ts";
import type { SecondSample, SlotWindow } from "../metrics-recorder.ts";
import { guardBody, type GuardState } from "./traffic-guard.ts";

export const TOKEN_HEADER = "x-greenlight-token";
export const IDENTITY_PATH = "/__greenlight/identity";

const port = z.number().int().min(1, "must be a TCP port").max(65_535, "must be a TCP port");
const weight = z
  .number()
  .int("must be a whole percentage")
  .min(0, "must be between 0 and 100")
  .max(100, "must be between 0 and 100");

export const weightsBody = z
  .object({ blue: weight, green: weight })
  .refine((w) => w.blue + w.green === 100, "weights must add up to 100");
/** PUT /environments/:id/weights: the weights, and the traffic guard they are set under (none: disarmed). */
export const weightsRequestBody = z
  .object({ blue: weight, green: weight, guard: guardBody.nullable().optional() })
  .refine((w) => w.blue + w.green === 100, "weights must add up to 100");
export const upstreamBody = z.object({ port: port.nullable() });
export const generatorBody = z.object({
  enabled: z.boolean(),
  rate: z
    .number()
    .min(0, "must be between 0 and 5000 requests per second")
    .max(5000, "must be between 0 and 5000 requests per second"),
});
export const environmentBody = z.object({
  /** The port to listen on when it is free (the one the environment had); another one otherwise. */
  port: port.nullable(),
  weights: weightsBody,
  upstreams: z.object({ blue: port.nullable(), green: port.nullable() }),
  generator: generatorBody,
});
export type EnvironmentSpec = z.infer<typeof environmentBody>;

export interface EnvironmentState {
  id: string;
  port: number;
  weights: Weights;
  upstreams: Record<Slot, number | null>;
  generator: { enabled: boolean; rate: number };
  guard: GuardState;
}

export interface Identity {
  token: string;
  version: string;
  slot: string;
  pid: number;
}

/** Completed seconds of every environment after the requested second. */
export interface SecondsAnswer {
  /** The data plane's current epoch second (the one in progress is not included). */
  now: number;
  environments: { id: string; seconds: WireSecond[] }[];
}

export type WireSecond = Omit<SecondSample, "at"> & { at: number };

export type WindowAnswer = Record<Slot, SlotWindow>;
