/**
 * Measures when nats-server cuts an actor off: polls the server's `/connz?auth=1&user=<actor>`
 * and records the first moment the actor is seen connected and the first moment after that
 * when it has no connection left. Times are `performance.now()` values.
 */
export class CutoffWatch {
  seenAt: number | null = null;
  cutAt: number | null = null;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(
    private readonly monitorUrl: string,
    readonly actor: string,
    private readonly everyMs = 10,
  ) {
    this.#done = this.#poll();
  }

  async #connected(): Promise<boolean | null> {
    try {
      const res = await fetch(`${this.monitorUrl}/connz?auth=1&user=${encodeURIComponent(this.actor)}`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { connections?: { authorized_user?: string }[] };
      return (body.connections ?? []).some((c) => c.authorized_user === this.actor);
    } catch {
      return null;
    }
  }

  async #poll(): Promise<void> {
    while (!this.#stopped && this.cutAt === null) {
      const before = performance.now();
      const up = await this.#connected();
      if (up === true && this.seenAt === null) this.seenAt = before;
      // the actor was gone no later than when this poll was sent
      if (up === false && this.seenAt !== null) this.cutAt = before;
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}
