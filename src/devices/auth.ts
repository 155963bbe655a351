/**
 * Ingestion auth: with `ingest.token` set, a device gives it as
 * `Authorization: Bearer TOKEN` or `?token=TOKEN` (for clients that can't set
 * headers). Without one, ingestion is open, as the protocol it replaces was.
 * Both sides are hashed first, so the comparison takes the same time whatever
 * the given token's length or content.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

export class IngestAuth {
  readonly #digest: Buffer | null

  constructor (token: string | null) { this.#digest = token === null ? null : sha256(token) }

  get open (): boolean { return this.#digest === null }

  /** `authorization` header and `token` query parameter as the request gave them. */
  allows (authorization: string | undefined | null, queryToken: string | null): boolean {
    if (this.#digest === null) return true
    const bearer = authorization != null && /^bearer\s+/i.test(authorization) ? authorization.replace(/^bearer\s+/i, '').trim() : null
    const given = bearer ?? queryToken
    if (given === null) return false
    return timingSafeEqual(sha256(given), this.#digest)
  }
}

export const UNAUTHORIZED = 'this peer takes devices with a token only: send it as "Authorization: Bearer TOKEN" or ?token=TOKEN (ingest.token of its config)'
