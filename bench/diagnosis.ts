/**
 * Diagnosis benchmark, against the scripted chat-completions server (the fake of the paid
 * service) on loopback, over the labelled set diagnosis/evaluation/incidents.yaml:
 *  - the rule-based baseline's agreement with the labels;
 *  - the guard: every malformed, off-schema, off-list, refused or oversized answer must be refused (goal 100 %);
 *  - Homeostat's own overhead per call: diagnose() latency minus the provider's handling time (goal ≤ 50 ms);
 *  - with the primary hanging, the fallback's answer time (goal ≤ the primary's timeout + 100 ms).
 * Exits 1 when a goal is missed.
 *
 *   npm run build && npm run bench:diagnosis [-- ROUNDS]
 */
import { join } from 'node:path';
import pino from 'pino';
import { loadSettings } from '../config/index.js';
import { evaluate, LlmDiagnoser, loadEvaluationSet, percentile, ScriptedProvider, type DiagnosisConfig, type ProviderConfig, type ScriptedReply } from '../diagnosis/index.js';
import { ACTION_REGISTRY } from '../handlers/index.js';
import { candidatesOf, loadPlaybookDir } from '../playbooks/index.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const OVERHEAD_GOAL_MS = 50;
const FALLBACK_MARGIN_MS = 100;
const PRIMARY_TIMEOUT_MS = 500;

const settings = loadSettings();
const log = pino({ level: 'silent' });
const set = loadEvaluationSet(join(settings.root, 'diagnosis', 'evaluation', 'incidents.yaml'));
const playbooks = loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
const allow = playbooks.filter((p) => !p.playbook.steps.some((s) => s.diagnose)).map((p) => p.playbook.name);

const provider = (name: string, baseUrl: string, over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name, baseUrl, model: 'scripted', apiKey: 'sk-bench', timeoutMs: 5000, retries: 0, backoffMs: 10, maxRetryAfterMs: 1000, price: { inputPer1m: 0.15, outputPer1m: 0.6 }, responseFormat: 'json_schema', ...over,
});
const config = (providers: ProviderConfig[]): DiagnosisConfig => ({ providers, budget: { calls: 1_000_000, tokens: 1_000_000_000 }, maxAnswerTokens: 800 });
const good = (playbook: string | null) => JSON.stringify({ root_cause: 'from the labelled set', confidence: 0.9, playbook, justification: 'scripted' });
const BAD: Record<string, (label: string | null) => ScriptedReply> = {
  malformed: () => ({ content: '{"root_cause": "x", "confidence": 0.9, "playbook": ' }),
  'off-schema': (l) => ({ content: JSON.stringify({ root_cause: 'x', confidence: 'very', playbook: l }) }),
  'extra-field (a command)': (l) => ({ content: JSON.stringify({ root_cause: 'x', confidence: 0.9, playbook: l, justification: 'j', command: 'rm -rf /' }) }),
  'off-list': () => ({ content: good('wipe-everything') }),
  'shell in playbook': () => ({ content: good('redis-oom; rm -rf /') }),
  refusal: () => ({ content: '', refusal: 'I cannot help with that.' }),
  oversized: () => ({ content: JSON.stringify({ root_cause: 'x'.repeat(50_000), confidence: 0.9, playbook: null, justification: 'j' }) }),
  'not JSON': () => ({ content: 'The answer is to restart redis.' }),
};

async function main(): Promise<void> {
  let label: string | null = null;
  let mode: string = 'good';
  const primary = await ScriptedProvider.start(() => (mode === 'good' ? { content: good(label) } : mode === 'hang' ? { hang: true } : BAD[mode]!(label)));
  const fallback = await ScriptedProvider.start(() => ({ content: good(label) }));
  let failed = false;
  try {
    const rules = await evaluate(set, playbooks, null);
    console.log(`labelled set: ${set.incidents.length} incidents; rule-based baseline agrees with ${(rules.baselineAgreement * 100).toFixed(0)} % of the labels`);

    const single = new LlmDiagnoser(config([provider('primary', primary.baseUrl)]), log);
    const candidates = candidatesOf(playbooks, allow);
    const req = (inc: (typeof set.incidents)[number], round: number) => ({
      incidentKey: `${inc.id}:${round}`, signature: inc.subject, target: inc.target, events: [], metrics: {}, logs: inc.logs, runbook: [], candidates,
    });

    // the guard
    let bad = 0;
    let refused = 0;
    const byKind: string[] = [];
    for (const kind of Object.keys(BAD)) {
      mode = kind;
      let k = 0;
      for (const inc of set.incidents) {
        label = inc.expect;
        const r = await single.diagnose(req(inc, 0));
        bad++;
        if (!r.answer) {
          refused++;
          k++;
        }
      }
      byKind.push(`${kind} ${k}/${set.incidents.length}`);
    }
    const guardPct = (refused / bad) * 100;
    console.log(`guard: refused ${refused} of ${bad} bad answers (${guardPct.toFixed(1)} %; goal 100 %) — ${byKind.join(', ')}`);
    if (refused !== bad) failed = true;

    // overhead per call, beyond the provider's own handling time
    mode = 'good';
    const overhead: number[] = [];
    let accepted = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const inc of set.incidents) {
        label = inc.expect;
        const before = primary.requests.length;
        const r = await single.diagnose(req(inc, round));
        if (r.answer?.playbook === inc.expect) accepted++;
        const handled = primary.requests.slice(before).reduce((s, q) => s + (q.handledMs ?? 0), 0);
        overhead.push(r.latencyMs - handled);
      }
    }
    const p50 = percentile(overhead, 50)!;
    const p95 = percentile(overhead, 95)!;
    const max = Math.max(...overhead);
    console.log(`overhead per call (diagnose() latency − provider handling): p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${overhead.length} calls (goal ≤ ${OVERHEAD_GOAL_MS} ms); ${accepted}/${overhead.length} good answers accepted`);
    if (p95 > OVERHEAD_GOAL_MS) failed = true;

    // fallback with the primary hanging
    mode = 'hang';
    const chain = new LlmDiagnoser(config([provider('primary', primary.baseUrl, { timeoutMs: PRIMARY_TIMEOUT_MS }), provider('fallback', fallback.baseUrl)]), log);
    const times: number[] = [];
    let fromFallback = 0;
    for (const inc of set.incidents) {
      label = inc.expect;
      const r = await chain.diagnose(req(inc, 0));
      times.push(r.latencyMs);
      if (r.provider === 'fallback' && r.answer) fromFallback++;
    }
    const worst = Math.max(...times);
    console.log(
      `fallback with the primary hanging (timeout ${PRIMARY_TIMEOUT_MS} ms): answered ${fromFallback}/${set.incidents.length}, p50 ${percentile(times, 50)!.toFixed(0)} ms, max ${worst.toFixed(0)} ms (goal ≤ ${PRIMARY_TIMEOUT_MS + FALLBACK_MARGIN_MS} ms)`,
    );
    if (worst > PRIMARY_TIMEOUT_MS + FALLBACK_MARGIN_MS || fromFallback !== set.incidents.length) failed = true;
    console.log('note: the scripted provider answers the label, so model agreement here is by construction; measure a real model with `homeostat diagnose --evaluate diagnosis/evaluation/incidents.yaml`.');
  } finally {
    await primary.close();
    await fallback.close();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
