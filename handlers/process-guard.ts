import { listProcUsage, readCommand, readProcUsage, attributeToTargets, type ProcUsage, type TargetRegistry, type TargetRoot } from '../targets/index.js';
import { ProcessRefusedError } from './errors.js';

export type ProcessOp = 'kill' | 'throttle';

/** A process the guard cleared for one operation. */
export interface ClearedProcess {
  pid: number;
  startTime: number;
  command: string;
  target: string;
  nice: number;
}

export interface ProcessGuardOptions {
  registry: TargetRegistry;
  /** Homeostat's own processes besides this one: the nats-server it started, the chaos agent… */
  homeostatPids: () => readonly number[];
}

const DATABASE = /^(postgres|postmaster)$/;

/**
 * The one gate every kill and throttle goes through. In order: pid 1, Homeostat's own processes,
 * nats-server and PostgreSQL are refused; then the process must be inside a registered target's
 * process tree (the named target's, when one is named); then a protected target's processes are
 * never killed and a critical target's never throttled. A refusal throws a `ProcessRefusedError`
 * naming the rule; a process that is gone (or whose pid now names another process) returns null.
 */
export class ProcessGuard {
  constructor(private readonly opts: ProcessGuardOptions) {}

  /** The registered targets' main processes (as their drivers last reported them). */
  roots(): TargetRoot[] {
    return this.opts.registry.roots();
  }

  /**
   * Clears `pid` for `op`. `startTime` pins the very process that was sampled; `procs` is the
   * process table to judge tree membership by (read fresh when omitted).
   */
  clear(pid: number, op: ProcessOp, o: { target?: string; startTime?: number; procs?: readonly ProcUsage[] } = {}): ClearedProcess | null {
    if (pid === 1) throw new ProcessRefusedError('pid-1', pid, op, 'init');
    const self = readProcUsage(pid);
    if (!self || self.state === 'Z' || (o.startTime !== undefined && self.startTime !== o.startTime)) return null;
    const command = readCommand(pid) ?? self.comm;
    if (pid === process.pid || this.opts.homeostatPids().includes(pid)) throw new ProcessRefusedError('homeostat-process', pid, op, command);
    if (self.comm === 'nats-server') throw new ProcessRefusedError('nats-server', pid, op, command);
    if (DATABASE.test(self.comm) || /^postgres(:|\s|$)/.test(command)) throw new ProcessRefusedError('database', pid, op, command);

    const owner = attributeToTargets(o.procs ?? listProcUsage(), this.roots()).get(pid);
    if (!owner) throw new ProcessRefusedError('outside-target', pid, op, `${command}; not in any registered target's process tree`);
    if (o.target && owner !== o.target) throw new ProcessRefusedError('outside-target', pid, op, `${command}; in ${owner}'s tree, not ${o.target}'s`);
    const t = this.opts.registry.get(owner);
    if (op === 'kill' && t.config.protected) throw new ProcessRefusedError('protected-target', pid, op, `${command}; target ${owner} is protected`);
    if (op === 'throttle' && t.config.critical) throw new ProcessRefusedError('critical-target', pid, op, `${command}; target ${owner} is critical`);
    return { pid, startTime: self.startTime, command, target: owner, nice: self.nice };
  }
}
