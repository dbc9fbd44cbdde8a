import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ChaosAclSpamData } from '../bus/index.js';

/** How one flood ended, published as `events.chaos.acl_spam_ended`. */
export interface AclSpamOutcome {
  actor: string;
  subject: string;
  /** Publishes handed to the connection. */
  sent: number;
  durationMs: number;
  /** True when the server closed the connection before the flood was over. */
  cutOff: boolean;
  reason: string;
}

interface Flood {
  nc: NatsConnection;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
}

/**
 * `chaos.acl_spam`: logs in as a named actor of the ACL policy (never as a Homeostat role:
 * the chaos agent is only handed the actors' logins) and publishes `rate` messages per second
 * on a subject the actor may not publish to, for `seconds` or until the server cuts it off.
 */
export class AclSpamFault {
  readonly #floods = new Set<Flood>();

  constructor(
    private readonly url: string,
    private readonly actors: Readonly<Record<string, string>>,
    private readonly log: Logger,
    private readonly onEnded: (outcome: AclSpamOutcome) => void,
  ) {}

  /** Connects as the actor and starts the flood; resolves once connected. */
  async start(d: ChaosAclSpamData): Promise<Record<string, unknown>> {
    const password = this.actors[d.actor];
    if (password === undefined) {
      throw new Error(`"${d.actor}" is not an actor the chaos agent holds a login for (${Object.keys(this.actors).join(', ') || 'none'})`);
    }
    const nc = await connect({ servers: this.url, user: d.actor, pass: password, name: `chaos-${d.actor}`, reconnect: false });
    const flood: Flood = { nc, timer: null, stopped: false };
    this.#floods.add(flood);
    const started = performance.now();
    let sent = 0;
    let closedBy: string | null = null;
    const payload = new TextEncoder().encode(JSON.stringify({ chaos: 'acl_spam', actor: d.actor }));
    const finish = (reason: string, cutOff: boolean) => {
      if (flood.stopped) return;
      flood.stopped = true;
      if (flood.timer) clearInterval(flood.timer);
      this.#floods.delete(flood);
      const outcome: AclSpamOutcome = { actor: d.actor, subject: d.subject, sent, durationMs: Math.round(performance.now() - started), cutOff, reason };
      this.log.warn(outcome, 'acl spam over');
      if (!nc.isClosed()) void nc.close().catch(() => undefined);
      this.onEnded(outcome);
    };
    void nc.closed().then((err) => {
      closedBy = err?.message ?? 'connection closed';
      finish(`server closed the connection: ${closedBy}`, true);
    });
    flood.timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((d.rate * Math.min(elapsed, d.seconds * 1000)) / 1000), Math.ceil(d.rate * d.seconds));
      try {
        while (sent < due && !nc.isClosed()) {
          nc.publish(d.subject, payload);
          sent++;
        }
      } catch {
        // the connection is going away; `closed()` reports why
      }
      if (elapsed >= d.seconds * 1000) finish('flood complete', false);
    }, 5);
    return { actor: d.actor, rate: d.rate, seconds: d.seconds, subject: d.subject };
  }

  async stop(): Promise<void> {
    for (const f of this.#floods) {
      f.stopped = true;
      if (f.timer) clearInterval(f.timer);
      await f.nc.close().catch(() => undefined);
    }
    this.#floods.clear();
  }
}
