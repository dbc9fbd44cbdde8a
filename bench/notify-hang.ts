/**
 * Does a hanging Slack sink delay a fix? Runs stress scenario S01 (heartbeat pause → restart)
 * `--repeat` times with no notification sink and as often with a Slack sink whose server accepts
 * the connection and never answers (a local fake speaking Slack's incoming-webhook URL shape), in
 * turn (no sink, Slack, no sink, …) so load on the machine falls on both alike. Every run's
 * lifecycle notifications (received, executing, resolved) go to the hanging sink. Prints both MTTR
 * p50/p95 and their ratio. Goal (issue 12): the p95 with the hanging sink within 10 % of the p95
 * without.
 *
 *   npm run build && npm run bench:notify-hang -- [--repeat 5] [--scenario S01]
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadSettings } from '../config/index.js';
import { loadScenarios, percentile, runScenarioOnce, scenariosDir, type RunReport } from '../stress/index.js';

const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const repeat = Math.max(1, Number(argOf('repeat') ?? 5) || 5);
const scenarioId = argOf('scenario') ?? 'S01';

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-bench-notify-'));
  // the fake Slack: reads each request and never answers
  const hung: ServerResponse[] = [];
  let requests = 0;
  const slack = createServer((req, res) => {
    requests++;
    req.resume();
    hung.push(res);
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  const none = join(home, 'notify-none.yaml');
  const hanging = join(home, 'notify-slack-hanging.yaml');
  writeFileSync(none, 'sinks: []\n');
  writeFileSync(hanging, `sinks:\n  - { kind: slack, name: hanging-slack, url: "${url}", timeout: 5s, retries: 5 }\n`);
  const log = pino({ level: 'silent' });
  const base = { ...process.env, NATS_URL: undefined, HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'error' };
  const settingsOf = (notify: string, i: number) => loadSettings({ ...base, HOMEOSTAT_HOME: join(home, `h${i}`), HOMEOSTAT_NOTIFY: notify }, false);
  const scenario = loadScenarios(scenariosDir(settingsOf(none, 0).root)).get(scenarioId);
  if (!scenario) throw new Error(`no scenario ${scenarioId}`);
  const runs: Record<'none' | 'hanging', RunReport[]> = { none: [], hanging: [] };
  try {
    for (let i = 1; i <= repeat; i++) {
      for (const mode of ['none', 'hanging'] as const) {
        const r = await runScenarioOnce(scenario, i, settingsOf(mode === 'none' ? none : hanging, i * 2 + (mode === 'none' ? 0 : 1)), log, () => undefined);
        runs[mode].push(r);
        process.stdout.write(`  ${scenarioId} run ${i} ${mode === 'none' ? 'no sink          ' : 'hanging Slack    '} ${r.passed ? 'passed' : 'FAILED'}  MTTR ${r.mttrMs ?? '—'} ms${r.notes.length ? `  (${r.notes.join('; ')})` : ''}\n`);
      }
    }
  } finally {
    for (const r of hung) r.destroy();
    slack.closeAllConnections();
    await new Promise((r) => slack.close(r));
    rmSync(home, { recursive: true, force: true });
  }
  const mttr = (rs: RunReport[]) => rs.flatMap((r) => (r.mttrMs === null ? [] : [r.mttrMs]));
  const [a, b] = [mttr(runs.none), mttr(runs.hanging)];
  const p95a = percentile(a, 95);
  const p95b = percentile(b, 95);
  const ratio = p95a && p95b ? p95b / p95a : null;
  process.stdout.write(
    `\n${scenarioId} MTTR with no sink:       p50 ${percentile(a, 50)} ms  p95 ${p95a} ms  (${a.length}/${repeat} recovered)\n` +
      `${scenarioId} MTTR with Slack hanging: p50 ${percentile(b, 50)} ms  p95 ${p95b} ms  (${b.length}/${repeat} recovered; the fake Slack got ${requests} requests, answered none)\n` +
      `p95 ratio ${ratio === null ? '—' : ratio.toFixed(3)} (goal ≤ 1.10: ${ratio !== null && ratio <= 1.1 ? 'met' : 'MISSED'})\n`,
  );
  process.exitCode = ratio !== null && ratio <= 1.1 && runs.none.every((r) => r.passed) && runs.hanging.every((r) => r.passed) ? 0 : 1;
}

await main();
