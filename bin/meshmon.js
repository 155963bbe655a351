#!/usr/bin/env node
// Thin launcher: the program is built into dist/ by `npm ci` (the `prepare` script): dist/meshmon.mjs,
// one file with its libraries (less memory, see scripts/bundle.mjs), or with MESHMON_UNBUNDLED=1 the
// compiled modules as they are (dist/cli/main.js), e.g. to debug with their source maps.
import { existsSync } from 'node:fs'
const bundle = new URL('../dist/meshmon.mjs', import.meta.url)
const modules = new URL('../dist/cli/main.js', import.meta.url)
if (process.env.MESHMON_UNBUNDLED !== '1' && existsSync(bundle)) {
  await import(bundle.href)
} else if (existsSync(modules)) {
  const { main } = await import(modules.href)
  process.exitCode = await main(process.argv.slice(2))
} else {
  process.stderr.write('meshmon: dist/ is missing; run `npm run build` (npm ci does it for you)\n')
  process.exit(2)
}
