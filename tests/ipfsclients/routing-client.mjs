// Asks a Delegated Routing V1 server for the providers of a CID (argv: router URL, CID, json|ndjson)
// with @helia/delegated-routing-v1-http-api-client; prints what the client parsed.
import { delegatedRoutingV1HttpApiClient } from '@helia/delegated-routing-v1-http-api-client'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromCID } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'

const [url, cid, mode] = process.argv.slice(2)
const seen = []
const realFetch = globalThis.fetch
globalThis.fetch = async (input, init = {}) => {
  const headers = new Headers(init.headers)
  if (mode === 'json') headers.set('Accept', 'application/json')   // the client's JSON path
  seen.push(headers.get('Accept'))
  const response = await realFetch(input, { ...init, headers })
  seen.push(response.headers.get('Content-Type'))
  return response
}
const client = delegatedRoutingV1HttpApiClient({ url, cacheTTL: 0 })({ logger: defaultLogger() })
await client.start()
const providers = []
for await (const record of client.getProviders(CID.parse(cid), { signal: AbortSignal.timeout(20000) })) {
  providers.push({ schema: record.Schema, id: peerIdFromCID(record.ID).toString(),
    addrs: record.Addrs.map(a => a.toString()), protocols: record.Protocols })
}
await client.stop()
console.log(JSON.stringify({ providers, exchanged: seen }))
