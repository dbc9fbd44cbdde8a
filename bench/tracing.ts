import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs, promisify } from 'node:util';

/**
 * Tracing overhead: `npm run bench:tracing [-- --rounds N --storm N --incidents N]`. Runs
 * bench:engine (durable bus) alternately with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT), on
 * (exporting OTLP/HTTP to a local receiver that answers 200) and on towards an unreachable endpoint
 * (spans dropped and counted), and prints each mode's median ingest and runs/s against tracing off.
 * Two "off" series are run so the noise between identical runs is printed next to the differences.
 */
const run = promisify(execFile);
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, storm: { type: 'string', default: '20000' }, incidents: { type: 'string', default: '500' } } });
const ROUNDS = Number(values.rounds);

let received = 0;
const receiver = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    received++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
const addr = receiver.address();
const endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
// a port nothing listens on: the exporter's connections are refused
const unreachable = 'http://127.0.0.1:9';

type Mode = 'off' | 'off (again)' | 'on' | 'on, endpoint unreachable';
const MODES: Record<Mode, string | undefined> = { off: undefined, 'off (again)': undefined, on: endpoint, 'on, endpoint unreachable': unreachable };
const figures = new Map<Mode, { ingest: number[]; runs: number[]; spans: string[] }>();

async function once(mode: Mode): Promise<void> {
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: MODES[mode] ?? '' };
  const { stdout } = await run(process.execPath, [new URL('./engine.js', import.meta.url).pathname, '--durable', '--storm', values.storm, '--incidents', values.incidents], { env, maxBuffer: 1 << 24 });
  const ingest = Number(/= ([\d,]+) events\/s/.exec(stdout)?.[1]?.replace(/,/g, ''));
  const runs = Number(/= ([\d,]+) runs\/s/.exec(stdout)?.[1]?.replace(/,/g, ''));
  const f = figures.get(mode) ?? { ingest: [], runs: [], spans: [] };
  f.ingest.push(ingest);
  f.runs.push(runs);
  const spans = /tracing: (.*)/.exec(stdout)?.[1];
  if (spans) f.spans.push(spans);
  figures.set(mode, f);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number, base: number) => `${x >= base ? '+' : ''}${(((x - base) / base) * 100).toFixed(1)} %`;

process.stdout.write(`Tracing overhead on bench:engine --durable (storm ${values.storm}, incidents ${values.incidents}), ${ROUNDS} rounds, modes interleaved\n`);
for (let i = 0; i < ROUNDS; i++) for (const mode of Object.keys(MODES) as Mode[]) await once(mode);
const base = figures.get('off')!;
for (const [mode, f] of figures) {
  const ing = median(f.ingest);
  const rps = median(f.runs);
  process.stdout.write(
    `${mode.padEnd(26)} ingest ${Math.round(ing).toLocaleString('en-US')} events/s (${pct(ing, median(base.ingest))})  runs ${Math.round(rps).toLocaleString('en-US')}/s (${pct(rps, median(base.runs))})` +
      (f.spans.length ? `  [${f.spans.at(-1)}]` : '') + '\n',
  );
}
process.stdout.write(`OTLP requests received by the local receiver: ${received}\n`);
receiver.close();
