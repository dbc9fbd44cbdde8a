import { useState } from 'preact/hooks';
import type { EventView } from './dashboard-state';
import { postDecision } from './operator-token';

interface Exhausted {
  playbook: string;
  target: string;
  until: string;
}

/** Flap budgets exhausted (seen live, not reset since), each with a Reset button (operator token). */
export function BudgetBox(p: { events: EventView[] }) {
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const open = new Map<string, Exhausted>();
  for (const e of p.events) {
    const d = e.data as Partial<Exhausted>;
    if (!d.playbook || !d.target) continue;
    const key = `${d.playbook}/${d.target}`;
    if (e.subject === 'events.playbook.budget_exhausted') open.set(key, { playbook: d.playbook, target: d.target, until: d.until ?? '' });
    else if (e.subject === 'events.playbook.budget_reset') open.delete(key);
  }
  if (!open.size) return null;
  const reset = async (b: Exhausted) => {
    const r = await postDecision('/dashboard/api/budget-reset', { playbook: b.playbook, target: b.target, by: localStorage.getItem('homeostat-operator-name') ?? undefined });
    setAnswers({ ...answers, [`${b.playbook}/${b.target}`]: r.status === 401 ? `401: ${r.message} (open the URL homeostat creds dashboard prints)` : r.message });
  };
  return (
    <div class="approval" data-testid="budgets">
      <b>Flap budgets exhausted</b> — these playbooks stopped running on these targets:
      {[...open.entries()].map(([key, b]) => (
        <div key={key}>
          <code>{b.playbook}</code> on {b.target} until {b.until} <button onClick={() => void reset(b)}>Reset budget</button> {answers[key] && <span class="answer">{answers[key]}</span>}
        </div>
      ))}
    </div>
  );
}
