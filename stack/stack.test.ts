import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { startStack } from './stack.js';

describe('stack', () => {
  it('connects every component with its own role, keeps secrets owner-only, and tails the server log', async () => {
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const stack = await startStack({ settings, log: pino({ level: 'silent' }), chaos: true });
    try {
      const nats = stack.nats!;
      let byName: Record<string, string | undefined> = {};
      // the demo workers connect a moment after they are spawned
      for (let end = Date.now() + 10_000; Date.now() < end && !(byName['worker-1'] && byName['worker-2']); await new Promise((r) => setTimeout(r, 20))) {
        const res = await fetch(`${nats.monitorUrl}/connz?auth=1&limit=1000`);
        const { connections } = (await res.json()) as { connections: { name?: string; authorized_user?: string }[] };
        byName = Object.fromEntries(connections.map((c) => [c.name ?? '', c.authorized_user]));
      }
      expect(byName).toMatchObject({
        handler: 'handler',
        monitor: 'monitor',
        'acl-monitor': 'monitor',
        engine: 'engine',
        'chaos-agent': 'chaos',
        'worker-1': 'target',
        'worker-2': 'target',
      });
      const dir = dirname(nats.configFile);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(nats.configFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
      expect(stack.acl.source?.counters.lines).toBeDefined();
      expect(stack.acl.blacklist).not.toBeNull();
    } finally {
      await stack.stop();
    }
  });

  it('keeps a blacklist across a restart of Homeostat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-restart-'));
    // its own home: the embedded store, tokens and keys never touch the user's ~/.homeostat
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_LOG_FORMAT: 'json', HOMEOSTAT_HOME: dir, DATABASE_URL: '' }, false);
    const log = pino({ level: 'silent' });
    try {
      const first = await startStack({ settings, log, dir, chaos: false, targets: [] });
      try {
        await first.acl.blacklist!.add('rogue', { ttlMs: 60_000, reason: 'test' });
      } finally {
        await first.stop();
      }
      const second = await startStack({ settings, log, dir, chaos: false, targets: [] });
      try {
        expect([...second.acl.blacklist!.blocked()]).toEqual(['rogue']);
        const c = second.credentials('rogue');
        await expect(connect({ servers: c.url, user: c.user, pass: c.password, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
