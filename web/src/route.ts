/** The page's address lives in the hash: bookmarkable, and the back button walks it. */
import { STATE_FILTERS, type StateFilter } from './store.js'

export type Route =
  | { page: 'list', query: string, state: StateFilter }
  | { page: 'node', peerId: string }

export function parseHash (hash: string): Route {
  const path = hash.replace(/^#/, '')
  const node = /^\/node\/([^/?]+)$/.exec(path)
  if (node !== null) {
    try { return { page: 'node', peerId: decodeURIComponent(node[1] as string) } } catch {}
  }
  const params = new URLSearchParams(path.includes('?') ? path.slice(path.indexOf('?') + 1) : '')
  const state = params.get('state') as StateFilter | null
  return { page: 'list', query: params.get('q') ?? '', state: state !== null && STATE_FILTERS.includes(state) ? state : 'all' }
}

export const nodeHash = (peerId: string): string => `#/node/${encodeURIComponent(peerId)}`

export function listHash (query: string, state: StateFilter): string {
  const params = new URLSearchParams()
  if (query !== '') params.set('q', query)
  if (state !== 'all') params.set('state', state)
  const text = params.toString()
  return text === '' ? '#/' : `#/?${text}`
}
