import { formatHostile, runHostile } from './hostile-suite.ts';

// `pnpm test:hostile`: the hostile-input suite, with its tables.
const report = await runHostile();
console.log(formatHostile(report));
process.exit(report.ok ? 0 : 1);
