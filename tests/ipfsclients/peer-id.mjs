// The peer ID @libp2p/peer-id derives from a private key (libp2p protobuf, hex in argv[2]).
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const key = privateKeyFromProtobuf(Uint8Array.from(Buffer.from(process.argv[2], 'hex')))
const id = peerIdFromPrivateKey(key)
console.log(JSON.stringify({ peerId: id.toString(), cid: id.toCID().toString() }))
