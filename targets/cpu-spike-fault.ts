import { subjects, TargetCpuSpikeReply, type BusClient, type ChaosCpuSpikeData } from '../bus/index.js';

/**
 * The chaos agent's side of `chaos.cpu_spike`. The agent never starts processes in a target or
 * uses a target driver: it asks the target itself, on `target.<name>.chaos.cpu_spike`, to start
 * busy children inside its own process tree, and waits for the target's answer (their pids).
 */
export async function requestCpuSpike(bus: BusClient, d: ChaosCpuSpikeData, timeoutMs = 3000): Promise<Record<string, unknown>> {
  const subject = subjects.targetChaos(d.target, 'cpu_spike');
  let reply: string;
  try {
    reply = await bus.requestText(subject, 'chaos.cpu_spike', { workers: d.workers, seconds: d.seconds }, timeoutMs, { target: d.target });
  } catch (e) {
    throw new Error(`target "${d.target}" did not take the cpu spike within ${timeoutMs} ms: ${(e as Error).message}`, { cause: e });
  }
  const parsed = TargetCpuSpikeReply.safeParse(JSON.parse(reply));
  if (!parsed.success) throw new Error(`target "${d.target}" answered the cpu spike with an invalid reply`);
  return { target: d.target, workers: d.workers, seconds: d.seconds, pids: parsed.data.pids };
}
