import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markdownTable } from './runner.ts';

// Summarises a V8 .cpuprofile (`node --cpu-prof`): self time by area (a Glasswork package, an npm
// package, Node's internals, GC) and the hottest functions, and inclusive time of the functions whose name
// matches --focus. `node src/profile-summary.ts <file.cpuprofile> [--top 20] [--focus regexp]`

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script lives: `@glasswork/core`, an npm package, `node:internal`, or the bench itself. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const glass = /\/packages\/([a-z0-9-]+)\/src\//.exec(url);
  if (glass) return `@glasswork/${glass[1]}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 14).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (internals)';
  if (url.includes('/bench/')) return 'bench (the scenario itself)';
  return url;
}

export function summarise(profile: Profile, options: { top?: number; focus?: RegExp } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // The first delta runs from the profile's start (which includes starting the profiler) to the first
  // sample: not time spent in that sample's function.
  profile.samples.forEach((id, i) => {
    if (i > 0) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
  const idleUs = idle.reduce((a, [, us]) => a + us, 0);
  const busy = total - idleUs;

  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${area}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1)}%`;
  const ms = (us: number) => (us / 1000).toFixed(0);
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const lines = [
    `busy ${ms(busy)} ms of ${ms(total)} ms sampled`,
    '',
    markdownTable([
      ['area (self time)', 'ms', 'share'],
      ...sorted(areas).map(([k, v]) => [k, ms(v), pct(v)]),
    ]),
    '',
    markdownTable([
      ['function (self time)', 'ms', 'share'],
      ...sorted(functions)
        .slice(0, options.top ?? 20)
        .map(([k, v]) => [k, ms(v), pct(v)]),
    ]),
  ];
  if (options.focus) {
    // Inclusive time: a sample counts for a function if the function is anywhere on its stack.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const inclusive = new Map<string, number>();
    for (const [id, us] of self) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
        if (!options.focus.test(functionName)) continue;
        const key = `${functionName} ${areaOf(url, functionName)}:${lineNumber + 1}`;
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + us);
      }
    }
    lines.push(
      '',
      markdownTable([
        ['function (inclusive time)', 'ms', 'share'],
        ...sorted(inclusive).map(([k, v]) => [k, ms(v), pct(v)]),
      ]),
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N] [--focus regexp]');
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const focus = flag('--focus');
  console.log(
    summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, {
      top: Number(flag('--top') ?? 20),
      ...(focus ? { focus: new RegExp(focus) } : {}),
    }),
  );
}
