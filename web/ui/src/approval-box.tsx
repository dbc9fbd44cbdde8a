import { useState } from 'preact/hooks';
import type { RunView } from './dashboard-state';
import { operatorToken, postDecision, setOperatorToken } from './operator-token';
import { Params } from './text-output';

/** The box of a step waiting for an operator: what would run, its risk, time left, Approve / Reject with a reason. */
export function ApprovalBox(p: { run: RunView; now: number }) {
  const a = p.run.awaiting!;
  const [reason, setReason] = useState('');
  const [name, setName] = useState(localStorage.getItem('homeostat-operator-name') ?? '');
  const [token, setToken] = useState(operatorToken() ?? '');
  const [askToken, setAskToken] = useState(!operatorToken());
  const [answer, setAnswer] = useState<{ accepted: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const left = Math.max(0, Math.round((Date.parse(a.expiresAt) - p.now) / 1000));
  const decide = async (decision: 'approve' | 'reject') => {
    if (decision === 'reject' && !reason.trim()) return setAnswer({ accepted: false, message: 'a rejection needs a reason' });
    setBusy(true);
    setOperatorToken(token);
    localStorage.setItem('homeostat-operator-name', name);
    const r = await postDecision(`/dashboard/api/approvals/${encodeURIComponent(p.run.runId)}`, { decision, reason: reason.trim() || undefined, by: name.trim() || undefined });
    setBusy(false);
    if (r.status === 401) setAskToken(true);
    setAnswer(r.status === 401 ? { accepted: false, message: `401: ${r.message}` } : r);
  };
  return (
    <div class="approval" data-testid="approval-box">
      <div class="approval-head">
        Waiting for approval: step <b>{a.step}</b> — <code>{a.action}</code> <span class={`risk risk-${a.risk}`}>risk {a.risk}</span>{' '}
        <span class="time-left">{left} s left</span>
      </div>
      <Params value={a.params} />
      <div class="approval-form">
        <input placeholder="your name (recorded)" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <input placeholder="reason" data-testid="approval-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        {askToken && <input type="password" placeholder="operator token (homeostat creds dashboard)" data-testid="approval-token" value={token} onInput={(e) => setToken(e.currentTarget.value)} />}
        <button disabled={busy} data-testid="approve" onClick={() => void decide('approve')}>Approve</button>
        <button disabled={busy} data-testid="reject" class="reject" onClick={() => void decide('reject')}>Reject</button>
      </div>
      {answer && <div class={answer.accepted ? 'answer ok' : 'answer refused'} data-testid="approval-answer">{answer.message}</div>}
    </div>
  );
}
