import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigFileError, formatProblem, type Settings } from '../config/index.js';
import { checkName, loadTargets, targetsJsonSchemaText } from '../targets/index.js';

/** `homeostat targets validate [FILE]` and `homeostat targets schema [--write FILE]`. */
export function registerTargetCommands(program: Command, settings: Readonly<Settings>): void {
  const targets = program.command('targets').description('check the targets file');
  targets
    .command('validate')
    .description('check a targets file (default: HOMEOSTAT_TARGETS); prints file:line:col: field: message for every problem')
    .argument('[file]', 'the targets file')
    .action((file: string | undefined) => {
      const path = file ?? settings.targetsFile;
      try {
        for (const t of loadTargets(path)) {
          const checks = t.checks.map((c) => `${checkName(c)} (${c.kind})`).join(', ') || 'none: watched for unexpected exits only';
          process.stdout.write(`${t.name}: ${t.driver}, checks: ${checks}\n`);
        }
        process.stdout.write(`${path}: ok\n`);
      } catch (e) {
        if (!(e instanceof ConfigFileError)) throw e;
        for (const p of e.problems) process.stdout.write(`${formatProblem(p)}\n`);
        process.exitCode = 1;
      }
    });
  targets
    .command('schema')
    .description('print the JSON Schema of targets files (the text of targets/schema.json)')
    .option('--write <file>', 'write it to this file instead')
    .action((o: { write?: string }) => {
      if (o.write) writeFileSync(o.write, targetsJsonSchemaText());
      else process.stdout.write(targetsJsonSchemaText());
    });
}
