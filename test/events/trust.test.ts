/**
 * What makes an event acceptable (src/events/trust/): its writer's signature,
 * its bounds, its date; the same rules at write and at receipt. Peer-facing
 * cases with real peers are in rogue.test.ts.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PeerQuota } from '../../src/events/sync/quota.js'
import { EVENT_BOUNDS, fitEvent } from '../../src/events/trust/bounds.js'
import { checkEvent } from '../../src/events/trust/check.js'
import { signedBytes, signEvent, verifyEvent } from '../../src/events/trust/signature.js'
import type { MeshEvent } from '../../src/events/types.js'
import { Nodes, sample } from './helpers.js'

let key: PrivateKey
let source: string
const now = Date.now()
const ctx = { now, notBefore: now - 86_400_000 }
const event = (over: Partial<MeshEvent> = {}): MeshEvent => ({
  id: 'a1b2c3', ts: new Date(now - 1000).toISOString(), type: 'peer.down', severity: 'critical', source,
  subject: { peer: '12D3KooWSubject', name: 'gpu-01' }, message: 'gpu-01 is down', labels: { role: 'gpu' }, ...over
})

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  source = peerIdFromPrivateKey(key).toString()
})

describe('event signatures', () => {
  it('a signed event verifies against the peer id it names as source, by libp2p\'s own check too', async () => {
    const signed = await signEvent(event(), key)
    expect(verifyEvent(signed)).toBe(true)
    const publicKey = peerIdFromString(source).publicKey!
    expect(await publicKey.verify(signedBytes(event()), Buffer.from(signed.sig, 'base64'))).toBe(true)
  })

  it('a changed field, or another source, no longer verifies', async () => {
    const signed = await signEvent(event(), key)
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    for (const changed of [{ message: 'fine' }, { ts: new Date(now).toISOString() }, { labels: { role: 'cpu' } }, { subject: { peer: '12D3KooWSubject', name: 'gpu-02' } }, { source: other }]) {
      expect(verifyEvent({ ...signed, ...changed })).toBe(false)
    }
    expect(verifyEvent({ ...signed, sig: 'not base64 of 64 bytes' })).toBe(false)
    expect(verifyEvent({ ...signed, source: 'not a peer id' })).toBe(false)
  })
})

describe('checkEvent', () => {
  it('takes a signed event within the bounds, as it came', async () => {
    const signed = await signEvent(event(), key)
    expect(checkEvent(JSON.parse(JSON.stringify(signed)), ctx)).toEqual({ ok: true, event: signed })
  })

  it.each([
    ['invalid', 'not an object', async () => [1, 2]],
    ['invalid', 'an unknown type', async () => ({ ...(await signEvent(event(), key)), type: 'peer.exploded' })],
    ['invalid', 'a time not in canonical UTC', async () => await signEvent(event({ ts: '2030-01-01 00:00' }), key)],
    ['oversized', 'a message over 2000 characters', async () => await signEvent(event({ message: 'x'.repeat(2001) }), key)],
    ['oversized', 'too many labels', async () => await signEvent(event({ labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v'])) }), key)],
    ['oversized', 'over 8 KiB in all', async () => await signEvent(event({ message: '\u0001'.repeat(1500), labels: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, 'v'.repeat(400)])) }), key)],
    ['unsigned', 'no signature', async () => event()],
    ['forged', 'another source than the signer', async () => ({ ...(await signEvent(event(), key)), source: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString() })],
    ['future', 'dated in the year 9999', async () => await signEvent(event({ ts: '9999-12-31T23:59:59.000Z' }), key)],
    ['expired', 'older than the retention', async () => await signEvent(event({ ts: new Date(now - 2 * 86_400_000).toISOString() }), key)]
  ])('refuses as %s: %s', async (reason, _what, make) => {
    const r = checkEvent(JSON.parse(JSON.stringify(await make())), ctx)
    expect(r).toMatchObject({ ok: false, reason })
  })

  it('allows a writer\'s clock a few minutes ahead, not more', async () => {
    const ahead = async (ms: number): Promise<unknown> => JSON.parse(JSON.stringify(await signEvent(event({ ts: new Date(now + ms).toISOString() }), key)))
    expect(checkEvent(await ahead(EVENT_BOUNDS.futureMs - 1000), ctx).ok).toBe(true)
    expect(checkEvent(await ahead(EVENT_BOUNDS.futureMs + 1000), ctx)).toMatchObject({ ok: false, reason: 'future' })
  })
})

describe('at write', () => {
  it('an event is cut to the bounds: message clipped, oversized labels dropped, the whole under 8 KiB', () => {
    const fitted = fitEvent(event({ message: 'é'.repeat(5000), labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'v'])) }))
    expect(fitted.message.length).toBe(EVENT_BOUNDS.messageChars)
    expect(fitted.message.endsWith('…')).toBe(true)
    expect(fitted.labels).toEqual({})
    const heavy = fitEvent(event({ message: '\u0001'.repeat(2000), labels: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, 'v'.repeat(400)])) }))
    expect(Buffer.byteLength(JSON.stringify(heavy)) + 100).toBeLessThanOrEqual(EVENT_BOUNDS.eventBytes)
  })

  describe('through the event log', () => {
    let nodes: Nodes
    afterEach(async () => { await nodes.stopAll() })

    it('refuses what cannot be cut to fit or is misdated, with a named error; signs the rest as this node', async () => {
      nodes = new Nodes()
      const a = await nodes.start('a', { record: false })
      const refused = async (input: Parameters<typeof a.events.append>[0]): Promise<{ name: string, reason: string }> => await a.events.append(input).then(() => ({ name: 'none', reason: 'none' }), (err: any) => ({ name: err.name, reason: err.reason }))
      expect(await refused({ ...sample(1), subject: { peer: 'p', name: 'n', check: 'c'.repeat(65) } })).toEqual({ name: 'EventRefusedError', reason: 'oversized' })
      expect(await refused({ ...sample(2), ts: '9999-01-01T00:00:00.000Z' })).toEqual({ name: 'EventRefusedError', reason: 'future' })
      expect(await refused({ ...sample(3), ts: 'yesterday' })).toEqual({ name: 'EventRefusedError', reason: 'invalid' })
      const e = await a.events.append({ ...sample(4), message: 'm'.repeat(3000) })
      expect(e.source).toBe(a.peerId)
      const [held] = await a.events.query({ limit: 1 })
      expect(held).toMatchObject({ id: e.id, source: a.peerId })
      expect(held!.message.length).toBe(EVENT_BOUNDS.messageChars)
      // the API's shape: no signature field
      expect(Object.keys(held!).sort()).toEqual(['id', 'labels', 'message', 'severity', 'source', 'subject', 'ts', 'type'])
    })
  })
})

describe('per-peer quota', () => {
  it('counts events per peer and window; over it, or after a bad event, the peer is cut off until its window ends', () => {
    let t = 0
    const q = new PeerQuota({ events: 10, windowMs: 1000, now: () => t })
    expect(q.take('a', 6)).toBe(true)
    expect(q.take('b', 10)).toBe(true)
    expect(q.take('a', 5)).toBe(false)
    expect(q.isCutOff('a')).toBe(true)
    expect(q.take('a', 1)).toBe(false)
    expect(q.isCutOff('b')).toBe(false)
    q.cutOff('b')
    expect(q.take('b', 0)).toBe(false)
    t = 999
    expect(q.isCutOff('a')).toBe(true)
    t = 1000
    expect([q.isCutOff('a'), q.isCutOff('b'), q.take('a', 10), q.take('a', 1)]).toEqual([false, false, true, false])
  })
})
