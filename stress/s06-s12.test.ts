import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { requireDocker } from '../test/docker.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';
import { setup } from '../test/setup.js';

/** The container failure catalogue on a real dockerd: each scenario once, on a fresh stack. */
describe('stress S06–S12: containers (real dockerd)', () => {
  const run = async (id: string) => {
    await requireDocker();
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const scenario = loadScenarios(scenariosDir(settings.root)).get(id)!;
    return runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
  };

  it('S06: an OOM-killed container is detected from the events stream and restarted after the runner approves', async () => {
    const r = await run('S06');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-oom-restart', runStatus: 'resolved', collateral: [], passed: true });
    expect(r.approvalWaitMs).not.toBeNull();
  });

  it('S07: 15 exited labelled containers are reported as a zombie outbreak and pruned', async () => {
    const r = await run('S07');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-zombie-prune', runStatus: 'resolved', passed: true });
  });

  it('S08: a crashed container (no known root cause) is restarted by target-crash-restart', async () => {
    const r = await run('S08');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'target-crash-restart', runStatus: 'resolved', collateral: [], passed: true });
  });

  it('S09: a corrupt config stops the run with the reason, and nothing is restarted', async () => {
    const r = await run('S09');
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-config-error', runStatus: 'stopped', passed: true });
    expect(r.notes.join('\n')).toContain('configuration error');
  });

  it('S10: a web log directory over 85 % (a real 8 MiB tmpfs) is cleaned and the disk verified', async () => {
    const r = await run('S10');
    expect(r.notes).toEqual([]);
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-log-saturation', runStatus: 'resolved', collateral: [], passed: true });
  });

  it('S11: a volume flooded with non-log data stops the run ("non-log data is filling the disk"), nothing restarted', async () => {
    const r = await run('S11');
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-disk-full', runStatus: 'stopped', passed: true });
    expect(r.notes.join('\n')).toContain('non-log data is filling the disk');
    expect(r.coldStartMs).toBeNull();
  });

  it('S12: the chain (disk full, then the database stopped) is cleaned, restarted after approval and resolves once it runs', async () => {
    const r = await run('S12');
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-disk-full', runStatus: 'resolved', collateral: [], passed: true });
    expect(r.approvalWaitMs).not.toBeNull();
    expect(r.coldStartMs).not.toBeNull();
  });

  it('S16: corrupt data stops the run with the reason, and nothing is restarted', async () => {
    const r = await run('S16');
    expect(r).toMatchObject({ detected: true, recovered: true, playbook: 'container-data-corruption', runStatus: 'stopped', passed: true });
    expect(r.notes.join('\n')).toContain('data corruption');
  });
});
