import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { ActionRequestData, BusClient, subjects, type Credentials } from '../bus/index.js';

/**
 * The benchmark's other side, on its own thread: a monitor that publishes events as fast as it
 * can, and a no-op remediator that answers every action at once.
 */
interface WorkerInput {
  monitor: Credentials;
  handler: Credentials;
  durable?: boolean;
}
type Command = { kind: 'storm'; subject: string; target: string; count: number } | { kind: 'incidents'; subject: string; count: number } | { kind: 'stop' };

const input = workerData as WorkerInput;
const log = pino({ level: 'silent' });
const monitor = await BusClient.connect(input.monitor, 'bench-monitor', log);
const outbox = input.durable ? monitor.useDurableEvents() : null;
const handler = await BusClient.connect(input.handler, 'bench-handler', log);
let actions = 0;
handler.subscribe('actions.>', ActionRequestData, (env) => {
  actions++;
  const r = env.data;
  handler.publish(subjects.result(r.actionId), 'action.result', { actionId: r.actionId, action: r.action, status: 'ok', durationMs: 0, result: {} });
});
await handler.flush();

parentPort!.on('message', (cmd: Command) => {
  void (async () => {
    if (cmd.kind === 'stop') {
      await monitor.close();
      await handler.close();
      parentPort!.postMessage({ kind: 'stopped', actions });
      return;
    }
    const started = performance.now();
    for (let i = 0; i < cmd.count; i++) {
      const target = cmd.kind === 'storm' ? cmd.target : `t-${i}`;
      monitor.publish(cmd.subject, 'bench.event', { cpu: 95, seq: i }, { target });
      if (i % 5000 === 4999) await monitor.flush();
    }
    await monitor.flush();
    if (outbox) while (outbox.pending > 0) await new Promise((r) => setTimeout(r, 5));
    parentPort!.postMessage({ kind: 'published', count: cmd.count, ms: performance.now() - started });
  })();
});
parentPort!.postMessage({ kind: 'ready' });
