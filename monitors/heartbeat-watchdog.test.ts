import { describe, expect, it } from 'vitest';
import { HeartbeatMissedData, subjects } from '../bus/index.js';
import { HeartbeatWatchdog } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

describe('heartbeat watchdog', () => {
  it('publishes missed once per outage and restored when beats return; malformed beats are dead-lettered and it keeps working', async () => {
    await using ctx = await setup();
    const monitor = await ctx.connect('monitor');
    const target = await ctx.connect('target', 't1');
    const watcher = await ctx.connect('operator', 'watcher');
    const missed: string[] = [];
    watcher.nc.subscribe('events.heartbeat.missed', { callback: (_e, m) => void missed.push(m.string()) });
    await watcher.flush();

    const wd = new HeartbeatWatchdog(monitor, [{ name: 't1', intervalMs: 50, misses: 3 }], ctx.log, 0);
    ctx.defer(() => wd.stop());
    wd.start();
    await monitor.flush();

    let seq = 0;
    const beat = () => target.publish(subjects.heartbeat('t1'), 'heartbeat', { seq: seq++, intervalMs: 50 });
    let timer = setInterval(beat, 50);
    beat();
    // a malformed heartbeat goes to the dead-letter subject with the reason
    const dl = nextMessage(watcher, 'deadletter.heartbeat', () => true, 5000);
    await watcher.flush();
    target.nc.publish('heartbeat.t1', '{"broken":');
    expect(JSON.stringify((await dl).data)).toMatch(/not JSON/);

    const firstMissed = nextMessage(watcher, 'events.heartbeat.missed', (e) => e.target === 't1', 5000, HeartbeatMissedData);
    await watcher.flush();
    clearInterval(timer);
    const ev = await firstMissed;
    expect(ev.data.target).toBe('t1');
    expect(ev.data.missedIntervals).toBeGreaterThanOrEqual(3);
    expect(wd.down).toEqual(['t1']);

    const restored = nextMessage(watcher, 'events.heartbeat.restored', (e) => e.target === 't1', 5000);
    await watcher.flush();
    timer = setInterval(beat, 50);
    beat();
    await restored;
    expect(wd.down).toEqual([]);
    // one event per outage, however long it lasted
    expect(missed).toHaveLength(1);

    // and it detects a second outage after the malformed message
    const second = nextMessage(watcher, 'events.heartbeat.missed', (e) => e.target === 't1', 5000);
    await watcher.flush();
    clearInterval(timer);
    await second;
    expect(missed).toHaveLength(2);
    expect(monitor.deadletterCount).toBe(1);
  });
});
