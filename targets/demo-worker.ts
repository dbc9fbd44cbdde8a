/**
 * The demo worker: a small target program. It publishes `heartbeat.<name>` every
 * HOMEOSTAT_HEARTBEAT_MS and answers `GET /health` on PORT. It exits on SIGTERM, and
 * when its parent (the Homeostat that started it) is gone, so it never outlives the stack.
 * It loads only the NATS client and the zod-free envelope factory, so a restart is quick.
 */
import { createServer } from 'node:http';
import { connect, type Msg } from '@nats-io/transport-node';
import { makeEnvelope } from '../bus/envelope-factory.js';
import type { CpuSpikes } from './cpu-spikes.js';

const env = process.env;
const name = env.HOMEOSTAT_TARGET_NAME ?? 'demo-worker';
const intervalMs = Number(env.HOMEOSTAT_HEARTBEAT_MS ?? 100);
const port = Number(env.PORT ?? 0);
const parent = process.ppid;
const logLevel = env.LOG_LEVEL ?? 'info';
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ time: Date.now(), target: name, pid: process.pid, msg, ...extra }) + '\n');

const http = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', name, pid: process.pid }));
  } else {
    res.writeHead(404).end();
  }
});
const [nc] = await Promise.all([
  connect({
    // one URL, or a cluster's node list (comma-separated): any live node will do
    servers: (env.HOMEOSTAT_NATS_URL ?? 'nats://127.0.0.1:4222').split(',').map((u) => u.trim()),
    user: env.HOMEOSTAT_NATS_USER,
    pass: env.HOMEOSTAT_NATS_PASSWORD,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  }),
  new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve)),
]);

const subject = `heartbeat.${name}`;
let seq = 0;
const beat = () =>
  nc.publish(subject, JSON.stringify(makeEnvelope('heartbeat', name, { seq: seq++, intervalMs, pid: process.pid }, { subject, target: name })));
beat();
const beatTimer = setInterval(beat, intervalMs);

// chaos.cpu_spike: the chaos agent asks the worker to burn CPU in busy children of its own tree.
// The checking code (zod) and the spawner load on the first request, so a restart stays quick.
let spikes: CpuSpikes | null = null;
process.on('exit', () => spikes?.stopAll());
async function onCpuSpike(msg: Msg): Promise<void> {
  const [{ TargetCpuSpikeData }, { EnvelopeSchema, describeZodError }, { CpuSpikes }, { default: pino }] = await Promise.all([
    import('../bus/resource-payloads.js'),
    import('../bus/envelope.js'),
    import('./cpu-spikes.js'),
    import('pino'),
  ]);
  const deadletter = (reason: string) =>
    nc.publish('deadletter.target', JSON.stringify(makeEnvelope('deadletter', name, { subject: msg.subject, reason, droppedBy: name, raw: msg.string().slice(0, 4096) }, { subject: 'deadletter.target' })));
  let json: unknown;
  try {
    json = JSON.parse(msg.string());
  } catch (e) {
    return deadletter(`not JSON: ${(e as Error).message}`);
  }
  const env = EnvelopeSchema.safeParse(json);
  const data = TargetCpuSpikeData.safeParse(env.success ? env.data.data : json);
  if (!data.success) return deadletter(`invalid data for ${msg.subject}: ${describeZodError(data.error)}`);
  spikes ??= new CpuSpikes(pino({ level: logLevel }).child({ target: name }));
  const pids = await spikes.start(data.data);
  if (msg.reply) msg.respond(JSON.stringify({ pids }));
}
nc.subscribe(`target.${name}.chaos.cpu_spike`, { callback: (_err, msg) => void onCpuSpike(msg).catch((e: unknown) => log('cpu spike failed', { err: String(e) })) });

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(beatTimer);
  http.close();
  await nc.drain().catch(() => undefined);
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 500).unref();
log('demo worker ready', { port });
