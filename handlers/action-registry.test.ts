import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem, loadSettings, type ConfigFileError } from '../config/index.js';
import { loadPlaybookDir, refuseUnserved } from '../playbooks/index.js';
import { ACTION_REGISTRY, ACTION_TABLE_END, ACTION_TABLE_START, renderActionTable } from './index.js';

const settings = loadSettings({ ...process.env }, false);

describe('the action registry', () => {
  it("README's action table is the one generated from the registry (regenerate: homeostat playbooks actions --write-readme README.md)", () => {
    const readme = readFileSync(join(settings.root, 'README.md'), 'utf8');
    const start = readme.indexOf(ACTION_TABLE_START);
    const end = readme.indexOf(ACTION_TABLE_END);
    expect(start, 'README has the action-table markers').toBeGreaterThan(0);
    expect(readme.slice(start + ACTION_TABLE_START.length, end).trim()).toBe(renderActionTable(ACTION_REGISTRY));
  });

  it('declares each action once, as <family>.<verb>, with a risk and the probe flag', () => {
    const names = ACTION_REGISTRY.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    for (const a of ACTION_REGISTRY) {
      expect(a.name).toMatch(/^[a-z]+\.[a-z_]+$/);
      expect(['low', 'medium', 'high']).toContain(a.risk);
    }
    expect(ACTION_REGISTRY.filter((a) => a.probe).map((a) => a.name).sort()).toEqual(['acl.assess', 'acl.quiet', 'bus.ping', 'container.state', 'postgres.connections', 'process.top', 'redis.memory', 'resource.cpu', 'target.health']);
  });

  it("gives the library's steps default risks that need no approval (S01–S03 run as before); a high-risk step says approval: required", () => {
    const lib = loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
    const steps = lib.flatMap((p) => p.playbook.steps.filter((s) => s.action).map((s) => `${p.playbook.name}/${s.id}:${s.action}:${s.risk}:${s.approval ?? '-'}:${s.when ? 'when' : 'always'}`));
    expect(steps.length).toBeGreaterThan(0);
    const s01s03 = ['heartbeat-restart', 'message-bus-acl-violation', 'resource-pressure-cpu'];
    expect(steps.filter((s) => s01s03.includes(s.split('/')[0]!) && (s.includes(':high:') || s.includes(':required:')))).toEqual([]);
    expect(steps.filter((s) => s.includes(':high:') && !s.includes(':required:'))).toEqual([]);
  });
});

describe('playbooks against the actions the running handlers serve', () => {
  it('refuses a playbook naming an action no running handler serves, with file:line:col and field', () => {
    const lib = loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
    const served = ACTION_REGISTRY.map((a) => a.name).filter((a) => a !== 'bus.blacklist');
    expect(() => refuseUnserved(lib, ACTION_REGISTRY.map((a) => a.name))).not.toThrow();
    const err = (() => {
      try {
        refuseUnserved(lib, served, settings.playbooksDir);
      } catch (e) {
        return e as ConfigFileError;
      }
      throw new Error('not refused');
    })();
    expect(err.problems.map(formatProblem)).toEqual([expect.stringMatching(/message-bus-acl-violation\.yaml:\d+:\d+: steps\.\d+\.action: no running handler serves "bus\.blacklist"/)]);
  });
});
