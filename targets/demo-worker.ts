/**
 * The demo worker: a small target program. It publishes `heartbeat.<name>` every
 * HOMEOSTAT_HEARTBEAT_MS and answers `GET /health` on PORT. It exits on SIGTERM, and
 * when its parent (the Homeostat that started it) is gone, so it never outlives the stack.
 */
import { createServer } from 'node:http';
import pino from 'pino';
import { BusClient } from '../bus/bus-client.js';
import { startHeartbeat } from '../bus/heartbeat.js';
import { TargetCpuSpikeData } from '../bus/resource-payloads.js';
import { subjects } from '../bus/subjects.js';
import { CpuSpikes } from './cpu-spikes.js';

const env = process.env;
const name = env.HOMEOSTAT_TARGET_NAME ?? 'demo-worker';
const intervalMs = Number(env.HOMEOSTAT_HEARTBEAT_MS ?? 100);
const port = Number(env.PORT ?? 0);
const log = pino({ level: env.LOG_LEVEL ?? 'info' }).child({ target: name });
const parent = process.ppid;

const http = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', name, pid: process.pid }));
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));

const bus = await BusClient.connect(
  { url: env.HOMEOSTAT_NATS_URL ?? 'nats://127.0.0.1:4222', user: env.HOMEOSTAT_NATS_USER, password: env.HOMEOSTAT_NATS_PASSWORD },
  name,
  log,
);
const stopBeat = startHeartbeat(bus, name, intervalMs);

// chaos.cpu_spike: the chaos agent asks the worker to burn CPU in busy children of its own tree.
const spikes = new CpuSpikes(log);
process.on('exit', () => spikes.stopAll());
bus.subscribe(subjects.targetChaos(name, 'cpu_spike'), TargetCpuSpikeData, async (env, msg) => {
  const pids = await spikes.start(env.data);
  if (msg.reply) msg.respond(JSON.stringify({ pids }));
});
await bus.flush();

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  stopBeat();
  http.close();
  await bus.close().catch(() => undefined);
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 500).unref();
log.info({ port, pid: process.pid }, 'demo worker ready');
