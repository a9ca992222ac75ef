// Fetches CIDs with @helia/verified-fetch on a Helia node that knows only one delegated router
// (argv: router URL, then CIDs): providers come from the router, blocks from their trustless
// gateways, every block verified by Helia. HTTP goes through undici with HTTP/2 allowed (as Kubo
// insists on for HTTPS providers); NODE_EXTRA_CA_CERTS names a test CA. Prints per CID the HTTP
// status verified-fetch answered, the sha256 and length of the body, or the error.
import { createHash } from 'node:crypto'
import { createVerifiedFetchWithHelia } from '@helia/verified-fetch'
import { withHTTP } from '@helia/http'
import { createHeliaLight } from 'helia'
import { Agent, fetch as undiciFetch, setGlobalDispatcher } from 'undici'

setGlobalDispatcher(new Agent({ allowH2: true }))
globalThis.fetch = undiciFetch
const [router, ...cids] = process.argv.slice(2)
const helia = await withHTTP(createHeliaLight(), {
  delegatedRouters: [router], recursiveGateways: [], allowLocal: true, allowInsecure: true
}).start()
const verifiedFetch = await createVerifiedFetchWithHelia(helia)
const results = []
for (const cid of cids) {
  try {
    const response = await verifiedFetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(15000) })
    const body = Buffer.from(await response.arrayBuffer())
    results.push({ cid, status: response.status, length: body.length,
      sha256: createHash('sha256').update(body).digest('hex') })
  } catch (error) {
    results.push({ cid, error: String(error?.name ?? error) + ': ' + String(error?.message ?? '') })
  }
}
await verifiedFetch.stop()
await helia.stop()
console.log(JSON.stringify(results))
