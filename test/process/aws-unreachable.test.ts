/**
 * An ECS environment whose AWS cannot be reached (issue 10, Low 9): the panel runs as a real process
 * with AWS_ENDPOINT_URL on a local port nobody listens on (and dummy credentials, so nothing looks
 * for real ones), and the scaling view answers 502 naming the AWS error, to every role, instead of a
 * 500. No request leaves 127.0.0.1.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInOverHttp } from "../helpers/http-auth.ts";
import { spawnPanel, type PanelProcess } from "../helpers/process.ts";
import { panelClient, refusal } from "../helpers/panel-client.ts";

/** A port that was free a moment ago and is closed now: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const CONFIG = {
  region: "eu-west-1",
  cluster: "shop",
  services: { blue: "checkout-blue", green: "checkout-green" },
  listenerArn:
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
  targetGroups: {
    blue: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067",
    green: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-green/73e2d6bc24d8a068",
  },
  containerName: "app",
  smokeTestBaseUrls: { blue: "https://blue.checkout.test", green: "https://green.checkout.test" },
  retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, connectionTimeoutMs: 500 },
};

describe("targets.scaling when AWS cannot be reached", () => {
  let panel: PanelProcess;
  let url: string;
  let dataDir: string;
  let port: number;
  const cookies: Record<string, string> = {};
  let environmentId: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "greenlight-aws-"));
    port = await closedPort();
    panel = spawnPanel({
      DATA_DIR: dataDir,
      SERVE_UI: "false",
      PORT: "0",
      HOST: "127.0.0.1",
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      AWS_EC2_METADATA_DISABLED: "true",
    });
    url = (await panel.waitForUrl()).replace("localhost", "127.0.0.1");
    await panel.waitForOutput(/viewer@greenlight\.local\s+\S+/);
    for (const role of ["admin", "viewer", "release-manager"]) {
      const password = new RegExp(`${role}@greenlight\\.local\\s+(\\S+)`).exec(panel.stdout())![1]!;
      cookies[role] = (await signInOverHttp(url, `${role}@greenlight.local`, password))!;
    }
    const service = await panelClient(url, cookies["release-manager"]).services.create.mutate({
      name: "Checkout",
      environments: ["production"],
    });
    const detail = await panelClient(url, cookies.viewer).services.get.query({ id: service.id });
    environmentId = detail.environments[0]!.id;
    await panelClient(url, cookies.admin).targets.configure.mutate({ environmentId, config: CONFIG });
  }, 120_000);

  afterAll(async () => {
    await panel?.kill();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers 502 naming the AWS error, to every role, and the panel keeps serving", async () => {
    for (const role of ["viewer", "admin"]) {
      const scaling = await refusal(panelClient(url, cookies[role]).targets.scaling.query({ environmentId }));
      expect(scaling.status, role).toBe(502);
      expect(scaling.message).toBe(
        `AWS could not be reached for application-autoscaling:DescribeScalableTargets at 127.0.0.1:${port} (2 attempts): ECONNREFUSED`,
      );
      expect(scaling.code).toBe("BAD_GATEWAY");
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});
