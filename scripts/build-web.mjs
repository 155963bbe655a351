#!/usr/bin/env node
// `npm run build` (after tsc): bundle the web page (web/) into dist/web with esbuild.
// Asset names carry a content hash (the node serves them with a one-year cache);
// index.html names them. Prints each file's size and fails past the budget in
// web/budget.json (JS + CSS, gzipped), which test/web/bundle.test.ts checks too.
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist', 'web')
const assets = join(out, 'assets')
await rm(out, { recursive: true, force: true })
await mkdir(assets, { recursive: true })

const result = await build({
  absWorkingDir: root,
  entryPoints: ['web/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  // browsers of the last few years; nothing is polyfilled
  target: ['chrome111', 'firefox113', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning'
})

const icon = await readFile(join(root, 'web', 'icon.svg'))
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`
await writeFile(join(assets, iconName), icon)

const files = Object.keys(result.metafile.outputs).map(f => join(root, f))
const js = files.filter(f => f.endsWith('.js')).map(f => basename(f))
const css = files.filter(f => f.endsWith('.css')).map(f => basename(f))
// relative URLs: the page also works behind a reverse proxy that mounts the node under a path
const tags = [
  `<link rel="icon" href="assets/${iconName}" type="image/svg+xml">`,
  ...css.map(f => `<link rel="stylesheet" href="assets/${f}">`),
  ...js.map(f => `<script type="module" src="assets/${f}"></script>`)
].join('\n')
const template = await readFile(join(root, 'web', 'index.html'), 'utf8')
await writeFile(join(out, 'index.html'), template.replace('<!--assets-->', tags))

const budget = JSON.parse(await readFile(join(root, 'web', 'budget.json'), 'utf8')).maxGzipBytes
let total = 0
for (const f of files) {
  const bytes = await readFile(f)
  const gz = gzipSync(bytes, { level: 9 }).byteLength
  total += gz
  console.log(`web: ${basename(f).padEnd(28)} ${String(bytes.byteLength).padStart(7)} B, ${String(gz).padStart(6)} B gzipped`)
}
console.log(`web: JS + CSS ${total} B gzipped, budget ${budget} B (${Math.round(total / budget * 100)}%)`)
if (total > budget) {
  console.error(`web: the page's JS + CSS is ${total} B gzipped, over its budget of ${budget} B (web/budget.json)`)
  process.exit(1)
}
