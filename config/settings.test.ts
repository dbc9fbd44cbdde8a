import { describe, expect, it } from 'vitest';
import { loadSettings } from './settings.js';

describe('settings: the NATS login', () => {
  it("accepts natscli's NATS_USER / NATS_PASSWORD; HOMEOSTAT_NATS_* win when both are set", () => {
    expect(loadSettings({ NATS_USER: 'operator', NATS_PASSWORD: 'p1' }, false)).toMatchObject({ natsUser: 'operator', natsPassword: 'p1' });
    expect(loadSettings({ NATS_USER: 'operator', NATS_PASSWORD: 'p1', HOMEOSTAT_NATS_USER: 'engine', HOMEOSTAT_NATS_PASSWORD: 'p2' }, false)).toMatchObject({ natsUser: 'engine', natsPassword: 'p2' });
    // an empty HOMEOSTAT_NATS_USER counts as unset
    expect(loadSettings({ NATS_USER: 'operator', HOMEOSTAT_NATS_USER: '' }, false).natsUser).toBe('operator');
  });
});
