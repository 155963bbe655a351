// The image's HEALTHCHECK: GET /healthz on the node's API with node's own
// fetch (the slim image has no curl). Exit 0 healthy, 1 not.
// Where: MESHMON_HEALTHCHECK_URL, else the host:port of MESHMON_API_LISTEN,
// else the default 127.0.0.1:9521. A wildcard listen address is asked on loopback.
// If you move the API in the config file, set MESHMON_API_LISTEN to match.
const listen = process.env.MESHMON_API_LISTEN || '127.0.0.1:9521'
const colon = listen.lastIndexOf(':')
let host = listen.slice(0, colon)
if (host === '0.0.0.0' || host === '') host = '127.0.0.1'
if (host === '[::]' || host === '::') host = '[::1]'
const url = process.env.MESHMON_HEALTHCHECK_URL || `http://${host}:${listen.slice(colon + 1)}/healthz`

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) })
  if (!res.ok) console.error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`)
  process.exitCode = res.ok ? 0 : 1
} catch (err) {
  console.error(`${url}: ${err?.cause?.code ?? err?.name ?? err}`)
  process.exitCode = 1
}
