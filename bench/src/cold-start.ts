import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Metafile, Plugin } from 'esbuild';
import { build } from 'esbuild';
import { areaOf } from './profile-summary.ts';
import type { Sample, Scenario, SuiteOptions } from './runner.ts';
import { median, runSuite } from './runner.ts';

// Scenario 4: cold start. Each entry of cold-start/ is bundled as a Lambda function would be (esbuild,
// minified ESM for node22), once with the AWS SDK inside and once with `@aws-sdk/*` left to the runtime;
// then its bytes, gzip bytes, and the median time of `import()` in fresh processes.

const run = promisify(execFile);
const here = import.meta.dirname;
const OUT = join(here, '..', '.cold-start');
const PROCESSES = 10;

/** @glasswork/* from the packages' sources, as the tests and the other suites use them. */
const glassworkSources: Plugin = {
  name: 'glasswork-sources',
  setup(b) {
    b.onResolve({ filter: /^@glasswork\/[a-z0-9-]+$/ }, (args) => ({
      path: join(here, '..', '..', 'packages', args.path.slice('@glasswork/'.length), 'src', 'index.ts'),
    }));
  },
};

interface Bundle {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Output bytes by package, largest first. */
  readonly composition: Record<string, number>;
  /** The modules it leaves to the runtime (`@aws-sdk/*` when external). */
  readonly externals: string[];
}

async function bundle(entry: string, sdk: 'bundled' | 'external'): Promise<Bundle> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${entry}-${sdk}.mjs`);
  const result = await build({
    entryPoints: [join(here, 'cold-start', `${entry}.ts`)],
    outfile: file,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // ESM entry points where packages have them (tree-shaking), as Lambda bundling guides set it.
    mainFields: ['module', 'main'],
    external: sdk === 'external' ? ['@aws-sdk/*'] : [],
    // CommonJS dependencies (pino, the X-Ray SDK) call require() for Node's modules.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    plugins: [glassworkSources],
    metafile: true,
    logLevel: 'error',
  });
  const contents = readFileSync(file);
  return {
    file,
    bytes: statSync(file).size,
    gzipBytes: gzipSync(contents).length,
    composition: composition(result.metafile),
    externals: [
      ...new Set(
        Object.values(result.metafile.outputs).flatMap((o) =>
          o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path),
        ),
      ),
    ],
  };
}

function composition(metafile: Metafile): Record<string, number> {
  const byArea = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const area = areaOf(input.startsWith('/') ? input : `/${input}`, '');
      byArea.set(area, (byArea.get(area) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...byArea].sort((a, b) => b[1] - a[1]));
}

// Set as Lambda sets them, so module-level code takes the path it takes there.
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/receipts',
  IDEMPOTENCY_TABLE: 'idempotency',
};
// Imports the modules after the file first (unmeasured), then times the import of the file.
const TIMER =
  'for(const m of process.argv.slice(2))await import(m);' +
  'const t=performance.now();await import(process.argv[1]);console.log(performance.now()-t)';

/**
 * Median ms of `import()` of the file, each in a fresh process (after one unmeasured, for the file cache);
 * `preload` is imported before the clock starts.
 */
async function importMs(file: string, preload: readonly string[] = []): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= PROCESSES; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', TIMER, file, ...preload], {
      cwd: OUT,
      env: { PATH: process.env.PATH, ...LAMBDA_ENV },
    });
    if (i > 0) times.push(Number(stdout.trim().split('\n').at(-1)));
  }
  return median(times);
}

export interface ColdStartDetails {
  [bundle: string]: Record<string, number>;
}

export async function coldStartSuite(options: SuiteOptions) {
  const reference = new Map<string, Sample>();
  const details: ColdStartDetails = {};
  const contender = (
    name: string,
    entry: string,
    sdk: 'bundled' | 'external',
    role: 'reference' | 'versus' | 'none',
  ): Scenario => ({
    name: `${name}, SDK ${sdk}`,
    async measure() {
      const b = await bundle(entry, sdk);
      details[`${entry}-${sdk}`] = { ...b.composition, externals: b.externals.length };
      const sample: Sample = {
        bytes: b.bytes,
        'gzip bytes': b.gzipBytes,
        'import ms': await importMs(b.file),
      };
      // With the SDK external, the import of the SDK itself (the runtime's copy) dominates; this is the
      // bundle's own part: the SDK modules it imports are loaded before the clock starts.
      if (sdk === 'external') sample['import ms, SDK preloaded'] = await importMs(b.file, b.externals);
      if (role === 'reference') reference.set(sdk, sample);
      const versus = reference.get(sdk);
      if (role === 'versus' && versus) {
        sample['bytes ÷ Powertools'] = b.bytes / (versus.bytes as number);
        sample['import ÷ Powertools'] = (sample['import ms'] as number) / (versus['import ms'] as number);
        if (sdk === 'external') {
          sample['own import ÷ Powertools'] =
            (sample['import ms, SDK preloaded'] as number) / (versus['import ms, SDK preloaded'] as number);
        }
      }
      return [sample];
    },
  });
  const result = await runSuite(
    'cold-start',
    [
      contender('Powertools worker', 'powertools-worker', 'bundled', 'reference'),
      contender('Powertools worker', 'powertools-worker', 'external', 'reference'),
      contender('Glasswork worker', 'glasswork-worker', 'bundled', 'versus'),
      contender('Glasswork worker', 'glasswork-worker', 'external', 'versus'),
      contender('Glasswork producer', 'glasswork-producer', 'bundled', 'none'),
      contender('Glasswork producer', 'glasswork-producer', 'external', 'none'),
      contender('bare SDK producer', 'sdk-producer', 'bundled', 'none'),
      contender('bare SDK producer', 'sdk-producer', 'external', 'none'),
    ],
    {
      ...options,
      warmup: 0,
      runs: 1,
      details,
      note:
        `esbuild (minified ESM, node22); import ms: median of ${PROCESSES} fresh processes, each timing ` +
        '`await import(bundle)` alone; worker = core + lambda + sqs + pino + otel (API only) + ' +
        'idempotency-dynamodb, Powertools = batch + logger + tracer + idempotency (DynamoDB).',
    },
  );
  return result;
}
