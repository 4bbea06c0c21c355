/**
 * CloudWatch alarms as gates: an environment may list alarm names (metric or composite alarms, of
 * whatever the team watches: queue depth, downstream errors, business KPIs). While a step or the
 * validation window is judged, any of them in ALARM is a signal that fails the step, naming the
 * alarm. An alarm name that does not exist is an error, never a pass.
 */
import { DescribeAlarmsCommand, type CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { TargetSignal } from "../driver.ts";
import { MissingResource } from "./clients.ts";

export interface AlarmState {
  name: string;
  state: string;
  since: Date | undefined;
  reason: string | undefined;
}

/** The listed alarms' states (one DescribeAlarms per 100 names, every page). */
export async function describeAlarms(cloudwatch: CloudWatchClient, names: readonly string[]): Promise<AlarmState[]> {
  const states: AlarmState[] = [];
  for (let i = 0; i < names.length; i += 100) {
    let nextToken: string | undefined;
    do {
      const out = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(i, i + 100),
          AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
          NextToken: nextToken,
        }),
      );
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        if (a.AlarmName)
          states.push({
            name: a.AlarmName,
            state: a.StateValue ?? "INSUFFICIENT_DATA",
            since: a.StateUpdatedTimestamp,
            reason: a.StateReason,
          });
      }
      nextToken = out.NextToken;
    } while (nextToken);
  }
  return states;
}

/** One signal per listed alarm in ALARM; an error naming the listed alarms CloudWatch does not know. */
export function alarmSignals(names: readonly string[], states: readonly AlarmState[], where: string): TargetSignal[] {
  const missing = names.filter((name) => !states.some((s) => s.name === name));
  if (missing.length > 0) {
    throw new MissingResource(
      `alarm${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "do" : "does"} not exist (${where}; see the alarm names)`,
    );
  }
  return states
    .filter((s) => s.state === "ALARM" && names.includes(s.name))
    .map((s) => ({
      kind: "alarm" as const,
      detail: `alarm ${s.name} is in ALARM${s.since ? ` since ${s.since.toISOString().slice(11, 19)} UTC` : ""}${s.reason ? `: ${s.reason}` : ""}`,
    }));
}
