import { readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { Duration, loadYamlFile } from '../config/index.js';

/** A stress scenario file: the fault to inject, how detection and recovery are recognised, and the SLOs. */
export const ScenarioSchema = z
  .object({
    id: z.string().regex(/^S\d{2}$/, 'scenario ids look like S01'),
    name: z.string(),
    description: z.string().default(''),
    /** The target the fault is aimed at. */
    target: z.string(),
    /** A targets file for this scenario's fresh stacks (relative to the scenario's folder); default: the stack's targets file. */
    targets: z.string().min(1).optional(),
    inject: z
      .object({
        /** `chaos.<fault>` is published with `data` as a plain JSON body, exactly as `nats pub` would. */
        fault: z.string().regex(/^[a-z_]+$/),
        data: z.record(z.string(), z.unknown()),
        /** Inject only once the resource monitor has a sample with nothing above its threshold. */
        afterCalm: z.boolean().default(false),
      })
      .strict(),
    /**
     * Small real filesystems (tmpfs, root needed) the runner mounts before a fresh stack starts and
     * unmounts after it stopped, so a disk fills for real; the scenario's targets bind them into
     * their containers and declare them as `logDir`. Paths under /tmp/homeostat- only.
     */
    filesystems: z
      .array(
        z
          .object({
            path: z.string().regex(/^\/tmp\/homeostat-[A-Za-z0-9_.-]+$/, 'a folder /tmp/homeostat-<name>'),
            size: z.union([z.number().int().positive(), z.string().regex(/^\d+[km]$/i, 'bytes, or a number with k or m (e.g. 8m)')]).transform((v) =>
              typeof v === 'number' ? v : Number(v.slice(0, -1)) * (v.slice(-1).toLowerCase() === 'k' ? 1024 : 1024 ** 2),
            ),
          })
          .strict(),
      )
      .default([]),
    /** The first matching event (for the target) after injection counts as detection. */
    detect: z.object({ event: z.string() }).strict(),
    /** Steady state that counts as recovered. */
    recover: z
      .object({
        heartbeat: z.boolean().default(true),
        health: z.boolean().default(true),
        /** Recovered also requires the expected playbook's run to resolve (its verify steps held); MTTR is then inject → resolved. */
        runResolved: z.boolean().default(false),
        /**
         * After the run, the target's data services serve clients again (part of the pass): a write to
         * each Redis of its `redis` checks succeeds, and a fresh client of each PostgreSQL of its
         * `postgres` checks connects (as the check's `appRole` when declared) and answers a query.
         */
        serves: z.boolean().default(false),
      })
      .strict()
      .default({ heartbeat: true, health: true, runResolved: false, serves: false }),
    /**
     * The runner answers the run's approval gates as an operator (`approvals.<runId>`, approve) after
     * `after`. The time each gate waited is reported apart (approvalWaitMs) and left out of MTTR.
     * Without it, a run that waits for approval waits until the scenario's timeout.
     */
    approve: z.object({ after: Duration.default(0) }).strict().optional(),
    /** Measure the cut-off: inject → the server closed this actor's connection (seen on nats-server's /connz). */
    cutoff: z.object({ actor: z.string().min(1) }).strict().optional(),
    /** The playbook expected to run. */
    playbook: z.string(),
    /**
     * How its run must end: `resolved` (default) and the target recovered; or `stopped` with a
     * reason containing `reason` and the target never restarted (a fault Homeostat must refuse to "fix").
     */
    outcome: z
      .object({ run: z.enum(['resolved', 'stopped']).default('resolved'), reason: z.string().optional() })
      .strict()
      .default({ run: 'resolved' }),
    slo: z
      .object({
        mttd: Duration,
        mttr: Duration,
        cutoff: Duration.optional(),
        /** p95 goal for MTTR minus the program's cold start (its new process started → its checks pass). */
        overhead: Duration.optional(),
      })
      .strict(),
    /** A run that has not recovered by then fails. */
    timeout: Duration.default(30_000),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;

export function scenariosDir(root: string): string {
  return join(root, 'stress', 'scenarios');
}

/** Loads every scenario file, keyed by id. */
export function loadScenarios(dir: string): Map<string, Scenario> {
  const out = new Map<string, Scenario>();
  for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    const s = loadYamlFile(join(dir, f), ScenarioSchema);
    out.set(s.id, s.targets && !isAbsolute(s.targets) ? { ...s, targets: resolve(dir, s.targets) } : s);
  }
  return out;
}
