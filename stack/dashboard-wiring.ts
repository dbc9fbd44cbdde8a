import { join } from 'node:path';
import type { Logger } from 'pino';
import { BusClient, ControlReplyData, NoRespondersError, queryActiveRuns, RequestTimeoutError, subjects, type Credentials } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import type { HealthMonitor } from '../monitors/index.js';
import { queryHistory } from '../store/index.js';
import type { TargetRegistry } from '../targets/index.js';
import { ensureIntakeToken, LiveFeed, readScorecards, type DashboardOptions } from '../web/index.js';

export interface DashboardWiringOptions {
  settings: Readonly<Settings>;
  log: Logger;
  credentials(role: string): Credentials;
  /** The targets shown (none without a registry). */
  registry?: TargetRegistry;
  healthMonitor?: HealthMonitor;
}

/**
 * The dashboard's two bus logins: the read-only `dashboard` role feeds the page (and asks the
 * recorder for history, the engines for their active runs); the operator's login carries the decisions made on the page, each with
 * `by: dashboard:<name>`, answered by the engine as `homeostat approve` is.
 */
export async function wireDashboard(o: DashboardWiringOptions): Promise<{ options: DashboardOptions; stop(): Promise<void> }> {
  const log = o.log.child({ component: 'dashboard' });
  const readBus = await BusClient.connect(o.credentials('dashboard'), 'dashboard', o.log);
  const operatorBus = await BusClient.connect(o.credentials('operator'), 'dashboard-operator', o.log).catch(async (e: unknown) => {
    await readBus.close();
    throw e;
  });
  const feed = new LiveFeed({ bus: readBus, log });
  feed.start();
  await readBus.flush();
  const control = async (subject: string, type: string, data: unknown): Promise<ControlReplyData> => {
    try {
      return (await operatorBus.request(subject, type, data, ControlReplyData, 3000)).data;
    } catch (e) {
      if (e instanceof NoRespondersError) return { accepted: false, message: `no engine answers on ${subject}: is the engine running?` };
      if (e instanceof RequestTimeoutError) return { accepted: false, message: `no engine has this run waiting for approval (${e.message})` };
      return { accepted: false, message: (e as Error).message };
    }
  };
  const options: DashboardOptions = {
    feed,
    token: ensureIntakeToken(o.settings.dashboardTokenFile),
    decide: (runId, d) => control(subjects.approval(runId), 'approval', d),
    resetBudget: (d) => control(subjects.budgetReset, 'budget.reset', d),
    targets: async () =>
      Promise.all(
        (o.registry?.all() ?? []).map(async (t) => {
          const name = t.config.name;
          const status = await t.driver.status().catch((e: unknown) => ({ name, running: false, restarts: 0, error: (e as Error).message }));
          let health: unknown = null;
          try {
            health = o.healthMonitor?.state(name) ?? null;
          } catch {
            health = null;
          }
          return { name, driver: t.config.driver, critical: t.config.critical, status, health };
        }),
      ),
    history: (kind, limit) => queryHistory(readBus, kind, kind === 'runbook' ? {} : { limit }, 3000),
    run: (id) => queryHistory(readBus, 'run', { id }, 3000),
    activeRuns: async () => (await queryActiveRuns(readBus)).runs,
    scorecards: () => readScorecards(o.settings.scorecardDir),
    uiDir: join(o.settings.root, 'dist', 'web-ui'),
  };
  return {
    options,
    stop: async () => {
      feed.stop();
      await Promise.all([readBus.close(), operatorBus.close()]);
    },
  };
}
