/**
 * The deployment policies the specs deploy with, in one place: short bakes, the default gates (latency
 * included) judged on a few requests, and the smoke tests the demo service answers.
 */
import { DATABASE_HEALTH_SMOKE_TEST, DEFAULT_GATES, type Policy } from "../server/releases/policy";

/** Two steps, two-second bakes, the old slot kept for ten minutes: a release goes live in seconds. */
export const FAST_POLICY: Policy = {
  steps: [10, 100],
  bakeSeconds: 2,
  // The default gates, latency included: the proxies run in the data plane's own process, so the pages
  // the suite renders in parallel browsers do not show up in the latency a release is judged by.
  gates: { ...DEFAULT_GATES, minRequests: 3 },
  validationSeconds: 1,
  scaleDownDelaySeconds: 600,
  greenReadyTimeoutSeconds: 60,
  smokeTests: [],
};

/** Three steps, judged on five requests each, with a smoke test before any traffic and at 100 %. */
export const THREE_STEP_POLICY: Policy = {
  ...FAST_POLICY,
  steps: [10, 50, 100],
  gates: { ...DEFAULT_GATES, minRequests: 5 },
  scaleDownDelaySeconds: 60,
  smokeTests: [DATABASE_HEALTH_SMOKE_TEST],
};
