import { z } from 'zod';
import type { BusClient } from '../bus/index.js';
import { Duration } from '../config/index.js';
import { ActorParams, actorOf } from './acl-actions.js';
import { declareAction, defineAction } from './action.js';
import { DEFAULT_BLACKLIST_TTL_MS, type Blacklist } from './blacklist.js';

/** `bus.blacklist`'s declaration (see the action registry). Medium, not high: S02's playbook runs it without approval. */
export const busBlacklistSpec = declareAction({
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
  returns: '`{ actor, expiresAt, ttlMs, closedConnections, cutMs, alreadyBlacklisted }`; refused for a Homeostat role; served only with a managed nats-server',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

/** `bus.unblacklist`'s declaration. */
export const busUnblacklistSpec = declareAction({
  name: 'bus.unblacklist',
  description: 'Restore a blacklisted actor now and reload the server.',
  params: ActorParams,
  returns: '`{ actor, lifted }`; served only with a managed nats-server',
  risk: 'low',
  idempotent: true,
  probe: false,
});

/** `bus.ping`'s declaration. */
export const busPingSpec = declareAction({
  name: 'bus.ping',
  description: 'Probe: a request/reply round trip through the bus.',
  params: z.object({ target: z.string().optional(), timeout: Duration.default(1000) }).strict(),
  returns: '`{ ok, rttMs }`: a request/reply round trip through nats-server',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `bus.blacklist`: cut an actor off the bus for `ttl`, and confirm the server closed its connections. */
export function busBlacklist(blacklist: Blacklist) {
  return defineAction({
    ...busBlacklistSpec,
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
    ...busUnblacklistSpec,
    async run(p) {
      const actor = actorOf(p);
      return { result: { actor, lifted: await blacklist.lift(actor) } };
    },
  });
}

/** `bus.ping` (a probe): a request/reply round trip through nats-server. */
export function busPing(bus: BusClient) {
  return defineAction({
    ...busPingSpec,
    async run(p) {
      return { result: await bus.roundTrip(p.timeout) };
    },
  });
}
