/**
 * The built page (dist/web, made by `npm run build`): within its size budget,
 * and its HTML and CSS name nothing outside the node (no CDN, no web font).
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../support/root.js'

const root = repoRoot()
const web = join(root, 'dist', 'web')

describe('the built web page', () => {
  it('exists: npm run build made it', () => {
    expect(existsSync(join(web, 'index.html')), 'dist/web/index.html is missing: run `npm run build`').toBe(true)
  })

  it('JS + CSS gzipped stay within web/budget.json', async () => {
    const { maxGzipBytes } = JSON.parse(await readFile(join(root, 'web', 'budget.json'), 'utf8')) as { maxGzipBytes: number }
    const files = (await readdir(join(web, 'assets'))).filter(f => /\.(js|css)$/.test(f))
    expect(files.some(f => f.endsWith('.js')) && files.some(f => f.endsWith('.css'))).toBe(true)
    let total = 0
    for (const f of files) total += gzipSync(await readFile(join(web, 'assets', f)), { level: 9 }).byteLength
    expect(total, `the page's JS + CSS is ${total} B gzipped, over its budget`).toBeLessThanOrEqual(maxGzipBytes)
  })

  it('index.html loads only hashed files of its own, by relative URL', async () => {
    const html = await readFile(join(web, 'index.html'), 'utf8')
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1] as string)
    expect(refs.length).toBe(3)
    for (const ref of refs) {
      expect(ref).toMatch(/^assets\/[\w-]+-[A-Za-z0-9]{8}\.(js|css|svg)$/)
      expect(existsSync(join(web, ref))).toBe(true)
    }
    const css = (await readdir(join(web, 'assets'))).filter(f => f.endsWith('.css'))
    for (const f of css) expect(await readFile(join(web, 'assets', f), 'utf8')).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//)
  })
})
