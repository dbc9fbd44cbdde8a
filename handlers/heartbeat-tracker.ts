import { HeartbeatData, heartbeatComponent, subjects, type BusClient } from '../bus/index.js';

/** Remembers when each component last beat, for health probes. */
export class HeartbeatTracker {
  readonly #last = new Map<string, number>();

  constructor(bus: BusClient) {
    bus.subscribe(subjects.heartbeatAll, HeartbeatData, (env) => {
      const name = heartbeatComponent(env.subject);
      if (name) this.#last.set(name, Date.now());
    });
  }

  ageMs(name: string): number | null {
    const t = this.#last.get(name);
    return t === undefined ? null : Date.now() - t;
  }
}
