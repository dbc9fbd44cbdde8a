import { describe, expect, it } from 'vitest';
import { loadSettings } from './settings.js';

describe('settings: the NATS login', () => {
  it("accepts natscli's NATS_USER / NATS_PASSWORD; HOMEOSTAT_NATS_* win when both are set", () => {
    expect(loadSettings({ NATS_USER: 'operator', NATS_PASSWORD: 'p1' }, false)).toMatchObject({ natsUser: 'operator', natsPassword: 'p1' });
    expect(loadSettings({ NATS_USER: 'operator', NATS_PASSWORD: 'p1', HOMEOSTAT_NATS_USER: 'engine', HOMEOSTAT_NATS_PASSWORD: 'p2' }, false)).toMatchObject({ natsUser: 'engine', natsPassword: 'p2' });
    // an empty HOMEOSTAT_NATS_USER counts as unset
    expect(loadSettings({ NATS_USER: 'operator', HOMEOSTAT_NATS_USER: '' }, false).natsUser).toBe('operator');
  });

  it('NATS_URL may list a cluster\'s nodes (comma-separated); HOMEOSTAT_JS_REPLICAS is 1 to 5, default 1', () => {
    expect(loadSettings({ NATS_URL: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222', HOMEOSTAT_JS_REPLICAS: '3' }, false)).toMatchObject({ natsUrl: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222', jsReplicas: 3 });
    expect(loadSettings({}, false).jsReplicas).toBe(1);
    expect(() => loadSettings({ NATS_URL: 'nats://a:4222,not a url' }, false)).toThrow(/NATS_URL/);
    expect(() => loadSettings({ HOMEOSTAT_JS_REPLICAS: '7' }, false)).toThrow(/HOMEOSTAT_JS_REPLICAS/);
  });
});

describe('settings: the HTTP server and the notification sinks', () => {
  it('HOMEOSTAT_HTTP_PORT defaults to 0 (a free port) and refuses a non-port; the token lives in HOMEOSTAT_HOME', () => {
    expect(loadSettings({ HOMEOSTAT_HOME: '/tmp/h' }, false)).toMatchObject({ httpPort: 0, intakeTokenFile: '/tmp/h/intake-token' });
    expect(loadSettings({ HOMEOSTAT_HTTP_PORT: '8089', HOMEOSTAT_NOTIFY: '/etc/homeostat/notify.yaml' }, false)).toMatchObject({ httpPort: 8089, notifyFile: '/etc/homeostat/notify.yaml' });
    expect(() => loadSettings({ HOMEOSTAT_HTTP_PORT: '70000' }, false)).toThrow(/HOMEOSTAT_HTTP_PORT/);
    expect(() => loadSettings({ HOMEOSTAT_HTTP_PORT: 'eighty' }, false)).toThrow(/HOMEOSTAT_HTTP_PORT/);
  });
});
