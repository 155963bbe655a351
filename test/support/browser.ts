/**
 * Debian's headless Chromium, driven by playwright-core, for the web page's
 * tests, `npm run screenshot` and the benchmark. Never a downloaded browser:
 * `npm test` installs the `chromium` package (scripts/test.mjs).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Browser {
  context: BrowserContext
  close: () => Promise<void>
}

/** A Chromium with a fresh profile (user data dir), removed on close. */
export async function launchChromium (viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-chromium-'))
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport })
  return {
    context,
    close: async () => {
      await context.close().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export interface PageWatch {
  /** every URL the page requested */
  requests: string[]
  /** console errors and uncaught exceptions, with the URL they came from */
  errors: Array<{ text: string, url: string }>
}

export function watchPage (page: Page): PageWatch {
  const watch: PageWatch = { requests: [], errors: [] }
  page.on('request', r => { watch.requests.push(r.url()) })
  page.on('console', m => { if (m.type() === 'error') watch.errors.push({ text: m.text(), url: m.location().url }) })
  page.on('pageerror', err => { watch.errors.push({ text: `uncaught: ${err.message}`, url: page.url() }) })
  return watch
}
