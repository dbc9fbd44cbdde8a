import { z } from 'zod';
import { newId, subjects, type BusClient } from '../bus/index.js';
import { Duration } from '../config/index.js';
import { ActorParams, actorOf } from './acl-actions.js';
import { defineAction } from './action.js';
import { DEFAULT_BLACKLIST_TTL_MS, type Blacklist } from './blacklist.js';

/** `bus.blacklist`: cut an actor off the bus for `ttl`, and confirm the server closed its connections. */
export function busBlacklist(blacklist: Blacklist) {
  return defineAction({
    name: 'bus.blacklist',
    description: 'Remove an actor from the generated nats-server config for `ttl`, reload, and confirm its connections were closed.',
    params: z
      .object({
        actor: z.string().min(1).optional(),
        target: z.string().min(1).optional(),
        ttl: Duration.default(DEFAULT_BLACKLIST_TTL_MS),
        reason: z.string().default(''),
      })
      .refine((p) => p.actor ?? p.target, { message: 'give `actor` (or a target)', path: ['actor'] }),
    async run(p, ctx) {
      const out = await blacklist.add(actorOf(p), { ttlMs: p.ttl, reason: p.reason, runId: ctx.runId });
      return {
        result: {
          actor: out.entry.actor,
          expiresAt: out.entry.expiresAt,
          ttlMs: out.entry.ttlMs,
          closedConnections: out.closed,
          cutMs: out.cutMs,
          alreadyBlacklisted: out.alreadyBlacklisted,
        },
      };
    },
  });
}

/** `bus.unblacklist`: restore an actor before its TTL expires. */
export function busUnblacklist(blacklist: Blacklist) {
  return defineAction({
    name: 'bus.unblacklist',
    description: 'Restore a blacklisted actor now and reload the server.',
    params: ActorParams,
    async run(p) {
      const actor = actorOf(p);
      return { result: { actor, lifted: await blacklist.lift(actor) } };
    },
  });
}

/** `bus.ping` (a probe): a request/reply round trip through nats-server. */
export function busPing(bus: BusClient) {
  return defineAction({
    name: 'bus.ping',
    description: 'Probe: a request/reply round trip through the bus.',
    params: z.object({ target: z.string().optional(), timeout: Duration.default(1000) }).strict(),
    async run(p) {
      const subject = subjects.ping(newId());
      const started = performance.now();
      const sub = bus.nc.subscribe(subject, { max: 1, callback: (_e, m) => void m.respond(m.data) });
      try {
        const reply = await bus.nc.request(subject, 'ping', { timeout: p.timeout });
        const rttMs = Math.round((performance.now() - started) * 100) / 100;
        return { result: { ok: reply.string() === 'ping', rttMs } };
      } catch (e) {
        return { result: { ok: false, rttMs: null, error: (e as Error).message } };
      } finally {
        sub.unsubscribe();
      }
    },
  });
}
