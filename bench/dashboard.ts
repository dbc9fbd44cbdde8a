/**
 * The dashboard under load, in Debian's headless Chromium:
 *  1. latency — 200 events at 50/s; bus event → applied on the page (page clock − envelope time, same
 *     machine), p50/p95/max;
 *  2. storm — a separate process publishes RATE events/s for SECONDS (default 10,000/s for 10 s), once on
 *     a stack whose HTTP server has no dashboard and once on a stack with the dashboard and its page open;
 *     prints the stack process's CPU in each (the difference is what the dashboard costs, noisy on a shared
 *     machine), the dashboard's own work timed inside the stack process, the page's longest main-thread task
 *     (PerformanceObserver `longtask`), a Chromium trace of the page's tasks (wall and CPU time), where the
 *     page's time went (frames, parse, apply, render) and what the page received.
 *
 *   npm run build && npm run bench:dashboard -- [--rate 10000] [--seconds 10]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { BusClient, makeEnvelope, type Credentials } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack, type Stack } from '../stack/index.js';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from './headless-chromium.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const log = pino({ level: 'fatal' });

/** The storm's publisher, run as its own process so its CPU is not the stack's. */
async function publish(creds: Credentials, rate: number, seconds: number): Promise<void> {
  const bus = await BusClient.connect(creds, 'bench-storm', log);
  const total = rate * seconds;
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; sent < due; sent++) {
      const subject = 'events.bench.storm';
      bus.nc.publish(subject, JSON.stringify(makeEnvelope(subject, 'bench-storm', { n: sent }, { subject, target: `svc-${sent % 50}` })));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await bus.flush();
  await bus.close();
  process.stdout.write(`${sent}\n`);
}

function cpuOfStorm(creds: Credentials, rate: number, seconds: number): Promise<{ cpuPct: number; sent: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--publish', JSON.stringify(creds), String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`storm publisher exited ${code}`));
      const u = process.cpuUsage(u0);
      resolve({ cpuPct: ((u.user + u.system) / 1000 / (performance.now() - t0)) * 100, sent: Number(out.trim()) });
    });
  });
}

async function withStack<T>(dashboard: boolean, fn: (s: Stack) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-bench-dashboard-'));
  const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_NOTIFY: join(home, 'none.yaml'), HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'error' }, false);
  const stack = await startStack({ settings, log, targets: [], chaos: false, record: false, playbooks: [], web: true, dashboard });
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** What the page exposes for measuring (web/ui/src/main.tsx, live-connection.ts). */
interface PageProbe {
  state: { received: number };
  work: { longestApplyMs: number; longestRenderMs: number; renders: number };
  live: { stats: { longestParseMs: number; longestBatch: number; batches: number } };
}

interface TaskFigures {
  count: number;
  longestWallMs: number;
  itsCpuMs: number;
  longestCpuMs: number;
  over50Cpu: number;
}

/**
 * Traces the page's renderer main thread (Chromium's `toplevel` tasks, with wall `dur` and thread
 * CPU `tdur`): on a shared, loaded machine a long task's wall time includes waiting for a core, its
 * CPU time is what the page itself spent. Null when the trace cannot be taken.
 */
async function startTaskTrace(context: BrowserContext, page: Page): Promise<{ stop(): Promise<TaskFigures | null> }> {
  const cdp = await context.newCDPSession(page);
  const events: { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }[] = [];
  cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as typeof events)));
  try {
    await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['toplevel', '__metadata'] } });
  } catch {
    return { stop: async () => null };
  }
  return {
    async stop() {
      const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
      await cdp.send('Tracing.end');
      await done;
      // the busiest renderer main thread is the page's (other renderers idle)
      const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}/${e.tid}`));
      const byThread = new Map<string, typeof events>();
      for (const e of events) {
        const key = `${e.pid}/${e.tid}`;
        if (!mains.has(key) || e.ph !== 'X' || e.dur === undefined || !/RunTask/.test(e.name)) continue;
        byThread.set(key, [...(byThread.get(key) ?? []), e]);
      }
      const tasks = [...byThread.values()].sort((a, b) => b.length - a.length)[0];
      if (!tasks?.length) return null;
      const longest = tasks.reduce((a, b) => ((b.dur ?? 0) > (a.dur ?? 0) ? b : a));
      return {
        count: tasks.length,
        longestWallMs: (longest.dur ?? 0) / 1000,
        itsCpuMs: (longest.tdur ?? 0) / 1000,
        longestCpuMs: Math.max(...tasks.map((t) => t.tdur ?? 0)) / 1000,
        over50Cpu: tasks.filter((t) => (t.tdur ?? 0) > 50_000).length,
      };
    },
  };
}

const pct = (v: number[], p: number) => (v.length ? [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]! : NaN);

async function main(): Promise<void> {
  const rate = arg('rate', 10_000);
  const seconds = arg('seconds', 10);
  // each stack first takes a 2 s storm unmeasured (JIT, JetStream stream warm), then the measured one
  const quiet = await withStack(false, async (s) => {
    await cpuOfStorm(s.credentials('monitor'), rate, 2);
    return cpuOfStorm(s.credentials('monitor'), rate, seconds);
  });
  console.log(`storm ${rate}/s × ${seconds} s, HTTP server without the dashboard: stack process CPU ${quiet.cpuPct.toFixed(1)} % of one core (${quiet.sent} events)`);

  await withStack(true, async (s) => {
    await using browser = await launchBrowser();
    const page = await browser.page();
    await page.addInitScript(() => {
      const w = globalThis as unknown as { __longest: number; __longtasks: number };
      w.__longest = 0;
      w.__longtasks = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          w.__longest = Math.max(w.__longest, e.duration);
          w.__longtasks++;
        }
      }).observe({ type: 'longtask' as 'mark', buffered: true }); // Chromium's long-task entries; Node's types do not list them
    });
    await page.goto(`${s.web!.url}/dashboard/`);
    await page.locator('#connection[data-state="live"]').waitFor();

    const monitor = await BusClient.connect(s.credentials('monitor'), 'bench-latency', log);
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      ids.push(monitor.publish('events.bench.latency', 'events.bench.latency', { i }, { target: 'svc-1' }).id);
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.waitForFunction((n) => (globalThis as unknown as { homeostat: { state: { received: number } } }).homeostat.state.received >= n, ids.length);
    const lags = await page.evaluate(() => (globalThis as unknown as { homeostat: { state: { lagMs: number[] } } }).homeostat.state.lagMs.slice(-200));
    await monitor.close();
    console.log(`bus event → applied on the page (200 events at 50/s): p50 ${pct(lags, 50).toFixed(0)} ms, p95 ${pct(lags, 95).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`);

    await cpuOfStorm(s.credentials('monitor'), rate, 2);
    await page.waitForFunction((n) => (globalThis as unknown as { homeostat: { state: { received: number } } }).homeostat.state.received >= n, 200 + rate * 2, { timeout: 60_000 }).catch(() => undefined);
    await page.evaluate(() => {
      const w = globalThis as unknown as { __longest: number; __longtasks: number; homeostat: PageProbe };
      w.__longest = 0;
      w.__longtasks = 0;
      Object.assign(w.homeostat.work, { longestApplyMs: 0, longestRenderMs: 0, renders: 0 });
      Object.assign(w.homeostat.live.stats, { longestParseMs: 0, longestBatch: 0, batches: 0 });
    });
    const before = await page.evaluate(() => (globalThis as unknown as { homeostat: { state: { received: number } } }).homeostat.state.received);
    const trace = await startTaskTrace(browser.context, page);
    const feedStats = s.web!.dashboardFeed!.stats;
    const streamStats = s.web!.stream!.stats;
    const busy0 = feedStats.busyMs + streamStats.writeMs;
    const stormStarted = performance.now();
    const loud = await cpuOfStorm(s.credentials('monitor'), rate, seconds);
    const busyMs = feedStats.busyMs + streamStats.writeMs - busy0;
    const stormMs = performance.now() - stormStarted;
    await page.waitForFunction((n) => (globalThis as unknown as { homeostat: { state: { received: number } } }).homeostat.state.received >= n, before + loud.sent, { timeout: 60_000 }).catch(() => undefined);
    const tasks = await trace.stop();
    const seen = await page.evaluate(() => {
      const w = globalThis as unknown as { __longest: number; __longtasks: number; homeostat: PageProbe };
      return { longest: w.__longest, longtasks: w.__longtasks, received: w.homeostat.state.received, work: w.homeostat.work, live: w.homeostat.live.stats };
    });
    console.log(
      `page work in the storm: ${seen.live.batches} batches (one per animation frame, largest ${seen.live.longestBatch} messages), ${seen.work.renders} renders; ` +
        `longest stream-parse slice ${seen.live.longestParseMs.toFixed(0)} ms, batch apply ${seen.work.longestApplyMs.toFixed(0)} ms, render ${seen.work.longestRenderMs.toFixed(0)} ms`,
    );
    if (tasks) {
      console.log(
        `page main thread in the storm (Chromium trace): ${tasks.count} tasks; longest ${tasks.longestWallMs.toFixed(0)} ms wall of which ${tasks.itsCpuMs.toFixed(0)} ms on the CPU ` +
          `(the rest: the thread waiting for a core on this loaded machine); most CPU in one task ${tasks.longestCpuMs.toFixed(0)} ms; tasks over 50 ms of CPU: ${tasks.over50Cpu}`,
      );
    }
    const t0 = performance.now();
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    console.log(`storm ${rate}/s × ${seconds} s with the dashboard and its page open: stack process CPU ${loud.cpuPct.toFixed(1)} % of one core (${loud.sent} events)`);
    console.log(`dashboard's extra CPU in the storm: ${(loud.cpuPct - quiet.cpuPct).toFixed(1)} % of one core (${((loud.cpuPct - quiet.cpuPct) / 2).toFixed(1)} % of this 2-core machine)`);
    console.log(
      `dashboard's own work in the stack process (feed: parse, check, ring, SSE frames; stream writes), timed inside it: ${busyMs.toFixed(0)} ms over ${(stormMs / 1000).toFixed(1)} s = ` +
        `${((busyMs / stormMs) * 100).toFixed(1)} % of one core (not counted: the NATS client reading the feed's copy of each message)`,
    );
    console.log(`page: received ${seen.received - before} of ${loud.sent} storm events; longest main-thread task ${seen.longest.toFixed(0)} ms (${seen.longtasks} tasks over 50 ms); a task queued after the storm ran within ${(performance.now() - t0).toFixed(0)} ms`);
    await browser.screenshot(page, 'storm');
  });
}

if (process.argv[2] === '--publish') {
  await publish(JSON.parse(process.argv[3]!) as Credentials, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
