/**
 * The Host header check (Hono middleware), against DNS rebinding: a web page
 * on evil.example whose name is made to resolve to 127.0.0.1 gets the
 * browser to send this API requests as if they were same-origin, with
 * `Host: evil.example`. Only names that are this node's pass: the listen
 * host, the loopback names, the machine's hostname for a wildcard bind, and
 * `api.allowedHosts`. An IP literal always passes: a page cannot rebind a
 * name it does not use (and a node reached through NAT or a container port
 * mapping is asked by an address it does not know as its own).
 * `/healthz` is not checked: it tells nothing, and health checkers send any Host.
 */
import { isIP } from 'node:net'
import { hostname as osHostname } from 'node:os'
import type { MiddlewareHandler } from 'hono'
import { parseHostPort } from './server.js'

export interface HostCheckInit {
  /** api.listen, e.g. 127.0.0.1:9521 or 0.0.0.0:9521 */
  listen: string
  /** api.allowedHosts: exact names, `*.example.lan` for subdomains, `*` for any */
  allowedHosts: string[]
  /** this machine's name @default os.hostname() */
  hostname?: () => string
}

const LOOPBACK_NAMES = ['localhost', 'localhost.localdomain']

/** The host part of a Host header, lower-case, without port, brackets or a trailing dot. */
export function hostOf (header: string): string {
  const h = header.trim().toLowerCase()
  const bare = h.startsWith('[') ? h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']')) : h.replace(/:\d*$/, '')
  return bare.replace(/\.$/, '')
}

export const isWildcard = (host: string): boolean => host === '' || host === '0.0.0.0' || host === '::'
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host)

export function hostCheck (init: HostCheckInit): MiddlewareHandler {
  const bind = parseHostPort(init.listen).host.toLowerCase()
  const exact = new Set([bind, ...LOOPBACK_NAMES])
  const suffixes: string[] = []
  let any = false
  for (const entry of init.allowedHosts.map(hostOf)) {
    if (entry === '*') any = true
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1))
    else exact.add(entry)
  }
  const machineName = init.hostname ?? osHostname
  const allowed = (host: string): boolean =>
    any || isIP(host) !== 0 || exact.has(host) || suffixes.some(s => host.endsWith(s)) ||
    (isWildcard(bind) && host === machineName().toLowerCase())

  return async (ctx, next) => {
    if (ctx.req.path === '/healthz') { await next(); return }
    // no Host header (HTTP/1.0): no browser sent it, so nothing was rebound
    const header = ctx.req.header('host')
    const host = header === undefined ? undefined : hostOf(header)
    if (host !== undefined && !allowed(host)) {
      return ctx.json({ error: `this node does not answer to the name "${host}" (Host header); if that name is meant to reach it, add it to api.allowedHosts in the config` }, 403)
    }
    await next()
  }
}
