/**
 * Library patches: the few places meshmon reaches into a library's internals
 * for a measured gain (docs/decisions/ says what each one saved). Each is
 * fenced, so an upgrade cannot turn one off, or break it, without a sound:
 *  - written against one exact version of its library, pinned in package.json;
 *  - installed only when that version is the one installed, and its own
 *    start-up check finds the internals it relies on;
 *  - reported: a log line at start-up (a warning when it did not apply) and
 *    `meshmon_patch_active{patch}` 1/0; a later sign that it stopped applying
 *    is logged once and turns the gauge to 0;
 *  - switched off by `patchesOff` (MESHMON_PATCHES_OFF=yamux-window,coalesce)
 *    to measure what it is worth (`npm run bench -- --only patches`).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'

export const PATCHES = {
  /** yamux window updates ride with the next frame (src/mesh/yamux-window.ts) */
  'yamux-window': { library: '@chainsafe/libp2p-yamux', version: '7.0.4' },
  /** a connection's chunks of one event-loop turn leave in one write (src/mesh/coalesce.ts) */
  coalesce: { library: '@libp2p/tcp', version: '10.1.19' },
  /** a received head is stored from hand, not fetched again (src/events/orbit/orbitdb-patches.ts) */
  'orbitdb-heads': { library: '@orbitdb/core', version: '3.0.2' },
  /** entry signatures checked by OpenSSL (src/events/orbit/orbitdb-patches.ts) */
  'orbitdb-verify': { library: '@orbitdb/core', version: '3.0.2' },
  /** a stream's protocol already on a peer's record is not written again (src/mesh/known-protocols.ts) */
  'peer-store-writes': { library: '@libp2p/peer-store', version: '11.2.7' },
  /** a peer heard of again is dialled afresh, not through a connect begun while it was away (src/mesh/stale-dials.ts) */
  'stale-dials': { library: 'libp2p', version: '2.10.0' }
} as const

export type PatchName = keyof typeof PATCHES
export const PATCH_NAMES = Object.keys(PATCHES) as [PatchName, ...PatchName[]]

export interface PatchStatus {
  patch: PatchName
  active: boolean
  /** why not, when not */
  reason?: string
}

/** The version of `library` that a bare import from this file loads (Node's lookup: node_modules up the tree). */
export function installedVersion (library: string): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', library, 'package.json'), 'utf8')) as { version?: string }).version
    } catch {}
    if (dirname(dir) === dir) return undefined
  }
}

export class Patches {
  readonly #off: ReadonlySet<string>
  readonly #log?: Logger
  readonly #status = new Map<PatchName, PatchStatus>()
  /** log each change at once (after report()); before, they wait, so a start that fails prints only its error */
  #reporting = false

  readonly #versionOf: (library: string) => string | undefined

  constructor (off: readonly string[] = [], log?: Logger, versionOf = installedVersion) {
    this.#off = new Set(off)
    this.#log = log
    this.#versionOf = versionOf
  }

  /** Should the patch be installed: not switched off, and its library at the version it was written for. */
  wanted (patch: PatchName): boolean {
    const { library, version } = PATCHES[patch]
    if (this.#off.has(patch)) return this.#set(patch, false, 'switched off (patchesOff)')
    const installed = this.#versionOf(library)
    if (installed !== version) return this.#set(patch, false, `written for ${library} ${version}, found ${installed ?? 'none'}: re-check its internals and measure it again before moving the pin`)
    return true
  }

  /** The patch's own start-up check: did the internals it relies on look as expected? */
  checked (patch: PatchName, ok: boolean, problem = 'the internals it relies on are not there'): void {
    if (this.#status.get(patch)?.active !== true || !ok) this.#set(patch, ok, ok ? undefined : problem)
  }

  /** A sign, after start-up, that the patch no longer applies (logged once). */
  lost (patch: PatchName, problem: string): void {
    if (this.#status.get(patch)?.active !== false) this.#set(patch, false, problem)
  }

  status (): PatchStatus[] {
    return PATCH_NAMES.flatMap(p => this.#status.get(p) ?? [])
  }

  /** Log every patch's state (once the node runs), and each change from now on. */
  report (): void {
    this.#reporting = true
    for (const s of this.status()) this.#logState(s.patch, s.active, s.reason)
  }

  #set (patch: PatchName, active: boolean, reason?: string): boolean {
    this.#status.set(patch, reason === undefined ? { patch, active } : { patch, active, reason })
    if (this.#reporting) this.#logState(patch, active, reason)
    return active
  }

  #logState (patch: PatchName, active: boolean, reason?: string): void {
    const { library, version } = PATCHES[patch]
    if (active) this.#log?.info({ patch, library, version }, 'library patch active')
    else if (this.#off.has(patch)) this.#log?.info({ patch, library }, 'library patch switched off')
    else this.#log?.warn({ patch, library, reason }, 'library patch not applied: it was written for other internals')
  }
}
