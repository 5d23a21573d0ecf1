import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/**
 * Every ```ts block of the README's "Use `SessionModule` in your Nest app" and of the package's
 * own README compiles, as an outside app's file would: `import ... from 'nest-server-session'`
 * resolves through node_modules and the package's `exports` to its built declarations
 * (`npm run test:e2e` builds them first), not to the sources the rest of the tests use. The
 * blocks are modules of one program, as files of one app are, so the block that types
 * SessionData serves the others.
 */
const READMES = [
  { path: 'README.md', section: '## Use `SessionModule` in your Nest app' },
  { path: 'packages/nest-server-session/README.md' },
];
const BUILT_TYPES = resolve('packages/nest-server-session/dist/index.d.ts');

/** Options of a Nest 12 app (the ESM starter's), without this repository's path mapping. */
const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  strict: true,
  esModuleInterop: true,
  isolatedModules: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: true,
  types: ['node'],
  noEmit: true,
};

interface Block {
  readme: string;
  /** README line of the block's first line of code. */
  line: number;
  code: string;
  /** The file it is compiled as, beside the README so that node_modules resolves. */
  file: string;
}

/** The ```ts blocks of `readme`: all, or those between `section` and the next `## ` heading. */
function tsBlocksOf(readme: string, section?: string): Block[] {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const start = section === undefined ? -1 : lines.indexOf(section);
  if (section !== undefined && start === -1)
    throw new Error(`${readme} has no "${section}"`);
  const blocks: Block[] = [];
  let open: { line: number; code: string[] } | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    if (section !== undefined && lines[i].startsWith('## ')) break;
    if (!open && lines[i].trim() === '```ts') open = { line: i + 2, code: [] };
    else if (open && lines[i].trim() === '```') {
      // Beside the README, so that node_modules resolves as it does for an app there.
      const file = join(
        resolve(dirname(readme)),
        `readme-example-${open.line}.ts`,
      );
      blocks.push({
        readme,
        line: open.line,
        code: open.code.join('\n'),
        file,
      });
      open = undefined;
    } else open?.code.push(lines[i]);
  }
  if (blocks.length === 0) throw new Error(`${readme}: no \`\`\`ts block`);
  return blocks;
}

const blocks = READMES.flatMap(({ path, section }) =>
  tsBlocksOf(path, section),
);
let program: ts.Program;

beforeAll(() => {
  const host = ts.createCompilerHost(OPTIONS);
  const byFile = new Map(blocks.map((block) => [block.file, block.code]));
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => byFile.has(file) || fileExists.call(host, file);
  host.readFile = (file) => byFile.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const code = byFile.get(file);
    return code === undefined
      ? getSourceFile.call(host, file, language, ...rest)
      : ts.createSourceFile(file, code, language);
  };
  program = ts.createProgram([...byFile.keys()], OPTIONS, host);
}, 60_000);

describe('README examples', () => {
  it.each(READMES)('in $path import the built package', ({ path }) => {
    const block = blocks.find((b) => b.readme === path)!;
    const resolved = ts.resolveModuleName(
      'nest-server-session',
      block.file,
      OPTIONS,
      ts.sys,
    ).resolvedModule?.resolvedFileName;
    expect(resolved && ts.sys.realpath!(resolved)).toBe(BUILT_TYPES);
  });

  it.each(blocks)('$readme line $line compiles', (block) => {
    const source = program.getSourceFile(block.file)!;
    const errors = ts.getPreEmitDiagnostics(program, source).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file?.fileName !== block.file || d.start === undefined)
        return `${d.file?.fileName ?? ''} TS${d.code}: ${text}`;
      const at = d.file.getLineAndCharacterOfPosition(d.start);
      return `${block.readme}:${block.line + at.line}:${at.character + 1} TS${d.code}: ${text}`;
    });
    expect(errors).toEqual([]);
  });
});
