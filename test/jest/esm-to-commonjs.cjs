// Jest transformer for the ESM-only packages in node_modules (http-proxy-middleware 4 and its ESM
// dependencies, issue [11]). Node 22.15+/24 load them with require() natively, but jest's own module
// loader does not support require() of ES modules, so the tests get them rewritten as CommonJS by
// TypeScript's transpiler (import/export only: no type checking, no down-levelling).
/* eslint-disable @typescript-eslint/no-require-imports, no-undef */
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

// Jest's cache key must change with this file and the TypeScript version, not only with the source.
const SELF = createHash('sha256').update(readFileSync(__filename)).update(ts.version).digest('hex');

module.exports = {
  getCacheKey(sourceText, sourcePath) {
    return createHash('sha256').update(SELF).update(sourcePath).update(sourceText).digest('hex');
  },
  process(sourceText, sourcePath) {
    const out = ts.transpileModule(sourceText, {
      // A .mjs name would make TypeScript keep ES module syntax.
      fileName: sourcePath.replace(/\.mjs$/, '.js'),
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, esModuleInterop: true, sourceMap: false },
    });
    return { code: out.outputText };
  },
};
