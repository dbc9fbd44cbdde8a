import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { BusClient, EnvelopeSchema, loadAclPolicy, makeEnvelope, startNatsServer, type Envelope, type ManagedNatsServer } from '../bus/index.js';
import { loadSettings, type Settings } from '../config/index.js';

export interface TestContext extends AsyncDisposable {
  dir: string;
  nats: ManagedNatsServer;
  settings: Readonly<Settings>;
  log: Logger;
  /** A bus client logged in as `role` (a role or actor of bus/acl.yaml); closed on dispose. */
  connect(role: string, component?: string): Promise<BusClient>;
  /** Registers something to release on dispose (run in reverse order). */
  defer(fn: () => unknown): void;
}

/**
 * Starts a real nats-server on a free loopback port, with the project's ACL policy and
 * JetStream in a fresh temporary directory. Use with `await using ctx = await setup()`.
 */
export async function setup(): Promise<TestContext> {
  const settings = loadSettings({ ...process.env, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-test-'));
  const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
  const deferred: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true }), () => nats.stop()];
  return {
    dir,
    nats,
    settings,
    log,
    async connect(role, component = role) {
      const c = await BusClient.connect(nats.credentials(role), component, log);
      deferred.push(() => c.close());
      return c;
    },
    defer(fn) {
      deferred.push(fn);
    },
    async [Symbol.asyncDispose]() {
      for (const fn of deferred.reverse()) {
        try {
          await fn();
        } catch {
          /* keep releasing the rest */
        }
      }
    },
  };
}

/**
 * Resolves with the next valid message on `subject` that satisfies `pred`; rejects after `timeoutMs`.
 * Call `await bus.flush()` before publishing from another connection, so the subscription is in place.
 */
export function nextMessage<T = unknown>(
  bus: BusClient,
  subject: string,
  pred: (env: Envelope<T>) => boolean = () => true,
  timeoutMs = 10_000,
  schema: z.ZodType<T> = z.unknown() as z.ZodType<T>,
): Promise<Envelope<T>> {
  return new Promise((resolve, reject) => {
    const sub = bus.nc.subscribe(subject);
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no message on ${subject} within ${timeoutMs} ms`));
    }, timeoutMs);
    void (async () => {
      for await (const msg of sub) {
        let env: Envelope<T> | null = null;
        try {
          const json: unknown = JSON.parse(msg.string());
          const e = EnvelopeSchema.safeParse(json);
          const data = schema.safeParse(e.success ? e.data.data : json);
          if (data.success) env = e.success ? { ...e.data, data: data.data } : makeEnvelope(msg.subject, 'bare', data.data, { subject: msg.subject });
        } catch {
          env = null;
        }
        if (env && pred(env)) {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(env);
          return;
        }
      }
    })();
  });
}

/** Retries `check` until it passes or `timeoutMs` is over (a condition to wait for, not a fixed sleep); rethrows its last failure. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
