import { runCheck, type CheckConfig, type TargetDriver } from '../targets/index.js';

/**
 * Whether a target passes every declared check that can be probed on demand (all but `heartbeat`,
 * which the runner judges from the beats it sees), each attempted once now, in parallel. A target
 * with no such check passes. Probes only read (connect, GET, run the check's argv): scoring code,
 * never a healing path.
 */
export async function checksPass(target: string, checks: readonly CheckConfig[], ctx: { driver?: TargetDriver; port?: number }): Promise<boolean> {
  const probed = checks.filter((c) => c.kind !== 'heartbeat' && (ctx.driver || c.kind !== 'exec') && (c.kind !== 'http' || c.url || ctx.port));
  if (!probed.length) return true;
  const attempts = await Promise.all(probed.map((c) => runCheck(c, { target, driver: ctx.driver!, port: ctx.port, heartbeatAgeMs: () => null })));
  return attempts.every((a) => a.ok);
}
