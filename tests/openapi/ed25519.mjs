// Ed25519 for the API tests, with Node's own crypto (the Python tests have no Ed25519):
//   node ed25519.mjs keygen                -> {"public_hex": "...", "private_hex": "..."} (raw 32-byte key, seed)
//   node ed25519.mjs sign PRIVATE_HEX MSG  -> hex signature of the UTF-8 message
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';

const hex = (b64) => Buffer.from(b64, 'base64url').toString('hex');

const [cmd, priv, message] = process.argv.slice(2);
if (cmd === 'keygen') {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  process.stdout.write(JSON.stringify({ public_hex: hex(jwk.x), private_hex: hex(jwk.d) }));
} else if (cmd === 'sign' && priv && message !== undefined) {
  // A raw 32-byte seed as PKCS#8 DER: the fixed Ed25519 prefix, then the seed.
  const seedOnly = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(priv, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  process.stdout.write(sign(null, Buffer.from(message, 'utf8'), seedOnly).toString('hex'));
} else {
  console.error('usage: node ed25519.mjs keygen | sign PRIVATE_HEX MESSAGE');
  process.exit(2);
}
