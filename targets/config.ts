import { z } from 'zod';
import { Duration, loadYamlFile } from '../config/index.js';
import { checkName, CheckSchema, resolveCheckPorts } from './check-kinds.js';

const Name = z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use letters, digits, "_" or "-"');

const Common = {
  name: Name.describe('Unique name of the target (letters, digits, "_" or "-").'),
  /** Health checks run by the health monitor and by the `target.health` probe. */
  checks: z
    .array(CheckSchema)
    .default([])
    .describe('Health checks (heartbeat, http, tcp, exec). A target without checks is still watched for unexpected exits.'),
  /** Fields of the first targets format, refused with what to write instead. */
  health: z
    .never({ error: 'health checks are declared under `checks:`, e.g. checks: [{ kind: http, url: "http://127.0.0.1:8099/" }]' })
    .optional()
    .describe('Not a field: declare health checks under `checks:`.'),
  heartbeat: z
    .never({ error: 'a heartbeat is a check: checks: [{ kind: heartbeat, interval: 100ms, misses: 3 }]' })
    .optional()
    .describe('Not a field: declare a heartbeat under `checks:` (kind: heartbeat).'),
  /** A critical target is never throttled; a protected one is never killed. */
  critical: z.boolean().default(false).describe('Never throttled (reniced) by remediation.'),
  protected: z.boolean().default(false).describe('Never killed by remediation.'),
  /** What an hour of this target being down costs, and how long a person takes to repair it: each incident's downtime cost and the cost avoided. */
  impact: z
    .object({
      costPerMinute: z.number().nonnegative().optional().describe('What one minute of this target being down costs (any currency); no cost when unset.'),
      manualMttr: Duration.optional().describe('How long a manual repair takes (e.g. 30m): an incident healed faster avoided the difference.'),
    })
    .strict()
    .optional()
    .describe('Downtime cost: each incident records its downtime (detection → recovered), what it cost and what it avoided against `manualMttr` (default: none).'),
};

/** Check names are unique per target; an http `path` needs a port to resolve against. */
function checkTargetChecks(t: { builtin?: string; port?: number | 'auto'; checks: z.infer<typeof CheckSchema>[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  t.checks.forEach((c, i) => {
    const name = checkName(c);
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['checks', i, 'name'], message: `duplicate check name "${name}" (give each check of one kind its own name)` });
    seen.add(name);
    if ((c.kind === 'redis' || c.kind === 'postgres') && c.port === undefined && typeof t.port !== 'number')
      ctx.addIssue({ code: 'custom', path: ['checks', i, 'port'], message: `a ${c.kind} check needs a \`port\`, or its target a numeric \`port\`` });
    if (c.kind === 'http' && c.path && !t.builtin && (t.port === 'auto' || t.port === undefined))
      ctx.addIssue({ code: 'custom', path: ['checks', i, 'path'], message: '`path` is resolved against the target\'s `port`: give the target a numeric `port`, or give the check a `url`' });
  });
}

export const ProcessTargetSchema = z
  .object({
    ...Common,
    driver: z.literal('process').describe('A local program Homeostat starts and supervises.'),
    /** A program of Homeostat's own (`demo-worker`), or `command` + `args`. */
    builtin: z.enum(['demo-worker', 'postgres']).optional().describe('A program of Homeostat\'s own; give `builtin` or `command`. `postgres`: a throwaway PostgreSQL cluster (initdb on first start) in the run dir, on the target\'s `port`, with `args` as extra server arguments and the application role of its postgres check.'),
    command: z.string().min(1).optional().describe('The program to run (looked up on PATH), never through a shell.'),
    args: z.array(z.string()).default([]).describe('Its arguments.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables.'),
    cwd: z.string().optional().describe('Working directory.'),
    /** TCP port: the demo worker listens on it (`auto` picks a free one); `path` checks resolve against it. */
    port: z
      .union([z.number().int().min(1).max(65535), z.literal('auto')])
      .default('auto')
      .describe('The target\'s TCP port: the demo worker listens on it (auto: a free one); http checks with `path` resolve against it, and redis/postgres checks without their own `port` connect to it.'),
    /** Grace period between SIGTERM and SIGKILL on stop. */
    stopGrace: Duration.default(2000).describe('Between SIGTERM and SIGKILL on stop (default 2s).'),
  })
  .strict()
  .refine((t) => Boolean(t.builtin) !== Boolean(t.command), {
    message: 'give exactly one of `builtin` or `command`',
    path: ['command'],
  })
  .superRefine(checkTargetChecks)
  .refine((t) => t.builtin !== 'postgres' || typeof t.port === 'number', { message: 'the postgres builtin needs a numeric `port`', path: ['port'] })
  .transform((t) => ({ ...t, checks: resolveCheckPorts(t.checks, t.port) }));

/** The label Homeostat puts on every container it creates (`containers.prune` and the zombie monitor count only these). */
export const HOMEOSTAT_LABEL = 'homeostat.managed';

const Bytes = z
  .union([z.number().int().positive(), z.string().regex(/^\d+[kmg]?$/i, 'bytes, or a number with k, m or g (e.g. 32m)')])
  .transform((v) => (typeof v === 'number' ? v : Number(v.replace(/[kmg]$/i, '')) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[v.slice(-1).toLowerCase()] ?? 1)));

export const DockerTargetSchema = z
  .object({
    ...Common,
    driver: z.literal('docker').describe('A container, driven through the Docker Engine API (dockerode).'),
    container: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a Docker container name').optional().describe('The container\'s name (default: the target\'s name).'),
    socket: z.string().min(1).default('/var/run/docker.sock').describe('The Docker Engine\'s socket.'),
    port: z.number().int().min(1).max(65535).optional().describe('The port the container listens on (host network); http checks with `path` resolve against it, and redis/postgres checks without their own `port` connect to it.'),
    logDir: z.string().regex(/^\//, 'an absolute path').optional().describe('The container\'s log directory on the host (absolute): watched for disk use, and the only place `logs.clean` may truncate files.'),
    retry: Duration.default(2000).describe('How often a container that does not exist (and has no `create`) is looked for again (default 2s).'),
    stopGrace: Duration.default(2000).describe('Between SIGTERM and SIGKILL on stop (default 2s; Docker counts whole seconds).'),
    create: z
      .object({
        image: z.string().min(1).describe('The image, e.g. homeostat/busybox:1.'),
        command: z.array(z.string()).default([]).describe('The command (argv, never a shell string); default the image\'s.'),
        env: z.record(z.string(), z.string()).default({}).describe('Environment variables.'),
        memory: Bytes.optional().describe('Memory limit (bytes, or 32m / 1g).'),
        cpus: z.number().positive().optional().describe('CPU limit (NanoCpus, as `docker run --cpus`).'),
        binds: z.array(z.string().regex(/^\/[^:]*:\/[^:]*(:ro|:rw)?$/, 'host-path:container-path[:ro]')).default([]).describe('Bind mounts, host-path:container-path[:ro].'),
      })
      .strict()
      .optional()
      .describe('Create the container (network host, Homeostat\'s label) when it does not exist; Homeostat removes it when the stack stops. Without it the container must exist.'),
  })
  .strict()
  .superRefine(checkTargetChecks)
  .transform((t) => ({ ...t, checks: resolveCheckPorts(t.checks, t.port) }));

/** One entry of `targets:`; the branch is chosen by `driver:` (one per driver of `drivers.ts`). */
export const TargetSchema = z.discriminatedUnion('driver', [ProcessTargetSchema, DockerTargetSchema]);

export const TargetsFileSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of targets/schema.json, for editors.'),
    targets: z.array(TargetSchema).min(1).describe('What Homeostat looks after.'),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.targets.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
      seen.add(t.name);
    });
  });

export type TargetConfig = z.infer<typeof TargetSchema>;
export type ProcessTargetConfig = z.infer<typeof ProcessTargetSchema>;
export type DockerTargetConfig = z.infer<typeof DockerTargetSchema>;

/** Loads `targets.yaml`; an unknown or missing field is refused with file, line and field. */
export function loadTargets(file: string): TargetConfig[] {
  return loadYamlFile(file, TargetsFileSchema).targets;
}

/**
 * The JSON Schema of `targets.yaml`, generated from the zod schema (input side: durations may be
 * written "10s" or in ms). Committed as `targets/schema.json` for editors.
 */
export function targetsJsonSchemaText(): string {
  const schema = z.toJSONSchema(TargetsFileSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Homeostat targets.yaml' }, null, 2)}\n`;
}
