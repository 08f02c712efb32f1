/**
 * xoshiro128** (Blackman and Vigna, public domain reference at https://prng.di.unimi.it/):
 * 128-bit state, period 2^128 − 1, 32-bit outputs. Kept in-repo (twenty lines) because its
 * sequences end up in test expectations: they must not change when a dependency is bumped.
 * The vectors in `random.test.ts` pin it against the C reference.
 */
export function xoshiro128ss(state: readonly [number, number, number, number]): () => number {
  let [s0, s1, s2, s3] = state.map((word) => word >>> 0) as [number, number, number, number];
  // An all-zero state is the one fixed point of the generator.
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * splitmix32: expands one 32-bit seed into a well-mixed sequence, the recommended way to fill
 * a xoshiro state from a small seed.
 */
export function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of `text`: a stable 32-bit hash of a seed string. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
