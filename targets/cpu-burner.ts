/**
 * A busy loop, started by the demo worker for `chaos.cpu_spike` (compiled to
 * dist/targets/cpu-burner.js). Usage: `node cpu-burner.js SECONDS`. It burns one core until
 * SECONDS pass or its parent is gone, so it never outlives the target that started it.
 * The loop yields every 50 ms so a signal or the parent check is seen at once.
 */
const seconds = Number(process.argv[2] ?? 60);
const end = Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 60) * 1000;
const parent = process.ppid;
let sink = 0;

function burn(): void {
  const slice = Date.now() + 50;
  while (Date.now() < slice) sink = (sink + Math.sqrt(sink + 1)) % 1e9;
  if (Date.now() >= end || process.ppid !== parent) process.exit(0);
  setImmediate(burn);
}
burn();
