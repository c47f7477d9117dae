// Vectors copied from github.com/transparency-dev/merkle:
//   testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1): LeafInputs, NodeHashes,
//     RootHashes, EmptyRootHash (the RFC 6962 reference tree of 8 leaves);
//   proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472): inclusionProofs and
//     consistencyProofs, and the corruption probes of corruptInclusionProof / corruptConsistencyProof
//     and TestVerifyConsistency. In verify_test.go the inclusion vectors' `leaf` is 1-based; here
//     `index` is the 0-based leaf index (leaf - 1).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactRange, EMPTY_ROOT, consistencyProof, inclusionProof, leafHash, nodeHash, rootFromInclusionProof, rootHash, verifyConsistency, verifyInclusion } from './merkle.js';

const hd = (hex: string): Buffer => Buffer.from(hex, 'hex');

const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hd);

const NODE_HASHES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

// RootHashes(): index = tree size, starting from the empty tree.
const ROOT_HASHES = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hd);

const INCLUSION_PROOFS: { index: number; size: number; proof: string[] }[] = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  { index: 0, size: 1, proof: [] },
];

const CONSISTENCY_PROOFS: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const SOME_HASH = hd('abacaba000000000000000000000000000000000000000000060061e00123456');
const hashes = LEAF_INPUTS.map(leafHash);
const root = (size: number): Buffer => ROOT_HASHES[size] as Buffer;

/** RFC 6962 MTH straight from its recursive definition, as an independent reference. */
function referenceRoot(leafHashes: readonly Buffer[]): Buffer {
  if (leafHashes.length === 0) return createHash('sha256').digest();
  if (leafHashes.length === 1) return leafHashes[0] as Buffer;
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return nodeHash(referenceRoot(leafHashes.slice(0, k)), referenceRoot(leafHashes.slice(k)));
}

describe('RFC 6962 hashing (transparency-dev/merkle testonly vectors)', () => {
  it('hashes the empty tree to SHA-256 of nothing', () => {
    expect(EMPTY_ROOT.equals(root(0))).toBe(true);
    expect(rootHash([]).equals(root(0))).toBe(true);
  });

  it('hashes every leaf and every complete subtree as NodeHashes() says', () => {
    let level = hashes;
    for (const expected of NODE_HASHES) {
      expect(level.map((h) => h.toString('hex'))).toEqual(expected);
      const next: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i] as Buffer, level[i + 1] as Buffer));
      level = next;
    }
  });

  it('computes the root of every size 0..8 (rootHash and the incremental compact range)', () => {
    const range = new CompactRange();
    expect(range.root().equals(root(0))).toBe(true);
    for (let size = 1; size <= 8; size++) {
      expect(rootHash(hashes.slice(0, size)).toString('hex')).toBe(root(size).toString('hex'));
      range.append(hashes[size - 1] as Buffer);
      expect(range.size).toBe(size);
      expect(range.root().toString('hex')).toBe(root(size).toString('hex'));
    }
  });

  it('keeps one node per set bit of the size and restores from them', () => {
    const range = new CompactRange();
    for (let i = 0; i < 7; i++) range.append(hashes[i] as Buffer);
    expect(range.nodes().map((n) => Buffer.from(n).toString('hex'))).toEqual([NODE_HASHES[2]![0], NODE_HASHES[1]![2], NODE_HASHES[0]![6]]);
    const restored = CompactRange.restore(7, range.nodes());
    restored.append(hashes[7] as Buffer);
    expect(restored.root().equals(root(8))).toBe(true);
    expect(() => CompactRange.restore(7, range.nodes().slice(1))).toThrow();
  });

  it('matches the recursive definition for many sizes', () => {
    const many = Array.from({ length: 130 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const range = new CompactRange();
    for (let size = 1; size <= many.length; size++) {
      range.append(many[size - 1] as Buffer);
      expect(range.root().equals(referenceRoot(many.slice(0, size)))).toBe(true);
    }
  });

  it('rejects node children that are not 32 bytes', () => {
    expect(() => nodeHash(Buffer.alloc(31), Buffer.alloc(32))).toThrow();
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3, transparency-dev/merkle proof/verify_test.go)', () => {
  it.each(INCLUSION_PROOFS)('generates and verifies the vector for leaf $index in size $size', ({ index, size, proof }) => {
    const generated = inclusionProof(index, hashes, size);
    expect(generated.map((h) => h.toString('hex'))).toEqual(proof);
    expect(rootFromInclusionProof(index, size, hashes[index] as Buffer, proof.map(hd))?.equals(root(size))).toBe(true);
    expect(verifyInclusion(index, size, hashes[index] as Buffer, proof.map(hd), root(size))).toBe(true);
  });

  it.each(INCLUSION_PROOFS.filter((v) => v.size > 1))('refuses every corruption probe for leaf $index in size $size', ({ index, size, proof: hex }) => {
    const proof = hex.map(hd);
    const leaf = hashes[index] as Buffer;
    const r = root(size);
    const probes: [number, number, Buffer, Buffer, Buffer[]][] = [
      [index - 1, size, r, leaf, proof],
      [index + 1, size, r, leaf, proof],
      [index ^ 2, size, r, leaf, proof],
      [index, size * 2, r, leaf, proof],
      [index, Math.floor(size / 2), r, leaf, proof],
      [index, size, r, Buffer.from('WrongLeaf'), proof],
      [index, size, EMPTY_ROOT, leaf, proof],
      [index, size, SOME_HASH, leaf, proof],
      [index, size, r, leaf, [...proof, Buffer.alloc(0)]],
      [index, size, r, leaf, [...proof, r]],
      [index, size, r, leaf, [Buffer.alloc(0), ...proof]],
      [index, size, r, leaf, [r, ...proof]],
      [index, size, r, leaf, proof.slice(0, -1)],
    ];
    for (let i = 0; i < proof.length; i++) {
      const flipped = proof.map((p) => Buffer.from(p));
      (flipped[i] as Buffer)[0]! ^= 8;
      probes.push([index, size, r, leaf, flipped]);
    }
    if (proof.length > 1) probes.push([index, size, r, leaf, [proof[0] as Buffer, SOME_HASH, ...proof.slice(1)]]);
    for (const [i, s, rt, lf, pf] of probes) expect(verifyInclusion(i, s, lf, pf, rt)).toBe(false);
  });

  it('refuses impossible index/size pairs and a one-leaf tree with the wrong hash', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(verifyInclusion(index, size, SOME_HASH, [], EMPTY_ROOT)).toBe(false);
    }
    const h = leafHash(Buffer.from('data'));
    expect(verifyInclusion(0, 1, h, [], h)).toBe(true);
    expect(verifyInclusion(0, 1, Buffer.alloc(0), [], h)).toBe(false);
    expect(verifyInclusion(0, 1, h, [], Buffer.alloc(0))).toBe(false);
  });

  it('round-trips every leaf of every tree up to 70 leaves', () => {
    const many = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from([i])));
    for (let size = 1; size <= many.length; size++) {
      const r = referenceRoot(many.slice(0, size));
      for (let index = 0; index < size; index++) {
        expect(verifyInclusion(index, size, many[index] as Buffer, inclusionProof(index, many, size), r)).toBe(true);
      }
    }
  });
});

describe('consistency proofs (RFC 9162 §2.1.4, transparency-dev/merkle proof/verify_test.go)', () => {
  it.each(CONSISTENCY_PROOFS)('generates and verifies the vector $size1 -> $size2', ({ size1, size2, proof }) => {
    expect(consistencyProof(size1, size2, hashes).map((h) => h.toString('hex'))).toEqual(proof);
    expect(verifyConsistency(size1, size2, proof.map(hd), root(size1), root(size2))).toBe(true);
  });

  it.each(CONSISTENCY_PROOFS.filter((v) => v.proof.length > 0))('refuses every corruption probe for $size1 -> $size2', ({ size1, size2, proof: hex }) => {
    const proof = hex.map(hd);
    const r1 = root(size1);
    const r2 = root(size2);
    const wrong = Buffer.from('WrongRoot');
    const probes: [number, number, Buffer, Buffer, Buffer[]][] = [
      [size1 - 1, size2, r1, r2, proof],
      [size1 + 1, size2, r1, r2, proof],
      [size1 ^ 2, size2, r1, r2, proof],
      [size1, size2 * 2, r1, r2, proof],
      [size1, Math.floor(size2 / 2), r1, r2, proof],
      [size1, size2, wrong, r2, proof],
      [size1, size2, r1, wrong, proof],
      [size1, size2, r2, r1, proof],
      [size1, size2, r1, r2, []],
      [size1, size2, r1, r2, [...proof, Buffer.alloc(0)]],
      [size1, size2, r1, r2, [...proof, r1]],
      [size1, size2, r1, r2, [...proof, r2]],
      [size1, size2, r1, r2, [Buffer.alloc(0), ...proof]],
      [size1, size2, r1, r2, [r1, ...proof]],
      [size1, size2, r1, r2, [r2, ...proof]],
      [size1, size2, r1, r2, [proof[0] as Buffer, ...proof]],
      [size1, size2, r1, r2, proof.slice(0, -1)],
    ];
    for (let i = 0; i < proof.length; i++) {
      const flipped = proof.map((p) => Buffer.from(p));
      (flipped[i] as Buffer)[0]! ^= 16;
      probes.push([size1, size2, r1, r2, flipped]);
    }
    for (const [s1, s2, a, b, pf] of probes) expect(verifyConsistency(s1, s2, pf, a, b)).toBe(false);
  });

  it('follows the edge cases of TestVerifyConsistency', () => {
    const root1 = Buffer.from("don't care 1");
    const root2 = Buffer.from("don't care 2");
    const cases: [number, number, Buffer, Buffer, Buffer[], boolean][] = [
      [0, 0, root1, root2, [], false],
      [1, 1, root1, root2, [], false],
      [0, 0, root1, root1, [], true],
      [0, 1, root1, root2, [], true],
      [1, 1, root2, root2, [], true],
      [1, 0, root1, root2, [], false],
      [2, 1, root1, root2, [], false],
      [1, 2, root1, root2, [], false],
      [0, 0, EMPTY_ROOT, root2, [], false],
      [1, 1, EMPTY_ROOT, root2, [], false],
      [0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
      [0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
      [1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], false],
    ];
    for (const [s1, s2, a, b, pf, want] of cases) expect(verifyConsistency(s1, s2, pf, a, b)).toBe(want);
  });

  it('round-trips every pair of sizes up to 40 leaves', () => {
    const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from([i, i])));
    const roots = Array.from({ length: 41 }, (_, size) => referenceRoot(many.slice(0, size)));
    for (let size2 = 1; size2 <= 40; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = consistencyProof(size1, size2, many);
        expect(verifyConsistency(size1, size2, proof, roots[size1] as Buffer, roots[size2] as Buffer)).toBe(true);
        if (size1 < size2) expect(verifyConsistency(size1, size2, proof, roots[size2] as Buffer, roots[size1] as Buffer)).toBe(false);
      }
    }
  });
});
