import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import ms from 'ms';
import { subjects } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { ACTION_REGISTRY, renderActionTable, replaceActionTable } from '../handlers/index.js';
import { explainPlaybook, formatExplanation, loadPlaybookFile, playbookJsonSchemaText, readEventFile } from '../playbooks/index.js';
import { CliError } from './errors.js';
import { createLogger } from './logger.js';
import { operatorName, sendControl } from './operator-connection.js';
import { resolveRunId } from './run-id-prefix.js';

function duration(v: string): number {
  const n = ms(v as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a duration, e.g. 5s or 500ms');
  return n;
}

/** `homeostat playbooks explain | reset-budget | schema | actions`. */
export function registerPlaybookCommands(playbooks: Command, settings: Readonly<Settings>): void {
  playbooks
    .command('explain')
    .description('dry run: would FILE fire for the event, and what would each step do (no side effect)')
    .argument('<file>', 'playbook file')
    .requiredOption('--event <file>', 'the event as JSON: an envelope, or { "subject": …, "target"?: …, "data"?: … }')
    .option('--json', 'print the explanation as JSON')
    .action((file: string, o: { event: string; json?: boolean }) => {
      const pb = loadPlaybookFile(file, { actions: ACTION_REGISTRY });
      let event;
      try {
        event = readEventFile(o.event);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const x = explainPlaybook(pb, event);
      process.stdout.write(o.json ? `${JSON.stringify(x, null, 2)}\n` : formatExplanation(x));
    });

  playbooks
    .command('reset-budget')
    .description('lift a playbook\'s exhausted flap budget on a target (as the operator, on approvals.budget.reset)')
    .argument('<playbook>', 'playbook name')
    .argument('<target>', 'target name (`_global` for events without a target)')
    .option('--timeout <duration>', 'how long to wait for the engine\'s answer', duration, 5000)
    .action(async (playbook: string, target: string, o: { timeout: number }) => {
      const log = createLogger({ ...settings, logLevel: 'warn' });
      const reply = await sendControl(settings, log, subjects.budgetReset, { playbook, target, by: operatorName() }, o.timeout);
      process.stdout.write(`${reply.message}\n`);
      if (!reply.accepted) process.exitCode = 1;
    });

  playbooks
    .command('schema')
    .description('print the JSON Schema of playbook files (the text of playbooks/schema.json)')
    .option('--write <file>', 'write it to this file instead')
    .action((o: { write?: string }) => {
      if (o.write) writeFileSync(o.write, playbookJsonSchemaText(ACTION_REGISTRY));
      else process.stdout.write(playbookJsonSchemaText(ACTION_REGISTRY));
    });

  playbooks
    .command('actions')
    .description('print the actions handlers provide (the action registry) as a Markdown table')
    .option('--write-readme <file>', "rewrite the table between the action-table markers of this README instead")
    .action((o: { writeReadme?: string }) => {
      const table = renderActionTable(ACTION_REGISTRY);
      if (!o.writeReadme) return void process.stdout.write(`${table}\n`);
      try {
        writeFileSync(o.writeReadme, replaceActionTable(readFileSync(o.writeReadme, 'utf8'), table));
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    });
}

/** `homeostat approve RUN_ID` and `homeostat reject RUN_ID --reason TEXT`. */
export function registerApprovalCommands(program: Command, settings: Readonly<Settings>): void {
  const decide = async (idOrPrefix: string, decision: 'approve' | 'reject', reason: string | undefined, timeoutMs: number) => {
    try {
      subjects.approval(idOrPrefix);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const log = createLogger({ ...settings, logLevel: 'warn' });
    const subject = subjects.approval(await resolveRunId(idOrPrefix, settings, log));
    const reply = await sendControl(settings, log, subject, { decision, reason, by: operatorName() }, timeoutMs);
    process.stdout.write(`${reply.message}\n`);
    if (!reply.accepted) process.exitCode = 1;
  };
  program
    .command('approve')
    .description('approve the step a run is waiting on (runs.<runId>.awaiting_approval)')
    .argument('<runId>', 'the run id, or a unique prefix (the 12 characters `homeostat runs` prints)')
    .option('--reason <text>', 'why, for the record')
    .option('--timeout <duration>', 'how long to wait for the engine\'s answer', duration, 5000)
    .action((runId: string, o: { reason?: string; timeout: number }) => decide(runId, 'approve', o.reason, o.timeout));
  program
    .command('reject')
    .description('reject the step a run is waiting on; the run ends as stopped')
    .argument('<runId>', 'the run id, or a unique prefix')
    .requiredOption('--reason <text>', 'why')
    .option('--timeout <duration>', 'how long to wait for the engine\'s answer', duration, 5000)
    .action((runId: string, o: { reason: string; timeout: number }) => decide(runId, 'reject', o.reason, o.timeout));
}
