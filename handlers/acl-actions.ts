import { z } from 'zod';
import { Duration } from '../config/index.js';
import { declareAction, defineAction } from './action.js';
import { PROTECTED_ROLES, type Blacklist } from './blacklist.js';
import type { ViolationLedger } from './violation-ledger.js';

/** `actor`, or the run's target (the engine passes the event's target, which is the actor). */
export const ActorParams = z
  .object({ actor: z.string().min(1).optional(), target: z.string().min(1).optional() })
  .refine((p) => p.actor ?? p.target, { message: 'give `actor` (or a target)', path: ['actor'] });
export const actorOf = (p: { actor?: string; target?: string }): string => (p.actor ?? p.target)!;

/** `acl.assess`'s declaration (see the action registry). */
export const aclAssessSpec = declareAction({
  name: 'acl.assess',
  description: "Assess an actor's ACL violations: count, subjects, kind, and whether a blacklist is allowed.",
  params: ActorParams,
  returns: '`{ actor, role, count, publish, subscribe, subjects: [{ subject, count }], firstAt, lastAt, blacklisted, blacklistable, refusal }` from the violations seen so far; `actor` defaults to the run\'s target',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `acl.quiet`'s declaration. */
export const aclQuietSpec = declareAction({
  name: 'acl.quiet',
  description: 'Probe: no violation from the actor for `quietFor` (default 3s).',
  params: z
    .object({ actor: z.string().min(1).optional(), target: z.string().min(1).optional(), quietFor: Duration.default(3000) })
    .refine((p) => p.actor ?? p.target, { message: 'give `actor` (or a target)', path: ['actor'] }),
  returns: '`{ actor, quiet, lastViolationAgoMs, quietForMs }`: quiet when no violation from the actor for `quietFor`',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `acl.assess`: what is known of an actor's violations, and whether it may be blacklisted. */
export function aclAssess(ledger: ViolationLedger, blacklist: Blacklist | null) {
  return defineAction({
    ...aclAssessSpec,
    async run(p) {
      const actor = actorOf(p);
      const v = ledger.get(actor);
      let blacklistable = true;
      let refusal: string | null = null;
      try {
        if (!blacklist) throw new Error('no managed nats-server to blacklist on');
        blacklist.check(actor);
      } catch (e) {
        blacklistable = false;
        refusal = (e as Error).message;
      }
      const subjects = v ? [...v.subjects.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([subject, count]) => ({ subject, count })) : [];
      return {
        result: {
          actor,
          role: PROTECTED_ROLES.includes(actor),
          count: v?.count ?? 0,
          publish: v?.publish ?? 0,
          subscribe: v?.subscribe ?? 0,
          subjects,
          firstAt: v?.firstAt ?? null,
          lastAt: v?.lastAt ?? null,
          blacklisted: blacklist?.blocked().has(actor) ?? false,
          blacklistable,
          refusal,
        },
      };
    },
  });
}

/** `acl.quiet` (a probe): has the actor been free of violations for `quietFor`? */
export function aclQuiet(ledger: ViolationLedger) {
  return defineAction({
    ...aclQuietSpec,
    async run(p) {
      const actor = actorOf(p);
      const last = ledger.get(actor)?.lastSeenMs;
      const agoMs = last === undefined ? null : Date.now() - last;
      return { result: { actor, quiet: agoMs === null || agoMs >= p.quietFor, lastViolationAgoMs: agoMs, quietForMs: p.quietFor } };
    },
  });
}
