#!/usr/bin/env node
// Thin launcher: the program is compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from 'node:fs'
const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('meshmon: dist/ is missing; run `npm run build` (npm ci does it for you)\n')
  process.exit(2)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
