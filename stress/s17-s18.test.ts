import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { requireDocker } from '../test/docker.js';
import { setup } from '../test/setup.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';

/**
 * S17, S18: S13 and S14 on containers of a real dockerd (homeostat/redis:1 and homeostat/postgres:1
 * from targets/docker-images.sh, host network): the same checks, chaos faults and playbooks.
 */
describe('stress S17/S18: data services in containers (real dockerd)', () => {
  const run = async (id: string) => {
    const docker = await requireDocker();
    for (const image of ['homeostat/redis:1', 'homeostat/postgres:1'])
      await docker.getImage(image).inspect().catch(() => {
        throw new Error(`image ${image} is missing: run targets/docker-images.sh`);
      });
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const scenario = loadScenarios(scenariosDir(settings.root)).get(id)!;
    return runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
  };

  it('S17: a Redis container filled to OOM is purged by redis-oom, and a write succeeds after', async () => {
    const r = await run('S17');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'redis-oom', runStatus: 'resolved', collateral: [], orphans: [], served: true, passed: true });
    // purged, not restarted: the container kept running
    expect(r.coldStartMs).toBeNull();
  });

  it('S18: a PostgreSQL container exhausted by pg_exhaust is healed by postgres-connection-exhaustion, and a fresh client connects after', async () => {
    const r = await run('S18');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'postgres-connection-exhaustion', runStatus: 'resolved', collateral: [], orphans: [], served: true, passed: true });
    expect(r.coldStartMs).toBeNull();
  });
});
