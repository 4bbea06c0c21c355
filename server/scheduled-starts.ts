/**
 * The worker that starts scheduled deployments when their window opens (see
 * governance/scheduled-deployments.ts): each pass looks for due rows and starts each through the
 * same path as a person's start, with the governance guard evaluated at the worker's clock. The clock
 * is injectable so tests never wait for a real window.
 */
import type { Logger } from "pino";
import { systemActor, type Actor } from "./audit/actor.ts";
import { announceDeploymentChange } from "./deployment-actions.ts";
import { activeEmergencyFor } from "./governance/emergencies.ts";
import {
  claimScheduleGuard,
  ClaimLost,
  dueSchedules,
  isRefusal,
  settleNotStarted,
} from "./governance/scheduled-deployments.ts";
import { governanceGuard } from "./governance/start-guard.ts";
import { startDeployment } from "./releases/commands.ts";
import type { Services } from "./services.ts";

export interface ScheduledStartsOptions {
  intervalMs: number;
  now?: () => Date;
}

/** Who starts a scheduled deployment: the panel, on the scheduler's behalf (named in the audit). */
export function schedulerActor(): Actor {
  return { ...systemActor(), email: "scheduler" };
}

export class ScheduledStarts {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly services: Pick<Services, "prisma" | "targets" | "reconciler" | "events" | "notifier"> & {
      log: Logger;
    },
    private readonly options: ScheduledStartsOptions,
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((error: unknown) =>
          this.services.log.warn(
            { action: "scheduled_starts.failed", metadata: { error } },
            "Scheduled deployment pass failed",
          ),
        )
        .finally(() => (this.running = null));
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; returns what happened to each due row. */
  async runOnce(): Promise<{ id: string; outcome: "started" | "not_started" | "lost" | "retry" }[]> {
    const now = this.now();
    const results: { id: string; outcome: "started" | "not_started" | "lost" | "retry" }[] = [];
    for (const schedule of await dueSchedules(this.services.prisma, now)) {
      results.push({ id: schedule.id, outcome: await this.startOne(schedule, now) });
    }
    return results;
  }

  private async startOne(schedule: Awaited<ReturnType<typeof dueSchedules>>[number], now: Date) {
    const { prisma, targets, reconciler, log } = this.services;
    const actor = schedulerActor();
    try {
      const deployment = await startDeployment(
        prisma,
        actor,
        { releaseId: schedule.releaseId, environmentId: schedule.environmentId },
        {
          validateTarget: (kind, config) => targets.validateConfig(kind as "local" | "ecs", config),
          guards: [claimScheduleGuard(schedule, now), (tx, context) => governanceGuard(tx, context, now)],
          emergencyFor: (tx, environment) => activeEmergencyFor(tx, environment, now),
        },
      );
      reconciler.kick(deployment.id);
      announceDeploymentChange(this.services, deployment);
      return "started" as const;
    } catch (error) {
      if (error instanceof ClaimLost) return "lost" as const;
      if (isRefusal(error)) {
        const settled = await settleNotStarted(prisma, this.services.notifier, actor, schedule.id, error, now);
        return settled ? ("not_started" as const) : ("lost" as const);
      }
      // Not a refusal (the database was unreachable, say): the row stays scheduled for the next pass.
      log.warn(
        { action: "scheduled_starts.retry", metadata: { id: schedule.id, error } },
        "A scheduled deployment could not be started; retrying",
      );
      return "retry" as const;
    }
  }
}
