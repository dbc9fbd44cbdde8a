import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BusClient, ControlReplyData, EnvelopeSchema, type Credentials } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { CliError } from './errors.js';

const CredentialsFile = z.object({ url: z.string(), users: z.record(z.string(), z.string()) });

/** The operator's login: NATS_URL (+ HOMEOSTAT_NATS_USER/PASSWORD) when set, else the running stack's credentials file. */
export function operatorCredentials(settings: Readonly<Settings>): Credentials {
  if (settings.natsUrl) return { url: settings.natsUrl, user: settings.natsUser || undefined, password: settings.natsPassword || undefined };
  const file = join(settings.home, 'run', 'credentials.json');
  if (!existsSync(file)) throw new CliError(`no credentials at ${file}: start Homeostat first with \`homeostat up\` (or set NATS_URL)`);
  const parsed = CredentialsFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new CliError(`${file} is not a Homeostat credentials file`);
  const password = parsed.data.users.operator;
  if (!password) throw new CliError(`${file} has no operator login`);
  return { url: parsed.data.url, user: 'operator', password };
}

/** Who is acting, for the record (`by` in approvals and resets). */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}

/**
 * Sends one control message (approval, budget reset) as the operator and waits for the engine's
 * answer. Exits with a clear message when no engine answers.
 */
export async function sendControl(settings: Readonly<Settings>, log: Logger, subject: string, data: unknown, timeoutMs = 5000): Promise<ControlReplyData> {
  const bus = await BusClient.connect(operatorCredentials(settings), 'homeostat-cli', log).catch((e: unknown) => {
    throw new CliError(`cannot reach the bus: ${(e as Error).message}`);
  });
  try {
    const text = await bus.requestText(subject, subject, data, timeoutMs).catch((e: unknown) => {
      throw new CliError(`no engine answered on ${subject} within ${timeoutMs} ms (${(e as Error).message}): is the run id right and Homeostat running?`);
    });
    const reply = EnvelopeSchema.safeParse(JSON.parse(text));
    const body = ControlReplyData.safeParse(reply.success ? reply.data.data : undefined);
    if (!body.success) throw new CliError(`unexpected answer on ${subject}: ${text.slice(0, 200)}`);
    return body.data;
  } finally {
    await bus.close();
  }
}
