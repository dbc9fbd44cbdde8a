import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResourcePressureData, ResourceRecoveredData, type Envelope } from '../bus/index.js';
import { ConfigFileError } from '../config/index.js';
import type { ProcSample } from '../targets/index.js';
import { loadMonitorsConfig, ProcHostSource, ResourceMonitor, ResourceMonitorConfigSchema, type HostSample, type HostSource, type ProcessSource } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

const nextOf = (bus: Parameters<typeof nextMessage>[0], subject: string) => nextMessage(bus, subject, () => true, 5000);

/** A scripted machine: one CPU value per sample, one second apart. */
class ScriptedHost implements HostSource {
  #i = 0;
  constructor(private readonly cpu: number[]) {}
  sample(): HostSample {
    const i = this.#i++;
    return { at: 1_000_000 + i * 1000, intervalMs: 1000, cpuPct: this.cpu[i] ?? 0, memPct: 20, memTotalBytes: 8e9, disk: [{ path: '/', usedPct: 40 }] };
  }
}

const proc = (pid: number, ppid: number, cpuPct: number | null, comm: string): ProcSample => ({
  pid, ppid, pgid: ppid, state: 'R', comm, cpuTicks: 0, rssBytes: 1e8, nice: 0, startTime: pid * 10, cpuPct,
});

/** A scripted process table: worker-1 (pid 100) with a busy child 101, and an outside hog 200. */
class ScriptedProcs implements ProcessSource {
  scans = 0;
  sample(): ProcSample[] {
    this.scans++;
    const first = this.scans === 1;
    return [proc(100, 1, first ? null : 2, 'node'), proc(101, 100, first ? null : 97, 'node'), proc(200, 1, first ? null : 40, 'tsc'), proc(300, 1, first ? null : 0.5, 'bash')];
  }
  reset(): void {}
}

describe('resource pressure monitor', () => {
  it('publishes one cpu_pressure per episode with attributed top processes, then recovered', async () => {
    await using ctx = await setup();
    const mon = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator');
    const events: Envelope<unknown>[] = [];
    watcher.nc.subscribe('events.resource.>', { callback: (_e, m) => void events.push(JSON.parse(m.string()) as Envelope<unknown>) });
    await watcher.flush();

    const procs = new ScriptedProcs();
    const config = ResourceMonitorConfigSchema.parse({ top: 3 });
    const cpu = [5, 5, ...Array<number>(12).fill(96), 70, 40, ...Array<number>(10).fill(99)];
    const monitor = new ResourceMonitor({ bus: mon, config, roots: () => [{ name: 'worker-1', pid: 100 }], log: ctx.log, host: new ScriptedHost(cpu), processes: procs, command: (pid) => `cmd-${pid}` });
    const steadyScans: number[] = [];
    for (let i = 0; i < cpu.length; i++) {
      monitor.tick();
      if (i < 2) steadyScans.push(procs.scans);
    }
    await mon.flush();
    await watcher.flush();

    expect(steadyScans).toEqual([0, 0]); // no process table read while under the threshold
    expect(events.map((e) => e.subject)).toEqual(['events.resource.cpu_pressure', 'events.resource.recovered', 'events.resource.cpu_pressure']);
    const first = ResourcePressureData.parse(events[0]!.data);
    expect(events[0]!.target).toBe('worker-1');
    expect(first).toMatchObject({ resource: 'cpu', valuePct: 96, thresholdPct: 80, windowMs: 10_000, heldMs: 10_000, target: 'worker-1' });
    expect(first.top.map((p) => [p.pid, p.cpuPct, p.target, p.command])).toEqual([
      [101, 97, 'worker-1', 'cmd-101'],
      [200, 40, null, 'cmd-200'],
      [100, 2, 'worker-1', 'cmd-100'],
    ]);
    const rec = ResourceRecoveredData.parse(events[1]!.data);
    expect(rec).toMatchObject({ resource: 'cpu', valuePct: 40, recoveryPct: 60, target: 'worker-1' });
    expect(events[1]!.target).toBe('worker-1');
  });

  it('does not blame a target whose processes are nearly idle among outside hogs', async () => {
    await using ctx = await setup();
    const mon = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator');
    const got = nextOf(watcher, 'events.resource.cpu_pressure');
    await watcher.flush();
    // worker-1's root (pid 100) is the only attributed process left in the top 2 once its child is not hot
    const procs: ProcessSource = { sample: () => [proc(200, 1, 90, 'tsc'), proc(100, 1, 2, 'node'), proc(300, 1, 0.5, 'bash')], reset() {} };
    const config = ResourceMonitorConfigSchema.parse({ top: 2, cpu: { window: '2s' } });
    const monitor = new ResourceMonitor({ bus: mon, config, roots: () => [{ name: 'worker-1', pid: 100 }], log: ctx.log, host: new ScriptedHost([90, 90, 90]), processes: procs });
    for (let i = 0; i < 3; i++) monitor.tick();
    await mon.flush();
    const env = await got;
    expect(env.target).toBeUndefined();
    expect(ResourcePressureData.parse(env.data)).toMatchObject({ target: null, top: [{ pid: 200, target: null }, { pid: 100, target: 'worker-1', cpuPct: 2 }] });
  });

  it('names no target when the hottest processes belong to none', async () => {
    await using ctx = await setup();
    const mon = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator');
    const got: Envelope<unknown>[] = [];
    watcher.nc.subscribe('events.resource.cpu_pressure', { callback: (_e, m) => void got.push(JSON.parse(m.string()) as Envelope<unknown>) });
    await watcher.flush();
    const config = ResourceMonitorConfigSchema.parse({ top: 1, cpu: { window: '2s' } });
    const monitor = new ResourceMonitor({ bus: mon, config, roots: () => [{ name: 'worker-1', pid: 999 }], log: ctx.log, host: new ScriptedHost([90, 90, 90]), processes: new ScriptedProcs() });
    for (let i = 0; i < 3; i++) monitor.tick();
    await mon.flush();
    await watcher.flush();
    expect(got).toHaveLength(1);
    expect(got[0]!.target).toBeUndefined();
    expect(ResourcePressureData.parse(got[0]!.data)).toMatchObject({ target: null, windowMs: 2000, top: [{ pid: 101, target: null }] });
  });

  it('refuses a monitors file with a threshold outside 0–100 %, a negative window or an unknown key, naming the field', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'monitors.yaml');
    const refused = (text: string) => {
      writeFileSync(file, text);
      try {
        loadMonitorsConfig(file);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigFileError);
        return (e as ConfigFileError).problems.map((p) => `${p.line}:${p.field}: ${p.message}`);
      }
      throw new Error('the file was accepted');
    };
    expect(refused('resource:\n  cpu:\n    threshold: 120\n')).toEqual(['3:resource.cpu.threshold: must be a percentage from 0 to 100']);
    expect(refused('resource:\n  memory:\n    recovery: -1\n')).toEqual(['3:resource.memory.recovery: must be a percentage from 0 to 100']);
    expect(refused('resource:\n  cpu:\n    window: -5s\n')).toEqual(['3:resource.cpu.window: a window must not be negative']);
    expect(refused('resource:\n  disk:\n    window: -1\n')).toEqual(['3:resource.disk.window: a window must not be negative']);
    expect(refused('resource:\n  cpu:\n    treshold: 80\n')).toEqual(['3:resource.cpu.treshold: unknown field']);
    expect(refused('resources: {}\n')).toEqual(['1:resources: unknown field']);

    writeFileSync(file, 'resource:\n  cpu: { threshold: 70, window: 5s, recovery: 50 }\n');
    expect(loadMonitorsConfig(file).resource).toMatchObject({ interval: 1000, cpu: { threshold: 70, window: 5000, recovery: 50 }, memory: { threshold: 85, window: 10_000 }, disk: { threshold: 90, paths: ['/'] } });
  });

  it('`homeostat up` refuses a bad monitors file at start, naming file, line and field', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'monitors.yaml');
    writeFileSync(file, 'resource:\n  memory:\n    threshold: 101\n');
    const r = spawnSync(process.execPath, [join(ctx.settings.root, 'dist', 'cli', 'main.js'), 'up'], {
      env: { ...process.env, HOMEOSTAT_MONITORS: file, HOMEOSTAT_HOME: ctx.dir },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:3:16: resource.memory.threshold: must be a percentage from 0 to 100`);
  });

  it('the shipped monitors.yaml holds the reference thresholds', async () => {
    await using ctx = await setup();
    const c = loadMonitorsConfig(ctx.settings.monitorsFile).resource;
    expect([c.cpu.threshold, c.cpu.window, c.memory.threshold, c.memory.window, c.disk.threshold, c.disk.window, c.interval]).toEqual([80, 10_000, 85, 10_000, 90, 10_000, 1000]);
  });

  it('reads the real machine: CPU of all cores, memory and disk as percentages', async () => {
    const host = new ProcHostSource(['/']);
    const first = host.sample();
    expect(first.cpuPct).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    const s = host.sample();
    expect(s.intervalMs).toBeGreaterThanOrEqual(150);
    for (const v of [s.cpuPct!, s.memPct, s.disk[0]!.usedPct]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    expect(s.memTotalBytes).toBeGreaterThan(0);
  });
});
