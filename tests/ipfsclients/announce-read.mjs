// Reads an IPNI HTTP announce body (base64 in argv[2]) as an indexer does: the CID and the binary
// multiaddrs, with multiformats and @multiformats/multiaddr.
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'

const message = JSON.parse(Buffer.from(process.argv[2], 'base64').toString('utf8'))
const addrs = message.Addrs.map(a => multiaddr(Uint8Array.from(Buffer.from(a, 'base64'))).toString())
console.log(JSON.stringify({ cid: CID.parse(message.Cid['/']).toString(), addrs }))
