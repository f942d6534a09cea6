/**
 * Runs the benchmarks' TypeScript without ts-node: `node -r ./bench/register.js file.ts`.
 *
 * ts-node's entry point loads Node's `repl`, which loads `domain`; once `domain` is loaded every
 * EventEmitter is created and emits through its domain-aware path, a cost production never pays
 * (seen as `EventEmitter.init node:domain` in the proxy's CPU profile, issue [11]). This hook only
 * transpiles each `.ts` file (TypeScript's `transpileModule`, the project's compiler options), as
 * ts-node's transpile-only mode did.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const configFile = path.join(__dirname, '..', 'tsconfig.json');
const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, path.dirname(configFile));
const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false, noEmit: false };

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
