import { z } from 'zod';
import { defineCheckKind, pollFields, pollPlan } from './check-kind.js';

/** Output kept from an exec check, per stream. */
export const EXEC_CHECK_MAX_OUTPUT = 4096;

const Argv = z
  .array(z.string().min(1), {
    error: (iss) => (typeof iss.input === 'string' ? 'argv array, never a shell string: write argv: ["redis-cli", "ping"]' : 'argv must be a list of strings'),
  })
  .min(1, 'argv needs at least the program')
  .describe('The program and its arguments, run through the target\'s driver without a shell.');

/** `exec`: runs `argv` through the target's driver (no shell); passes on exit 0 within the timeout. */
export const execCheck = defineCheckKind({
  kind: 'exec',
  schema: z
    .object({
      kind: z.literal('exec'),
      ...pollFields(2000),
      argv: Argv,
    })
    .strict(),
  plan: pollPlan,
  async probe(c, ctx) {
    const r = await ctx.driver.exec(c.argv, { timeoutMs: ctx.timeoutMs, maxOutputBytes: EXEC_CHECK_MAX_OUTPUT });
    if (r.error) return { ok: false, reason: `cannot run ${c.argv[0]}: ${r.error}` };
    if (r.timedOut) return { ok: false, reason: `timed out after ${ctx.timeoutMs} ms` };
    if (r.exitCode === 0) return { ok: true, reason: 'exit 0' };
    const said = (r.stderr || r.stdout).trim().slice(0, 200);
    return { ok: false, reason: `exit ${r.exitCode}${said ? `: ${said}` : ''}` };
  },
});
