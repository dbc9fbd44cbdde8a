const KEY = 'homeostat-dashboard-token';

/** The operator token: from the URL's fragment (`#token=…`, printed by `homeostat creds dashboard`), kept for this tab only. */
export function takeTokenFromUrl(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
  history.replaceState(null, '', location.pathname + location.search);
}

export function operatorToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setOperatorToken(t: string): void {
  if (t.trim()) sessionStorage.setItem(KEY, t.trim());
  else sessionStorage.removeItem(KEY);
}

/** POSTs an operator decision; the server's `{ accepted, message }` (401 when the token is wrong). */
export async function postDecision(path: string, body: unknown): Promise<{ status: number; accepted: boolean; message: string }> {
  const token = operatorToken();
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as { accepted?: boolean; message?: string; error?: string };
    return { status: res.status, accepted: Boolean(json.accepted) && res.ok, message: json.message ?? json.error ?? `the server answered ${res.status}` };
  } catch (e) {
    return { status: 0, accepted: false, message: `not sent: ${(e as Error).message}` };
  }
}
