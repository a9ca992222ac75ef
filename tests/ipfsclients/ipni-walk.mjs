// Walks an IPNI HTTP publisher's chain from its head as an indexer does (argv: base URL, the
// expected provider peer ID, optionally the provider's private key protobuf in hex) and checks,
// with third-party code only, every block against its CID, the canonical DAG-JSON bytes
// (@ipld/dag-json re-encodes them), the SignedHead signature (@libp2p/crypto), every
// advertisement's signed envelope (@libp2p/peer-record, domain "indexer") and its payload as
// @web3-storage/ipni computes it; with the key, @web3-storage/ipni also builds and signs each
// advertisement itself, and the bytes must be ours. Prints the advertisements, newest first.
import * as dagJson from '@ipld/dag-json'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { Advertisement, Provider } from '@web3-storage/ipni'
import { AD_SIG_CODEC, hashSignableBytes } from '@web3-storage/ipni/advertisement.js'
import { sha256 } from 'multiformats/hashes/sha2'
import { peerIdFromKeys } from './node_modules/@web3-storage/ipni/node_modules/@libp2p/peer-id/dist/src/index.js'

const [base, expectedPeer, privateHex] = process.argv.slice(2)
const equal = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
const hex = bytes => Buffer.from(bytes).toString('hex')
function check (ok, message) { if (!ok) throw new Error(message) }

async function canonical (bytes) {
  const value = dagJson.decode(bytes)
  check(equal(dagJson.encode(value), bytes), 'a block is not canonical DAG-JSON')
  return value
}

async function block (cid) {
  const response = await fetch(`${base}/ipni/v1/ad/${cid}`, { signal: AbortSignal.timeout(20000) })
  check(response.status === 200, `${cid}: HTTP ${response.status}`)
  const bytes = new Uint8Array(await response.arrayBuffer())
  check(cid.code === dagJson.code, `${cid} is not a dag-json CID`)
  check(equal((await sha256.digest(bytes)).bytes, cid.multihash.bytes), `${cid}: body does not hash to its CID`)
  return { bytes, value: await canonical(bytes) }
}

async function verifyHead () {
  const response = await fetch(`${base}/ipni/v1/ad/head`)
  if (response.status === 204) return null
  const head = await canonical(new Uint8Array(await response.arrayBuffer()))
  const key = publicKeyFromProtobuf(head.pubkey)
  const signed = head.topic == null ? head.head.bytes : Buffer.concat([head.head.bytes, Buffer.from(head.topic)])
  check(await key.verify(signed, head.sig), 'the SignedHead signature does not verify')
  check(peerIdFromPublicKey(key).toString() === expectedPeer, 'the head is signed by another peer')
  return head.head
}

async function verifyAd (ad, bytes, signer) {
  const envelope = await RecordEnvelope.openAndCertify(ad.Signature, 'indexer')
  check(equal(envelope.payloadType, AD_SIG_CODEC), 'wrong envelope payload type')
  check(peerIdFromPublicKey(envelope.publicKey).toString() === ad.Provider, 'envelope key is not the provider')
  check(ad.Provider === expectedPeer, 'advertisement of another provider')
  const provider = new Provider({ protocol: 'http', addresses: ad.Addresses, peerId: signer ?? { toString: () => ad.Provider } })
  check(equal(provider.encodeMetadata(), ad.Metadata), 'metadata is not transport-ipfs-gateway-http')
  const rebuilt = new Advertisement({ previous: ad.PreviousID ?? null, providers: provider,
    entries: ad.Entries, context: ad.ContextID, remove: ad.IsRm })
  check(equal(await hashSignableBytes(rebuilt.signableBytes()), envelope.payload), 'signed payload differs')
  if (signer == null) return false
  check(equal(dagJson.encode(await rebuilt.encodeAndSign()), bytes), '@web3-storage/ipni builds other bytes')
  return true
}

async function entries (ad) {
  const listed = []
  let next = ad.IsRm ? null : ad.Entries
  while (next != null) {
    const chunk = (await block(next)).value
    listed.push(...chunk.Entries.map(hex))
    next = chunk.Next ?? null
  }
  return listed
}

let signer = null
if (privateHex) {
  const priv = Buffer.from(privateHex, 'hex')
  signer = await peerIdFromKeys(Buffer.concat([Buffer.from('08011220', 'hex'), priv.subarray(36)]), priv)
}
const ads = []
let rebuilt = 0
for (let cid = await verifyHead(); cid != null;) {
  const { bytes, value } = await block(cid)
  if (await verifyAd(value, bytes, signer)) rebuilt++
  ads.push({ cid: cid.toString(), isRm: value.IsRm, context: hex(value.ContextID),
    addresses: value.Addresses, entries: await entries(value) })
  cid = value.PreviousID ?? null
}
console.log(JSON.stringify({ ads, rebuilt }))
