/**
 * @module
 * Checks `update.json.asc`, an armoured detached OpenPGP signature as `gpg --armor
 * --detach-sign` makes it, over the exact bytes of `update.json`. Accepted: at least one
 * binary-document signature that verifies against a trusted key which is, now, neither
 * expired nor revoked and allowed to sign. A failing signature by a trusted key refuses the
 * package; signatures by keys the host does not know are ignored, so a package co-signed
 * with an old and a new key installs on hosts trusting either. Every refusal is a bare
 * INVALID_PATCH; the reason stays in `cause` for the log.
 */
import * as openpgp from 'openpgp';
import { invalidPatch } from '../errors.js';
import { fingerprintOf, type PublicKey } from './keyring.js';

export interface SignatureCheck {
  /** The trusted (primary) key's fingerprint, as gpg prints it. */
  fingerprint: string;
  /** The key or subkey that made the signature. */
  signingKeyFingerprint: string;
  created: Date;
}

async function readArmoured(armoured: string): Promise<openpgp.Signature> {
  if (!/^\s*-----BEGIN PGP SIGNATURE-----/.test(armoured)) throw invalidPatch('update.json.asc is not an armoured OpenPGP signature');
  try {
    return await openpgp.readSignature({ armoredSignature: armoured });
  } catch (e) {
    throw invalidPatch(`update.json.asc is unreadable: ${(e as Error).message}`);
  }
}

/** Verifies a detached armoured signature over `data`; refuses with INVALID_PATCH. */
export async function verifyDetachedSignature(
  data: Uint8Array, armoured: string, trusted: readonly PublicKey[], now: Date = new Date(),
): Promise<SignatureCheck> {
  const signature = await readArmoured(armoured);
  const packets = [...signature.packets] as openpgp.SignaturePacket[];
  if (packets.length === 0) throw invalidPatch('update.json.asc holds no signature');
  for (const p of packets) {
    // A text-mode signature is over line-ending-normalised text, not over the exact bytes.
    if (p.signatureType !== openpgp.enums.signature.binary) throw invalidPatch('update.json.asc is not a binary-document signature');
  }
  if (trusted.length === 0) throw invalidPatch('no trusted keys are configured');
  let result: openpgp.VerifyMessageResult<Uint8Array>;
  try {
    const message = await openpgp.createMessage({ binary: data });
    result = await openpgp.verify({ message, signature, verificationKeys: [...trusted], date: now, format: 'binary' });
  } catch (e) {
    throw invalidPatch(`signature check failed: ${(e as Error).message}`);
  }
  let good: SignatureCheck | undefined;
  for (const s of result.signatures) {
    const key = trusted.find((k) => k.getKeys(s.keyID).length > 0);
    if (!key) {
      s.verified.catch(() => undefined); // an unknown signer's result is not wanted, nor its rejection
      continue;
    }
    const who = fingerprintOf(key);
    try {
      await s.verified;
    } catch (e) {
      throw invalidPatch(`signature by trusted key ${who} does not verify: ${(e as Error).message}`);
    }
    let signer: openpgp.PublicKey | openpgp.Subkey;
    try {
      // openpgp judges the key as it was when signing; a key revoked or expired since is refused too.
      signer = await key.getSigningKey(s.keyID, now);
    } catch (e) {
      throw invalidPatch(`key ${who} is not valid for signing now (expired or revoked?): ${(e as Error).message}`);
    }
    const packet = (await s.signature).packets[0] as openpgp.SignaturePacket | undefined;
    good ??= { fingerprint: who, signingKeyFingerprint: fingerprintOf(signer), created: packet?.created ?? now };
  }
  if (!good) {
    const ids = result.signatures.map((s) => s.keyID.toHex().toUpperCase()).join(', ');
    throw invalidPatch(`not signed by a trusted key (signed by ${ids || 'nobody'})`);
  }
  return good;
}
