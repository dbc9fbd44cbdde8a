/**
 * The load generator of `bench:intake` (a separate process): POSTs Alertmanager webhook bodies of one
 * alert each at `rate` per second for `warmup` + `seconds`, re-sending every `dupEvery`-th alert once
 * more, and prints a JSON summary: statuses, accept latencies (those of requests sent in the first
 * `warmup` seconds apart: the server's code is still being compiled then), and the event id of every
 * alert accepted.
 *
 *   node dist/bench/intake-load-client.js URL TOKEN RATE SECONDS DUP_EVERY [WARMUP_SECONDS]
 */
import { Agent, request } from 'node:http';

const [url, token, rateS, secondsS, dupS, warmupS] = process.argv.slice(2);
const rate = Number(rateS ?? 1000);
const seconds = Number(secondsS ?? 10);
const dupEvery = Number(dupS ?? 10);
const warmupMs = Number(warmupS ?? 0) * 1000;

function body(i: number): string {
  return JSON.stringify({
    version: '4', status: 'firing', receiver: 'homeostat', groupKey: `bench-${i}`, truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '',
    alerts: [{ status: 'firing', labels: { alertname: 'BenchAlert', severity: 'critical', instance: `bench-${i}` }, annotations: {}, startsAt: '2026-12-02T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `bench-${i}` }],
  });
}

const latencies: number[] = [];
const warmupLatencies: number[] = [];
/** [sent at (ms since start), latency] of every answered request, for the per-second view. */
const timeline: [number, number][] = [];
const statuses: Record<string, number> = {};
const accepted = new Set<string>();
let duplicatesAnswered = 0;
let errors = 0;

// node:http with keep-alive: lighter than fetch, so the generator leaves the shared cores to the server.
// Up to 256 connections: a pool of 64 queued alerts in this process whenever the server took over
// 64 ms a request at 1,000/s, and that queue, not the server, became most of the latency measured
// (p95 ~1 s with server-side p95 ~30 ms); no cap at all opens thousands of connections in the first
// busy second, overflows the listen backlog (511) and measures TCP's 1 s and 3 s SYN retries.
const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
function postRaw(b: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/alerts/alertmanager`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(b);
  });
}

async function post(i: number): Promise<void> {
  const b = body(i);
  const t0 = performance.now();
  try {
    const res = await postRaw(b);
    const l = performance.now() - t0;
    (t0 - start < warmupMs ? warmupLatencies : latencies).push(l);
    timeline.push([t0 - start, l]);
    const j = JSON.parse(res.text) as { duplicates?: number; events?: { eventId: string; duplicate: boolean }[] };
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    for (const e of j.events ?? []) accepted.add(e.eventId);
    duplicatesAnswered += j.duplicates ?? 0;
  } catch {
    errors++;
  }
}

const inflight: Promise<void>[] = [];
const t0 = performance.now();
const start = t0;
const total = Math.round(rate * (seconds + warmupMs / 1000));
let sent = 0;
let next = 0;
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
  for (; next < due; next++) {
    inflight.push(post(next));
    sent++;
    if (next % dupEvery === 0 && next > 0) inflight.push(post(next - dupEvery));
  }
  await new Promise((r) => setTimeout(r, 2));
}
const elapsed = (performance.now() - t0) / 1000;
await Promise.all(inflight);
latencies.sort((a, b) => a - b);
warmupLatencies.sort((a, b) => a - b);
/** p95 of the requests sent in each second: a backlog grows second by second, a stall shows in one. */
function perSecondP95(): number[] {
  const by: number[][] = [];
  for (const [at, l] of timeline) (by[Math.floor(at / 1000)] ??= []).push(l);
  return [...by].map((xs) => (xs ? [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]! : NaN));
}
const q = (p: number, xs = latencies) => xs[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)] ?? NaN;
process.stdout.write(
  JSON.stringify({ unique: total, requests: latencies.length + warmupLatencies.length + errors, elapsedS: elapsed, statuses, errors, duplicatesAnswered, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: latencies.at(-1), warmup: { requests: warmupLatencies.length, p95: q(0.95, warmupLatencies) }, perSecondP95: perSecondP95(), accepted: [...accepted] }) + '\n',
);
