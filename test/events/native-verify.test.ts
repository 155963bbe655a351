/**
 * Entry signatures checked by OpenSSL (src/events/orbit/orbitdb-patches.ts) give the
 * same answer as OrbitDB's own check, for good and bad signatures alike.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { verifyMessage } from '@orbitdb/core/src/key-store.js'
import { describe, expect, it } from 'vitest'
import { derS, nativeVerify } from '../../src/events/orbit/orbitdb-patches.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** the same signature with s replaced by n - s (valid ECDSA, refused by noble as high-S) */
function highS (der: Uint8Array): Uint8Array {
  const s = derS(der) as bigint
  const rLen = der[3] as number
  const r = der.subarray(4, 4 + rLen)
  let sHex = (N - s).toString(16)
  if (sHex.length % 2 === 1) sHex = '0' + sHex
  let sBytes = Buffer.from(sHex, 'hex')
  if (((sBytes[0] as number) & 0x80) !== 0) sBytes = Buffer.concat([Buffer.of(0), sBytes])
  const body = Buffer.concat([Buffer.of(0x02, r.length), r, Buffer.of(0x02, sBytes.length), sBytes])
  return Buffer.concat([Buffer.of(0x30, body.length), body])
}

describe('native entry signature check', () => {
  it('agrees with OrbitDB on valid, wrong and malformed signatures', async () => {
    const verify = nativeVerify(verifyMessage)
    const key = await generateKeyPair('secp256k1')
    const other = await generateKeyPair('secp256k1')
    const pub = hex(key.publicKey.raw)
    const cases: Array<[string, string, string, Uint8Array | string]> = []
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(50 + i * 37)
      const sig = await key.sign(data)
      cases.push(
        ['valid', hex(sig), pub, data],
        ['other data', hex(sig), pub, randomBytes(data.length)],
        ['other key', hex(sig), hex(other.publicKey.raw), data],
        ['high s', hex(highS(sig)), pub, data],
        ['flipped byte', hex(sig.map((b, j) => (j === sig.length - 3 ? b ^ 1 : b))), pub, data],
        ['truncated', hex(sig.subarray(0, sig.length - 1)), pub, data],
        ['not hex', hex(sig) + 'zz', pub, data],
        ['key not a point', hex(sig), '02' + 'ff'.repeat(32), data]
      )
    }
    const text = 'a string payload'
    cases.push(['string payload', hex(await key.sign(new TextEncoder().encode(text))), pub, text])
    for (const [what, sig, pk, data] of cases) {
      const expected = await verifyMessage(sig, pk, data)
      expect(await verify(sig, pk, data), what).toBe(expected)
      if (what === 'valid' || what === 'string payload') expect(expected, what).toBe(true)
    }
  })

  it('reads s only from a well-formed DER signature', () => {
    expect(derS(Uint8Array.of(0x30, 6, 0x02, 1, 5, 0x02, 1, 7))).toBe(7n)
    expect(derS(Uint8Array.of(0x30, 7, 0x02, 1, 5, 0x02, 1, 7))).toBeUndefined() // length mismatch
    expect(derS(new Uint8Array(64).fill(1))).toBeUndefined() // compact form
    expect(derS(Uint8Array.of(0x30, 6, 0x02, 1, 5, 0x03, 1, 7))).toBeUndefined()
  })
})
