/**
 * A small but real OpenID Connect provider for tests: discovery, an authorization endpoint that signs
 * in whoever `signInAs` names, a token endpoint that checks the client's credentials, the code and
 * its PKCE verifier, and RS256 ID tokens verifiable through its JWKS. What it does not do (consent,
 * refresh tokens, sessions) the panel does not use.
 */
import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface OidcUser {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

interface PendingCode {
  user: OidcUser;
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export class OidcIssuer {
  readonly clientId = "greenlight-test";
  readonly clientSecret = randomBytes(16).toString("hex");
  /** Token requests that were refused, with why (a test can assert none were). */
  readonly refusals: string[] = [];
  private user: OidcUser | null = null;
  private readonly codes = new Map<string, PendingCode>();
  private readonly keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  private readonly kid = randomBytes(4).toString("hex");
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private issuerUrl = "";

  get url(): string {
    return this.issuerUrl;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.issuerUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Who the next visit to the authorization endpoint signs in. */
  signInAs(user: OidcUser): void {
    this.user = user;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.issuerUrl);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/openid-configuration") {
      return json(200, {
        issuer: this.issuerUrl,
        authorization_endpoint: `${this.issuerUrl}/authorize`,
        token_endpoint: `${this.issuerUrl}/token`,
        userinfo_endpoint: `${this.issuerUrl}/userinfo`,
        jwks_uri: `${this.issuerUrl}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        code_challenge_methods_supported: ["S256"],
      });
    }
    if (url.pathname === "/jwks") {
      return json(200, {
        keys: [{ ...this.keys.publicKey.export({ format: "jwk" }), kid: this.kid, alg: "RS256", use: "sig" }],
      });
    }
    if (url.pathname === "/authorize") {
      const q = url.searchParams;
      if (
        !this.user ||
        q.get("client_id") !== this.clientId ||
        q.get("response_type") !== "code" ||
        !q.get("redirect_uri")
      )
        return json(400, { error: "invalid_request" });
      const code = randomBytes(16).toString("hex");
      this.codes.set(code, {
        user: this.user,
        clientId: this.clientId,
        redirectUri: q.get("redirect_uri")!,
        codeChallenge: q.get("code_challenge"),
        nonce: q.get("nonce"),
      });
      const back = new URL(q.get("redirect_uri")!);
      back.searchParams.set("code", code);
      if (q.get("state")) back.searchParams.set("state", q.get("state")!);
      res.writeHead(302, { location: back.toString() });
      return void res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += String(chunk);
      const form = new URLSearchParams(body);
      const refuse = (why: string) => {
        this.refusals.push(why);
        json(400, { error: "invalid_grant", error_description: why });
      };
      const [id, secret] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64")
        .toString()
        .split(":")
        .map(decodeURIComponent);
      const clientId = id || form.get("client_id");
      const clientSecret = secret ?? form.get("client_secret");
      if (clientId !== this.clientId || clientSecret !== this.clientSecret)
        return refuse("client authentication failed");
      const pending = this.codes.get(form.get("code") ?? "");
      this.codes.delete(form.get("code") ?? "");
      if (!pending) return refuse("unknown or used code");
      if (form.get("redirect_uri") !== pending.redirectUri)
        return refuse("redirect_uri differs from the authorization request");
      if (pending.codeChallenge) {
        const verifier = form.get("code_verifier") ?? "";
        if (base64url(createHash("sha256").update(verifier).digest()) !== pending.codeChallenge)
          return refuse("PKCE verifier does not match");
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: this.issuerUrl,
        aud: this.clientId,
        sub: pending.user.sub,
        email: pending.user.email,
        name: pending.user.name,
        groups: pending.user.groups,
        iat: now,
        exp: now + 300,
        ...(pending.nonce ? { nonce: pending.nonce } : {}),
      };
      return json(200, {
        access_token: randomBytes(16).toString("hex"),
        token_type: "Bearer",
        expires_in: 300,
        id_token: this.sign(claims),
      });
    }
    if (url.pathname === "/userinfo") {
      return this.user
        ? json(200, { sub: this.user.sub, email: this.user.email, name: this.user.name, groups: this.user.groups })
        : json(401, { error: "invalid_token" });
    }
    json(404, { error: "not_found" });
  }

  private sign(claims: Record<string, unknown>): string {
    const input = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: this.kid }))}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${base64url(createSign("RSA-SHA256").update(input).sign(this.keys.privateKey))}`;
  }
}
