import type { BusClient } from './bus-client.js';
import { subjects } from './subjects.js';

/** Publishes `heartbeat.<component>` now and every `intervalMs`; returns a stop function. */
export function startHeartbeat(bus: BusClient, component: string, intervalMs: number, pid = process.pid): () => void {
  let seq = 0;
  const subject = subjects.heartbeat(component);
  const beat = () => bus.publish(subject, 'heartbeat', { seq: seq++, intervalMs, pid }, { target: component });
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}
