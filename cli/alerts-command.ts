import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { Settings } from '../config/index.js';
import type { IntakeRecord } from '../web/index.js';
import { CliError } from './errors.js';

/**
 * `homeostat alerts`: the running stack's recent intake (GET /alerts/recent with the intake token),
 * newest first: what came in and the event each became (or that it was a re-send).
 */
export async function alertsCommand(settings: Readonly<Settings>, o: { limit: number; json?: boolean }, out: { write(s: string): unknown } = process.stdout): Promise<void> {
  const info = join(settings.home, 'run', 'intake.json');
  if (!existsSync(info) || !existsSync(settings.intakeTokenFile)) throw new CliError(`no intake at ${info}: start Homeostat first with \`homeostat up\``);
  const { url } = JSON.parse(readFileSync(info, 'utf8')) as { url: string };
  const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
  let res: Response;
  try {
    res = await fetch(`${url}/alerts/recent?limit=${o.limit}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new CliError(`the intake at ${url} did not answer (${(e as Error).message}): is \`homeostat up\` running?`);
  }
  if (!res.ok) throw new CliError(`the intake at ${url} answered ${res.status}`);
  const body = (await res.json()) as { stats: { accepted: number; duplicates: number }; alerts: IntakeRecord[] };
  if (o.json) {
    out.write(JSON.stringify(body, null, 2) + '\n');
    return;
  }
  const t = new Table({ head: ['time', 'origin', 'alert', 'status', 'fingerprint', 'became'], style: { head: [], border: [] } });
  for (const a of [...body.alerts].reverse()) {
    t.push([a.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), a.origin, a.alertname, a.status, a.fingerprint.slice(0, 16), a.duplicate ? `re-send of ${a.eventId.slice(0, 12)} (nothing published)` : `${a.subject} ${a.eventId.slice(0, 12)}`]);
  }
  out.write(`${body.stats.accepted} taken in, ${body.stats.duplicates} re-sends since the intake started\n${t.toString()}\n`);
}
