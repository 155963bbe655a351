/** Peers breaking the event protocols: every refusal counted, the log told once a minute per peer and protocol (injected clock). */
import { describe, expect, it } from 'vitest'
import { isTooLarge, ProtocolComplaints } from '../../src/events/complaints.js'
import { capturingLogger } from './helpers.js'

describe('protocol complaints', () => {
  it('counts every refusal by protocol and reason, and logs once a minute per peer and protocol, saying how many more came', () => {
    const { log, lines } = capturingLogger()
    let now = 0
    const c = new ProtocolComplaints(log, () => now)
    for (let i = 0; i < 500; i++) c.complain('peerA', 'sync', 'malformed', 'request is not JSON', 'event index sync request not answered: the peer broke the protocol')
    c.complain('peerA', 'blocks', 'too_large', 'message length too long', 'block request not answered: the peer broke the protocol')
    c.complain('peerB', 'sync', 'malformed', 'request is not JSON', 'event index sync request not answered: the peer broke the protocol')
    expect(c.counts).toEqual({ 'sync malformed': 501, 'blocks too_large': 1 })
    expect(lines.map(l => [l.peer, l.protocol, l.reason])).toEqual([['peerA', 'sync', 'malformed'], ['peerA', 'blocks', 'too_large'], ['peerB', 'sync', 'malformed']])
    expect(lines[0]).toMatchObject({ level: 40, err: 'request is not JSON' })
    now = 60_000
    c.complain('peerA', 'sync', 'malformed', 'request version 2 is not 1', 'event index sync request not answered: the peer broke the protocol')
    expect(lines).toHaveLength(4)
    expect(lines[3]).toMatchObject({ peer: 'peerA', moreSinceLastLine: 499, err: 'request version 2 is not 1' })
  })

  it('tells a frame over its bound from other read errors', () => {
    expect(isTooLarge(Object.assign(new Error('message length too long'), { name: 'InvalidDataLengthError' }))).toBe(true)
    expect(isTooLarge(Object.assign(new Error('message length length too long'), { name: 'InvalidDataLengthLengthError' }))).toBe(true)
    expect(isTooLarge(new Error('stream reset'))).toBe(false)
  })
})
