/** Terminal escape codes made visible: ESC and other control characters (but newline and tab) as ␛ / U+2400 pictures. */
export function visibleText(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => (c === '\x1b' ? '␛' : String.fromCharCode(0x2400 + (c.charCodeAt(0) & 0x1f))));
}

/** Output of a command, always as text (Preact escapes it; nothing in it is interpreted as HTML or ANSI). */
export function TextOutput(p: { label: string; text?: string }) {
  if (!p.text) return null;
  return (
    <div class="output">
      <div class="output-label">{p.label}</div>
      <pre class={`output-${p.label}`}>{visibleText(p.text)}</pre>
    </div>
  );
}

/** Parameters as indented JSON text. */
export function Params(p: { value: unknown }) {
  if (p.value === undefined) return null;
  return <pre class="params">{visibleText(JSON.stringify(p.value, null, 2))}</pre>;
}

export function ago(iso: string | undefined, now: number): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function ms(v: unknown): string {
  return typeof v === 'number' ? (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : '—';
}
